import { Browser, Page, expect, test } from "@playwright/test";
import { hydrated, mailedCode, pollStatus, registerInPage, signInInPage, startLogin, uniqueEmail } from "./helpers";

// One email address, one account (SPEC §10, §13): a code acts only on the account that has
// the address, a verification code only for the account that asked for it, and whoever
// registered someone else's address first has nothing left once its owner recovers it.

const password = "correct horse battery";

/** A browser of its own (a person's or an attacker's), with a virtual authenticator. */
async function person(browser: Browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

/** Recovers `email`'s account on the recovery page with the mailed code; ends signed in. */
async function recover(page: Page, url: string, email: string, newPassword: string) {
  await page.goto(url);
  await hydrated(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set a new password");
  await hydrated(page);
  await page.getByLabel("Email or WhatsApp number").fill(email);
  await page.getByRole("button", { name: "Send me a code" }).click();
  await expect(page.getByText("a code is on its way there")).toBeVisible();
  const code = await mailedCode(page.request, email, "recovery code");
  await page.getByLabel("Code").fill(code);
  await page.getByLabel("New password").fill(newPassword);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
}

test("the person's recovery code never signs in to the attacker's account", async ({ browser, request }) => {
  const email = uniqueEmail("rina");
  const rina = await person(browser);
  const attacker = await person(browser);

  // Rina registers for an app; her address is not verified yet.
  const first = await startLogin(request, { mode: "register" });
  await rina.page.goto(first.url);
  await hydrated(rina.page);
  await registerInPage(rina.page, { name: "Rina", email, password });
  const rinas = (await pollStatus(request, first.reqToken)).user.id;

  // The attacker registers her address after her: refused.
  const second = await startLogin(request, { mode: "register" });
  await attacker.page.goto(second.url);
  await hydrated(attacker.page);
  await registerInPage(attacker.page, { name: "Rina", email, password: "the attacker's password" });
  await expect(attacker.page.getByText("This email address is already registered.")).toBeVisible();
  expect((await pollStatus(request, second.reqToken)).status).toBe("PENDING");

  // Rina's recovery code signs her in to her own account.
  await rina.context.clearCookies();
  const third = await startLogin(request);
  await recover(rina.page, third.url, email, "rina's new passphrase");
  const polled = await pollStatus(request, third.reqToken);
  expect(polled.status).toBe("LOGGED_IN");
  expect(polled.user.id).toBe(rinas);
  await rina.context.close();
  await attacker.context.close();
});

test("the person's verification code never verifies their address for another account", async ({ browser, request }) => {
  const email = uniqueEmail("sari");
  const sari = await person(browser);
  const attacker = await person(browser);

  // Sari registers and stays on the verification step.
  const { url, reqToken } = await startLogin(request, { mode: "register" });
  await sari.page.goto(url);
  await hydrated(sari.page);
  await registerInPage(sari.page, { name: "Sari", email, password }, true);
  await expect(sari.page.getByRole("heading", { level: 1 })).toHaveText("Confirm it is you");

  // A signed-in attacker asks to change their own email address to hers: refused.
  expect((await attacker.page.request.post("/api/v1/fypass/register", {
    data: { name: "Mallory", email: uniqueEmail("mallory"), password },
  })).status()).toBe(200);
  await attacker.page.goto("/account");
  await hydrated(attacker.page);
  await attacker.page.getByLabel("Email or WhatsApp number").fill(email);
  await attacker.page.getByRole("button", { name: "Send a code" }).click();
  await expect(attacker.page.getByText("This email address is already registered.")).toBeVisible();

  // Sari types the code from her inbox: it verifies her address, on her account.
  await hydrated(sari.page);
  const code = await mailedCode(request, email, "Confirm your email address");
  // Typed in the attacker's session, it verifies nothing.
  const stolen = await attacker.page.request.post("/api/v1/fypass/verify", { data: { identifier: email, code } });
  expect(stolen.status()).toBe(400);
  expect((await stolen.json()).code).toBe("INVALID_CODE");
  await sari.page.getByLabel("Code").fill(code);
  await sari.page.getByRole("button", { name: "Verify" }).click();
  await expect(sari.page.getByText(`Verified: ${email}`)).toBeVisible();
  const polled = await pollStatus(request, reqToken);
  expect(polled.user.email).toBe(email);
  expect(polled.user.emailVerifiedAt).toBeTruthy();
  await attacker.page.goto("/account");
  await expect(attacker.page.getByText(email)).toHaveCount(0);
  await sari.context.close();
  await attacker.context.close();
});

test("after the owner's recovery of an address someone registered first, that someone's tokens, password and passkeys are dead", async ({ browser, request }) => {
  const email = uniqueEmail("wulan");
  const squatter = await person(browser);
  const wulan = await person(browser);

  // The squatter registers Wulan's address through an app (which gets their tokens)...
  const start = await startLogin(request, { mode: "register" });
  await squatter.page.goto(start.url);
  await hydrated(squatter.page);
  await registerInPage(squatter.page, { name: "Not Wulan", email, password });
  const polled = await pollStatus(request, start.reqToken);
  const { accessToken, refreshToken } = polled;
  expect(accessToken).toMatch(/^fyp_/);
  const clientKey = process.env.FYPASS_TEST_CLIENT_KEY ?? "";
  const me = (token: string) =>
    request.get("/api/v1/users/me", { headers: { "x-client-key": clientKey, authorization: `Bearer ${token}` } });
  expect((await me(accessToken)).status()).toBe(200);
  // ...and adds a passkey on the account page.
  await squatter.page.goto("/account");
  await hydrated(squatter.page);
  await squatter.page.getByLabel("Name this passkey").fill("Squatter's phone");
  await squatter.page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(squatter.page.locator(".passkey .device-name")).toContainText("Squatter's phone");

  // Wulan cannot register her own address; she recovers the account through it.
  const hers = await startLogin(request, { mode: "register" });
  await wulan.page.goto(hers.url);
  await hydrated(wulan.page);
  await registerInPage(wulan.page, { name: "Wulan", email, password: "wulan's passphrase" });
  await expect(wulan.page.getByText("This email address is already registered.")).toBeVisible();
  const recovery = await startLogin(request);
  await recover(wulan.page, recovery.url, email, "wulan's own passphrase");
  const wulans = await pollStatus(request, recovery.reqToken);
  expect(wulans.user.id).toBe(polled.user.id);
  expect(wulans.user.emailVerifiedAt).toBeTruthy();
  // She is invited to add a passkey of her own; her account has none of the squatter's.
  await expect(wulan.page.getByText("Sign in faster next time")).toBeVisible();
  await wulan.page.goto("/account");
  await hydrated(wulan.page);
  await expect(wulan.page.getByText("No passkeys yet.")).toBeVisible();

  // The squatter's tokens are dead...
  expect((await me(accessToken)).status()).toBe(401);
  const refreshed = await request.post("/api/v1/users/token", {
    headers: { "x-client-key": clientKey },
    data: { refreshToken },
  });
  expect(refreshed.status()).toBe(401);
  // ...their session is gone...
  await squatter.page.goto("/account");
  await expect(squatter.page.getByRole("button", { name: "Add a passkey" })).toHaveCount(0);
  // ...their password no longer signs in...
  await squatter.context.clearCookies();
  const again = await startLogin(request);
  await squatter.page.goto(again.url, { waitUntil: "commit" });
  await hydrated(squatter.page).catch(() => {});
  const heading = squatter.page.getByRole("heading", { level: 1 });
  // (The sign-in page offers the passkey in its autofill, which the virtual authenticator
  // may take at once: it must be refused as well.)
  await expect(heading).toContainText("Sign in to continue");
  await signInInPage(squatter.page, email, password);
  await expect(squatter.page.getByText("The password used for login is not valid.").first()).toBeVisible();
  await expect(heading).toContainText("Sign in to continue");
  // ...and neither does their passkey.
  await squatter.page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(squatter.page.locator(".error-panel").first()).toContainText("not known here");
  expect((await pollStatus(request, again.reqToken)).status).toBe("PENDING");
  await squatter.context.close();
  await wulan.context.close();
});
