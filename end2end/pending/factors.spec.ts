// Not yet run (issue 26): written with the second factor, it has never run in a browser.
// Move it back into tests/ once it passes there: `end2end/run.sh pending/factors.spec.ts`.
import { Browser, Page, expect, test } from "@playwright/test";
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { hydrated, pollStatus, signInInPage, startLogin, uniqueEmail } from "../tests/helpers";

// The second factor in a real browser: enrolling an authenticator app by reading the QR
// code's secret (the otpauth:// URI the code holds), computing its codes here as an app
// would (RFC 6238), and signing in with password + code; the new pages pass axe-core.

const password = "correct horse battery";
const axeSource = createRequire(__filename).resolve("axe-core/axe.min.js");

/** RFC 4648 base32, as authenticator apps read the secret. */
function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text.replace(/\s/g, "")) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The 6-digit code of the 30-second step holding `unixSecs` (HMAC-SHA-1). */
function totp(secret: Buffer, unixSecs: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSecs / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

const now = () => Date.now() / 1000;

async function violations(page: Page) {
  if ((await page.locator("leptos-island").count()) > 0) await hydrated(page);
  await page.addScriptTag({ path: axeSource });
  const result = await page.evaluate(
    async (values) => (window as any).axe.run(document, { runOnly: { type: "tag", values } }),
    ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
  );
  return (result.violations as any[])
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ rule: v.id, nodes: v.nodes.map((n: any) => n.target.join(" ")) }));
}

async function freshPage(browser: Browser) {
  return (await browser.newContext({ bypassCSP: true })).newPage();
}

test("enrol an authenticator app from its QR code, then sign in with password and code", async ({
  browser,
  request,
}) => {
  test.setTimeout(90_000);
  const email = uniqueEmail("tari");
  expect((await request.post("/api/v1/fypass/register", { data: { name: "Tari", email, password } })).status()).toBe(200);

  // Enrol, in a browser signed in a moment ago (a recent proof of who she is).
  const page = await freshPage(browser);
  await page.goto("/fypass");
  await hydrated(page);
  await signInInPage(page, email, password);
  await expect(page).toHaveURL(/\/devices$/);
  await page.goto("/account");
  await hydrated(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const qr = page.getByRole("img", { name: /QR code to add fypass/ });
  await expect(qr).toBeVisible();
  const uri = (await page.locator("[data-otpauth]").getAttribute("data-otpauth"))!;
  expect(uri).toMatch(/^otpauth:\/\/totp\/fypass/);
  const secret = base32(new URL(uri).searchParams.get("secret")!);
  expect(await violations(page)).toEqual([]);
  await page.getByLabel("Code", { exact: true }).fill(totp(secret, now()));
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.locator(".recovery-codes li");
  await expect(codes).toHaveCount(10);
  expect(await violations(page)).toEqual([]);

  // An app's sign-in in another browser: the password, then the app's next code.
  const { url, reqToken } = await startLogin(request);
  const other = await freshPage(browser);
  await other.goto(url);
  await hydrated(other);
  await signInInPage(other, email, password);
  await expect(other).toHaveURL(/\/fypass\/second-factor\?reqToken=/);
  await expect(other.getByRole("heading", { level: 1 })).toContainText("authenticator app");
  expect((await pollStatus(request, reqToken)).status).toBe("PENDING");
  expect(await violations(other)).toEqual([]);
  await other.getByLabel("Code", { exact: true }).fill(totp(secret, now() + 30));
  await other.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(other).toHaveURL(/\/fypass\/status\?reqToken=/);
  expect((await pollStatus(request, reqToken)).status).toBe("LOGGED_IN");

  // The activity page lists it, and passes axe too.
  await other.goto("/account/activity");
  await expect(other.getByRole("heading", { level: 1, name: "Security activity" })).toBeVisible();
  await expect(other.locator('[data-kind="signed_in"]').first()).toContainText("with the second factor");
  expect(await violations(other)).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign in with password and a recovery code", async ({ page, request }) => {
    const email = uniqueEmail("wulan");
    expect((await request.post("/api/v1/fypass/register", { data: { name: "Wulan", email, password } })).status()).toBe(200);
    // Enrol over the page endpoints, as the hydrated page would (this request context has
    // the registration's session).
    const setup = await (await request.post("/_app/account/totp/start", { data: {} })).json();
    const secret = base32(new URL(setup.uri).searchParams.get("secret")!);
    const confirmed = await request.post("/_app/account/totp/confirm", { data: { code: totp(secret, now()) } });
    expect(confirmed.status()).toBe(200);
    const recovery: string[] = await confirmed.json();

    await page.goto("/fypass");
    await page.getByLabel("Email or WhatsApp number").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/fypass\/second-factor$/);
    await page.getByLabel("Code", { exact: true }).fill(recovery[0]);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(/\/devices$/);
  });
});
