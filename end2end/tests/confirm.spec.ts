import { APIRequestContext, expect, test } from "@playwright/test";
import { clientKey, hydrated, signInInPage, uniqueEmail } from "./helpers";

// The browser comes from another network than the app that starts the request (the
// server trusts the test's proxy header), as when a stranger sends someone their app's
// sign-in link: the page names the app, the device and its code, and the person must
// confirm the code before anything else (RFC 8628 §5.4).
const elsewhere = "198.51.100.77";
const password = "correct horse battery";

async function startFromTheApp(request: APIRequestContext) {
  const res = await request.post("/api/v1/users/login", {
    // The app's own network, not the browser's.
    headers: { "x-client-key": clientKey, "x-forwarded-for": "192.0.2.10" },
    data: { deviceInfo: { deviceId: "tv-1", platform: "android", deviceName: "Living room TV" } },
  });
  expect(res.status()).toBe(201);
  return (await res.json()) as { reqToken: string; url: string; userCode: string };
}

async function someone(request: APIRequestContext) {
  const email = uniqueEmail("rina");
  const res = await request.post("/api/v1/fypass/register", { data: { name: "Rina", email, password } });
  expect(res.status()).toBe(200);
  return email;
}

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js, extraHTTPHeaders: { "x-forwarded-for": elsewhere } });

    test("a person elsewhere confirms the device's code before signing in", async ({ page, request }) => {
      const email = await someone(request);
      const { url, userCode, reqToken } = await startFromTheApp(request);
      expect(userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      await page.goto(url);
      if (js) await hydrated(page);
      await expect(page.getByText("wants you to sign in on Living room TV")).toBeVisible();
      await expect(page.locator(".user-code.big")).toHaveText(userCode);
      // Nothing to sign in with until the code is confirmed.
      await expect(page.getByLabel("Password")).toHaveCount(0);
      await page.getByRole("button", { name: "My device shows this code" }).click();
      await signInInPage(page, email, password);
      await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
      const res = await request.get(`/api/v1/users/login-status?reqToken=${reqToken}`, {
        headers: { "x-client-key": clientKey },
      });
      expect((await res.json()).status).toBe("LOGGED_IN");
    });
  });
}
