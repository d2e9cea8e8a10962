import { expect, test } from "@playwright/test";
import {
  hydrated,
  mailedCode,
  pollStatus,
  registerInPage,
  signInInPage,
  startLogin,
  uniqueEmail,
  uniqueWhatsapp,
  whatsappCode,
} from "./helpers";

const password = "correct horse battery";

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("a forgotten password is reset with a code from the mail, then signs in", async ({ page, request }) => {
      const email = uniqueEmail("nadia");
      const res = await request.post("/api/v1/fypass/register", { data: { name: "Nadia", email, password } });
      expect(res.status()).toBe(200);

      const { url, reqToken } = await startLogin(request);
      await page.goto(url);
      if (js) await hydrated(page);
      await page.getByRole("link", { name: "Forgot your password?" }).click();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set a new password");
      if (js) await hydrated(page);
      await page.getByLabel("Email or WhatsApp number").fill(email);
      await page.getByRole("button", { name: "Send me a code" }).click();
      await expect(page.getByText("a code is on its way there")).toBeVisible();
      const code = await mailedCode(request, email, "recovery code");
      await page.getByLabel("Code").fill(code);
      await page.getByLabel("New password").fill("a brand new passphrase");
      await page.getByRole("button", { name: "Set the new password" }).click();
      await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
      expect((await pollStatus(request, reqToken)).status).toBe("LOGGED_IN");

      // The new password works from a browser that knows nothing of the old session.
      await page.context().clearCookies();
      const again = await startLogin(request);
      await page.goto(again.url);
      if (js) await hydrated(page);
      await signInInPage(page, email, "a brand new passphrase");
      await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
    });

    test("a WhatsApp code signs in instead of a password", async ({ page, request }) => {
      const whatsapp = uniqueWhatsapp();
      const res = await request.post("/api/v1/fypass/register", { data: { name: "Oki", whatsapp, password } });
      expect(res.status()).toBe(200);
      // Registering sent the number a code to confirm it (message 1); the sign-in's is message 2.
      await whatsappCode(request, whatsapp);
      const { url, reqToken } = await startLogin(request);
      await page.goto(url);
      if (js) await hydrated(page);
      await page.getByRole("link", { name: "Send me a code instead" }).click();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in with a code");
      if (js) await hydrated(page);
      await page.getByLabel("Email or WhatsApp number").fill(whatsapp);
      await page.getByRole("button", { name: "Send me a code" }).click();
      await expect(page.getByText("a code is on its way there")).toBeVisible();
      const code = await whatsappCode(request, whatsapp, 1);
      await page.getByLabel("Code").fill(code);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
      const polled = await pollStatus(request, reqToken);
      expect(polled.status).toBe("LOGGED_IN");
      expect(polled.user.whatsappVerifiedAt).toBeTruthy();
    });

    test("after registering, the person verifies their email address with the mailed code", async ({ page, request }) => {
      const email = uniqueEmail("putri");
      const { url, reqToken } = await startLogin(request, { mode: "register" });
      await page.goto(url);
      if (js) await hydrated(page);
      await registerInPage(page, { name: "Putri", email, password }, true);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm it is you");
      await expect(page.getByText(`We sent a code to ${email}`)).toBeVisible();
      if (js) await hydrated(page);
      const code = await mailedCode(request, email, "Confirm your email address");
      await page.getByLabel("Code").fill(code);
      await page.getByRole("button", { name: "Verify" }).click();
      if (js) {
        await expect(page.getByText(`Verified: ${email}`)).toBeVisible();
        await page.getByRole("link", { name: "Continue" }).click();
      }
      await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready");
      const polled = await pollStatus(request, reqToken);
      expect(polled.user.emailVerifiedAt).toBeTruthy();
    });
  });
}
