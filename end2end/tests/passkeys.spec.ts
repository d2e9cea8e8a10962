import { Page, expect, test } from "@playwright/test";
import { hydrated, pollStatus, signInInPage, startLogin, uniqueEmail } from "./helpers";

// Chromium's virtual authenticator stands in for a phone's or laptop's (CDP WebAuthn
// domain): it keeps discoverable credentials and verifies the user without a prompt.
async function virtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
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
  return { cdp, authenticatorId };
}

const password = "correct horse battery";

test("a passkey made on /account completes an app's login request, until it is removed", async ({ page, request, browser }) => {
  const { cdp, authenticatorId } = await virtualAuthenticator(page);
  const email = uniqueEmail("kiki");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Kiki", email, password } })).status()).toBe(200);

  // Signed in with the password, the person adds a passkey on their account page.
  await page.goto("/fypass");
  await hydrated(page);
  await signInInPage(page, email, password);
  await expect(page).toHaveURL(/\/devices$/);
  await page.goto("/account");
  await hydrated(page);
  await page.getByLabel("Name this passkey").fill("Test phone");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.locator(".passkey .device-name")).toContainText("Test phone");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);
  // (Signed out, this browser's sign-in page would offer the passkey in its autofill, and
  // the virtual authenticator, unlike a person, takes it at once and signs in again to the
  // dashboard. So the app's request is completed in a browser of its own.)
  await page.close();

  // In another browser holding the same passkey (a phone that synced it), they complete
  // an app's login request with it.
  const context = await browser.newContext();
  const phone = await context.newPage();
  const synced = await virtualAuthenticator(phone);
  await synced.cdp.send("WebAuthn.addCredential", { authenticatorId: synced.authenticatorId, credential: credentials[0] });
  const { url, reqToken } = await startLogin(request);
  // The page offers the passkey in the identifier's autofill as soon as it hydrates, and
  // the virtual authenticator mostly takes it at once (so the page may leave before it has
  // finished loading). When autofill has not signed in yet, the person presses "Sign in
  // with a passkey" (which takes over from autofill): either way the passkey signs in.
  await phone.goto(url, { waitUntil: "commit" });
  const heading = phone.getByRole("heading", { level: 1 });
  await expect(async () => {
    if (!(await heading.textContent())?.includes("You're signed in")) {
      await phone.getByRole("button", { name: "Sign in with a passkey" }).click({ timeout: 1_000 }).catch(() => {});
    }
    await expect(heading).toContainText("You're signed in", { timeout: 2_000 });
  }).toPass({ timeout: 15_000 });
  const first = await pollStatus(request, reqToken);
  expect(first.status).toBe("LOGGED_IN");
  expect(first.accessToken).toMatch(/^fyp_/);
  expect((await pollStatus(request, reqToken)).accessToken).toBeUndefined();

  // Removed from the account, the passkey no longer signs in.
  await phone.goto("/account");
  await hydrated(phone);
  await phone.getByRole("button", { name: "Remove Test phone" }).click();
  await expect(phone.locator(".passkey")).toHaveCount(0);
  await phone.getByRole("button", { name: "Sign out" }).click();
  await expect(phone).toHaveURL(/\/fypass$/);
  const again = await startLogin(request);
  await phone.goto(again.url);
  await hydrated(phone);
  await phone.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(phone.locator(".error-panel").first()).toContainText("not known here");
  await expect(phone.getByRole("heading", { level: 1 })).toContainText("Sign in to continue");
  expect((await pollStatus(request, again.reqToken)).status).toBe("PENDING");
  await context.close();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the sign-in page says passkeys need JavaScript and keeps the password form", async ({ page, request }) => {
    const { url } = await startLogin(request);
    await page.goto(url);
    await expect(page.getByText("Passkeys need JavaScript")).toBeVisible();
    await expect(page.getByLabel("Password")).toBeVisible();
    await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toHaveCount(0);
  });
});
