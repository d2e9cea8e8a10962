import { APIRequestContext, expect, test } from "@playwright/test";
import { clientKey, hydrated, pollStatus, signInInPage, uniqueEmail } from "./helpers";

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

// The attack of issue 23: someone starts a request on their own TV app, confirms its code
// in their own browser (their network), and sends the link to a person who is signed in to
// fypass in theirs. The confirmation belongs to the attacker's browser: the person's page
// asks them for the code instead of offering "Continue as", and the TV gets nothing.
for (const js of [true, false]) {
  test(`an attacker's confirmed request is not completed by the person's "Continue as" (${js ? "with" : "without"} JavaScript)`, async ({ browser, request }) => {
    const attacker = await browser.newContext({ javaScriptEnabled: js, extraHTTPHeaders: { "x-forwarded-for": "198.51.100.200" } });
    const person = await browser.newContext({ javaScriptEnabled: js, extraHTTPHeaders: { "x-forwarded-for": elsewhere } });
    try {
      // The person is signed in to fypass in their browser.
      const email = uniqueEmail("sari");
      const registered = await person.request.post("/api/v1/fypass/register", { data: { name: "Sari", email, password } });
      expect(registered.status()).toBe(200);

      // The attacker's TV starts a request; the attacker confirms its code in their browser.
      const { url, userCode, reqToken } = await startFromTheApp(request);
      const theirs = await attacker.newPage();
      await theirs.goto(url);
      if (js) await hydrated(theirs);
      await theirs.getByRole("button", { name: "My device shows this code" }).click();
      await expect(theirs.getByLabel("Password")).toBeVisible();

      // The person opens the link: asked for the code, no "Continue as".
      const page = await person.newPage();
      await page.goto(url);
      if (js) await hydrated(page);
      await expect(page.locator(".user-code.big")).toHaveText(userCode);
      await expect(page.getByRole("button", { name: "My device shows this code" })).toBeVisible();
      await expect(page.getByRole("button", { name: /Continue as/ })).toHaveCount(0);

      // Pressing "Continue as" all the same (the one-click form, as an older copy of the page
      // would post it) does not complete the request either.
      const pressed = await page.request.post(`/fypass?reqToken=${reqToken}`, {
        form: { intent: "continue" },
        headers: { "sec-fetch-site": "same-origin" },
        maxRedirects: 0,
      });
      expect(pressed.status()).toBe(400);
      expect(await pressed.text()).toContain("Confirm the code shown on the device first.");

      // The attacker's TV polls: still pending, no token.
      const polled = await pollStatus(request, reqToken);
      expect(polled.status).toBe("PENDING");
      expect(polled.accessToken).toBeUndefined();
    } finally {
      await attacker.close();
      await person.close();
    }
  });
}
