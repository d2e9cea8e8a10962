import { Page, expect, test } from "@playwright/test";
import { mailedCode, pollStatus, startLogin, uniqueEmail } from "./helpers";

// On a slow phone network a page shows its form long before its WASM has loaded and the
// form's island is live. A person who types at once and presses the button once the page
// has hydrated must send what the fields show: the islands take the fields' values as they
// are when they hydrate. Each test types before hydration (and checks that it did), then
// submits after it, on every form of the hosted pages.

const password = "correct horse battery";
const hydratedPage = "html[data-hydrated]";

// Throttled page loads take seconds each.
test.describe.configure({ timeout: 180_000 });

/**
 * Chromium's "Slow 3G" (400 ms, 400 kbit/s each way) and a 4× slower CPU, for `page`; and no
 * cache, so that every page of a test loads its WASM as a first visit does.
 */
async function slowPhone(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 400,
    downloadThroughput: 50_000,
    uploadThroughput: 50_000,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
}

/**
 * Opens `path` and runs `type` on its server-rendered form, before the page hydrates (the
 * test fails if it hydrated first: then it would prove nothing); then waits for hydration.
 */
async function typeBeforeHydration(page: Page, path: string, type: () => Promise<void>) {
  await page.goto(path, { waitUntil: "commit" });
  await type();
  await expect(page.locator(hydratedPage), "typed before the page hydrated").toHaveCount(0);
  await page.locator(hydratedPage).waitFor({ state: "attached", timeout: 120_000 });
}

test("sign-in: what was typed before hydration signs in", async ({ page, request }) => {
  const email = uniqueEmail("ayu");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Ayu", email, password } })).status()).toBe(200);
  const { url, reqToken } = await startLogin(request);
  await slowPhone(page);
  await typeBeforeHydration(page, url, async () => {
    await page.getByLabel("Email or WhatsApp number").fill(email);
    await page.getByLabel("Password").fill(password);
  });
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in", { timeout: 60_000 });
  expect((await pollStatus(request, reqToken)).status).toBe("LOGGED_IN");
});

test("register and verify: what was typed before hydration is what is sent", async ({ page, request }) => {
  const email = uniqueEmail("bima");
  const { url, reqToken } = await startLogin(request, { mode: "register" });
  await slowPhone(page);
  await typeBeforeHydration(page, url, async () => {
    await page.getByLabel("Name").fill("Bima");
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill(password);
  });
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm it is you", { timeout: 60_000 });
  expect((await pollStatus(request, reqToken)).status).toBe("REGISTERED");

  // The verification step, loaded again and typed into before it hydrates.
  const code = await mailedCode(request, email, "Confirm your email address");
  await typeBeforeHydration(page, page.url(), async () => {
    await page.getByLabel("Code").fill(code);
  });
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByText(`Verified: ${email}`)).toBeVisible({ timeout: 60_000 });
});

test("sign in with a code: both steps keep what was typed before hydration", async ({ page, request }) => {
  const email = uniqueEmail("citra");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Citra", email, password } })).status()).toBe(200);
  const { reqToken } = await startLogin(request);
  await slowPhone(page);
  await typeBeforeHydration(page, `/fypass/code?reqToken=${reqToken}`, async () => {
    await page.getByLabel("Email or WhatsApp number").fill(email);
  });
  await page.getByRole("button", { name: "Send me a code" }).click();
  await expect(page.getByText("a code is on its way there")).toBeVisible({ timeout: 60_000 });
  const code = await mailedCode(request, email, "sign-in code");
  await typeBeforeHydration(page, page.url(), async () => {
    await page.getByLabel("Code").fill(code);
  });
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in", { timeout: 60_000 });
  expect((await pollStatus(request, reqToken)).status).toBe("LOGGED_IN");
});

test("recovery: both steps keep what was typed before hydration", async ({ page, request }) => {
  const email = uniqueEmail("dewi");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Dewi", email, password } })).status()).toBe(200);
  const { reqToken } = await startLogin(request);
  await slowPhone(page);
  await typeBeforeHydration(page, `/fypass/recover?reqToken=${reqToken}`, async () => {
    await page.getByLabel("Email or WhatsApp number").fill(email);
  });
  await page.getByRole("button", { name: "Send me a code" }).click();
  await expect(page.getByText("a code is on its way there")).toBeVisible({ timeout: 60_000 });
  const code = await mailedCode(request, email, "recovery code");
  await typeBeforeHydration(page, page.url(), async () => {
    await page.getByLabel("Code").fill(code);
    await page.getByLabel("New password").fill("a brand new passphrase");
  });
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in", { timeout: 60_000 });
  const signIn = await request.post("/api/v1/fypass/login", {
    data: { identifier: email, password: "a brand new passphrase" },
  });
  expect(signIn.status()).toBe(200);
});

test("account: the password and identifier forms keep what was typed before hydration", async ({ page }) => {
  const email = uniqueEmail("eka");
  // Signed in in this browser.
  const res = await page.request.post("/api/v1/fypass/register", { data: { name: "Eka", email, password } });
  expect(res.status()).toBe(200);
  await slowPhone(page);
  await typeBeforeHydration(page, "/account", async () => {
    await page.getByLabel("Current password").fill(password);
    await page.getByLabel("New password").fill("another fine passphrase");
  });
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Your password is changed.")).toBeVisible({ timeout: 60_000 });

  const other = uniqueEmail("eka-new");
  await typeBeforeHydration(page, "/account", async () => {
    await page.getByLabel("Email or WhatsApp number").fill(other);
  });
  await page.getByRole("button", { name: "Send a code" }).click();
  await expect(page.getByText("We sent a code to")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText(other)).toBeVisible();
});
