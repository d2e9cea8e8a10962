import { Page, expect, test } from "@playwright/test";
import { hydrated, signInInPage, uniqueEmail } from "./helpers";

const password = "correct horse battery";

async function signedIn(page: Page, email: string) {
  await page.goto("/fypass");
  await hydrated(page);
  await signInInPage(page, email, password);
  await expect(page).toHaveURL(/\/devices$/);
}

test("a password change lists the passkeys and removes them when asked", async ({ page, request }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const email = uniqueEmail("lina");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Lina", email, password } })).status()).toBe(200);
  await signedIn(page, email);
  await page.goto("/account");
  await hydrated(page);
  await page.getByLabel("Name this passkey").fill("Someone's phone");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.locator(".passkey .device-name")).toContainText("Someone's phone");

  // The password form lists it at once, and offers to remove it with the other sessions.
  const offer = page.locator("fieldset.passkeys-too");
  await expect(offer).toContainText("Someone's phone");
  await page.getByLabel("Current password").fill(password);
  await page.getByLabel("New password").fill("a second password");
  await offer.getByRole("checkbox").check();
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status")).toContainText("Your password is changed");
  await expect(page.locator(".passkey")).toHaveCount(0);
  await expect(offer).toHaveCount(0);
  await page.reload();
  await expect(page.locator(".passkey")).toHaveCount(0);
});

test("signing out everywhere signs out this browser and every other", async ({ page, browser, request }) => {
  const email = uniqueEmail("maya");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Maya", email, password } })).status()).toBe(200);
  const other = await (await browser.newContext()).newPage();
  await signedIn(other, email);
  await signedIn(page, email);

  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Sign out everywhere" })).toBeVisible();
  await page.getByRole("button", { name: "End every session" }).click();
  await expect(page).toHaveURL(/\/fypass$/);
  await page.goto("/devices");
  await expect(page).toHaveURL(/\/fypass$/);
  await other.goto("/devices");
  await expect(other).toHaveURL(/\/fypass$/);
});
