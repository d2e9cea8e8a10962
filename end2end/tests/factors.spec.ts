import { APIRequestContext, Page, expect, test } from "@playwright/test";
import jsQR from "jsqr";
import { readFileSync } from "node:fs";
import * as OTPAuth from "otpauth";
import {
  clientKey,
  hydrated,
  mailed,
  mailedCode,
  pollStatus,
  signInInPage,
  startLogin,
  uniqueEmail,
  violations,
} from "./helpers";

// The security centre (issue 26, SPEC §16) in a real browser, with and without JavaScript:
// an authenticator app enrolled from the QR code the page draws (read as a phone's camera
// would, its codes computed here as the app would), the second step of a sign-in with the
// app's code or a recovery code, the activity page and its "sign out", the alert mail and
// its "this wasn't me" link, the export and deleting the account; and axe-core on the new
// pages.

const password = "correct horse battery";

/**
 * An authenticator app, as a phone holds it: the secret read from the QR code. The server
 * takes each code once (a step no later than the last one used is a replay) and one step
 * of drift either way, so the app gives the code of the earliest step later than the last
 * one it gave, waiting when that would be more than a step ahead.
 */
class AuthenticatorApp {
  private last = 0;
  private lastCode = "";

  constructor(private readonly totp: OTPAuth.TOTP) {}

  static fromUri(uri: string): AuthenticatorApp {
    const parsed = OTPAuth.URI.parse(uri);
    if (!(parsed instanceof OTPAuth.TOTP)) throw new Error(`not a TOTP URI: ${uri}`);
    return new AuthenticatorApp(parsed);
  }

  /** The name the app shows above the codes, and the account under it. */
  get issuer(): string {
    return this.totp.issuer;
  }

  get label(): string {
    return this.totp.label;
  }

  /** The secret as the page prints it for typing by hand: base32 in groups of four. */
  get typedSecret(): string {
    return this.totp.secret.base32.match(/.{1,4}/g)!.join(" ");
  }

  async code(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / 1000 / this.totp.period);
      const step = Math.max(now, this.last + 1);
      if (step <= now + 1) {
        this.last = step;
        this.lastCode = this.totp.generate({ timestamp: step * this.totp.period * 1000 });
        return this.lastCode;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** The code given last (already used: a replay). */
  replay(): string {
    return this.lastCode;
  }
}

/** What a phone's camera reads from the page's QR code, as the page draws it. */
async function readQr(page: Page): Promise<string> {
  const png = await page.getByRole("img", { name: "QR code to add fypass to an authenticator app" }).screenshot({ scale: "css" });
  // The pixels, from a blank page of its own (the page under test may run no script).
  const reader = await page.context().browser()!.newContext({ javaScriptEnabled: true });
  try {
    const pixels = await (await reader.newPage()).evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.width;
      canvas.height = img.height;
      const context = canvas.getContext("2d")!;
      context.drawImage(img, 0, 0);
      const data = context.getImageData(0, 0, img.width, img.height);
      return { width: data.width, height: data.height, rgba: Array.from(data.data) };
    }, `data:image/png;base64,${png.toString("base64")}`);
    const found = jsQR(Uint8ClampedArray.from(pixels.rgba), pixels.width, pixels.height);
    expect(found, "a QR code the camera can read").not.toBeNull();
    return found!.data;
  } finally {
    await reader.close();
  }
}

/** A new account, registered over the API by `request` (which then holds its session). */
async function register(request: APIRequestContext, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase());
  const res = await request.post("/api/v1/fypass/register", { data: { name, email, password } });
  expect(res.status()).toBe(200);
  return email;
}

/**
 * Sets up an authenticator app on `/account` as a person does (signed in moments ago, so no
 * password is asked): the QR code read with the app, whose key is printed under it too, then
 * the app's code. The app, and the recovery codes the page shows once.
 */
async function enrolInPage(page: Page, email: string, js: boolean) {
  await page.goto("/account");
  if (js) await hydrated(page);
  const panel = page.locator("#second-factor");
  await panel.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(panel.getByRole("img", { name: "QR code to add fypass to an authenticator app" })).toBeVisible();
  // Without JavaScript the answer is /account#second-factor: the panel's heading shows below
  // the sticky header, not under it.
  const header = (await page.locator("header.topbar").boundingBox())!;
  const heading = (await panel.getByRole("heading", { name: "Second factor" }).boundingBox())!;
  expect(heading.y).toBeGreaterThanOrEqual(header.y + header.height);
  const app = AuthenticatorApp.fromUri(await readQr(page));
  expect([app.issuer, app.label]).toEqual(["fypass", email]);
  await expect(panel.locator(".totp-secret")).toHaveText(app.typedSecret);
  // And there to read whole: its lines take room in the caption, which the figure holds.
  const [figure, caption, key] = await Promise.all(
    ["figure", "figcaption", ".totp-secret"].map(async (s) => (await panel.locator(s).boundingBox())!),
  );
  expect(caption.height).toBeGreaterThanOrEqual(key.height);
  expect(caption.y + caption.height).toBeLessThanOrEqual(figure.y + figure.height + 1);
  expect(caption.x + caption.width).toBeLessThanOrEqual(figure.x + figure.width + 1);
  await panel.getByLabel("Code", { exact: true }).fill(await app.code());
  await panel.getByRole("button", { name: "Turn on" }).click();
  const codes = panel.locator(".recovery-codes li");
  await expect(codes).toHaveCount(10);
  await expect(panel.getByText("Recovery codes left: 10")).toBeVisible();
  // Other browsers were signed out; apps were not, and the page says where they are.
  await expect(panel.getByText("Every other browser signed in to your account has been signed out")).toBeVisible();
  await expect(panel.getByRole("link", { name: "See them, and sign them out, in Security activity." })).toHaveAttribute(
    "href",
    "/account/activity",
  );
  return { app, recovery: await codes.allTextContents() };
}

/** The same over the page's endpoints (`request` holds a session of a moment ago). */
async function enrolOverApi(request: APIRequestContext) {
  const started = await request.post("/_app/account/totp/start", { data: {} });
  expect(started.status()).toBe(200);
  const app = AuthenticatorApp.fromUri((await started.json()).uri);
  const confirmed = await request.post("/_app/account/totp/confirm", { data: { code: await app.code() } });
  expect(confirmed.status()).toBe(200);
  return { app, recovery: (await confirmed.json()) as string[] };
}

/** Types `code` at the second step and presses "Sign in". */
async function secondStep(page: Page, code: string) {
  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

const wrongCode = "is not a current code of your authenticator app, nor an unused recovery code";

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("enrol an authenticator app from its QR code, then sign in to an app with the password and its code", async ({
      page,
      browser,
      request,
    }) => {
      test.setTimeout(60_000);
      const email = await register(page.request, "Tari");
      const { app, recovery } = await enrolInPage(page, email, js);

      // New recovery codes in place of those (signed in moments ago: no password asked).
      const panel = page.locator("#second-factor");
      await panel.getByRole("button", { name: "Get new recovery codes" }).click();
      await expect(panel.getByText("Your old recovery codes no longer work.")).toBeVisible();
      const renewed = panel.locator(".recovery-codes li");
      await expect(renewed).toHaveCount(10);
      const fresh = await renewed.allTextContents();
      expect(fresh.filter((c) => recovery.includes(c))).toEqual([]);

      // An app's sign-in in another browser: the password, then the app's code.
      const { url, reqToken } = await startLogin(request);
      const other = await (await browser.newContext()).newPage();
      await other.goto(url);
      if (js) await hydrated(other);
      await signInInPage(other, email, password);
      await expect(other).toHaveURL(/\/fypass\/second-factor\?reqToken=/);
      await expect(other.getByRole("heading", { level: 1 })).toHaveText("Enter the code from your authenticator app");
      expect((await pollStatus(request, reqToken)).status).toBe("PENDING");
      if (js) await hydrated(other);
      // The code that turned the app on was used: it does not work twice.
      await secondStep(other, app.replay());
      await expect(other.locator("#field-code-error")).toContainText(wrongCode);
      expect((await pollStatus(request, reqToken)).status).toBe("PENDING");
      await secondStep(other, await app.code());
      await expect(other).toHaveURL(/\/fypass\/status\?reqToken=/);
      await expect(other.getByRole("heading", { level: 1 })).toContainText("You're signed in");
      expect((await pollStatus(request, reqToken)).status).toBe("LOGGED_IN");

      // Both factors: the activity says so, and so does the list of sign-ins.
      await other.goto("/account/activity");
      await expect(other.getByRole("heading", { level: 1, name: "Security activity" })).toBeVisible();
      const signedIn = other.locator('[data-kind="signed_in"]').first();
      await expect(signedIn).toContainText("with the second factor");
      await expect(signedIn).toContainText("for E2E app");
      await expect(other.locator('[data-kind="second_factor_failed"]')).toHaveCount(1);
      const here = other.locator("#signed-in li.item").filter({ hasText: "this browser" });
      await expect(here).toContainText("two factors");
      await other.context().close();
    });

    test("sign in with the password and a recovery code, each code once", async ({ page, browser, request }) => {
      test.setTimeout(60_000);
      const email = await register(request, "Wulan");
      const { recovery } = await enrolOverApi(request);
      expect(recovery).toHaveLength(10);

      await page.goto("/fypass");
      if (js) await hydrated(page);
      await signInInPage(page, email, password);
      await expect(page).toHaveURL(/\/fypass\/second-factor$/);
      if (js) await hydrated(page);
      // A code of the right shape that is not one of hers.
      await secondStep(page, "abcd-efgh-jkmn-pqrs");
      await expect(page.locator("#field-code-error")).toContainText(wrongCode);
      await secondStep(page, recovery[0]);
      await expect(page).toHaveURL(/\/devices$/);

      // Used: in another browser the same code is refused, the next one works.
      const other = await (await browser.newContext()).newPage();
      await other.goto("/fypass");
      if (js) await hydrated(other);
      await signInInPage(other, email, password);
      await expect(other).toHaveURL(/\/fypass\/second-factor$/);
      if (js) await hydrated(other);
      await secondStep(other, recovery[0]);
      await expect(other.locator("#field-code-error")).toContainText(wrongCode);
      await secondStep(other, recovery[1].toUpperCase());
      await expect(other).toHaveURL(/\/devices$/);
      await other.context().close();

      await page.goto("/account");
      await expect(page.locator("#second-factor")).toContainText("Recovery codes left: 8");
      await page.goto("/account/activity");
      await expect(page.locator('[data-kind="recovery_code_used"]')).toHaveCount(2);
    });

    test("a second browser's sign-in shows in the activity, and the first browser signs it out", async ({
      page,
      browser,
    }) => {
      const email = await register(page.request, "Dewi");
      const second = await browser.newContext({
        extraHTTPHeaders: { "x-forwarded-for": "198.51.100.23" },
        userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
      });
      const there = await second.newPage();
      await there.goto("/fypass");
      if (js) await hydrated(there);
      await signInInPage(there, email, password);
      await expect(there).toHaveURL(/\/devices$/);

      await page.goto("/account/activity");
      await expect(page.getByRole("heading", { level: 1, name: "Security activity" })).toBeVisible();
      const newest = page.locator(".activity li").first();
      await expect(newest).toHaveAttribute("data-kind", "signed_in");
      await expect(newest).toContainText("with the password");
      await expect(newest).toContainText("network 198.51.100.23");
      await expect(newest).toContainText("Firefox/128.0");
      const sessions = page.locator("#signed-in li.item");
      await expect(sessions).toHaveCount(2);
      // Each session says which browser it is and where; so does its button, to a screen reader.
      const listed = sessions.filter({ hasNotText: "this browser" });
      await expect(listed).toContainText("Firefox on Windows");
      await expect(listed).toContainText("network 198.51.100.23");
      await listed.getByRole("button", { name: /^Sign out Firefox on Windows, network 198\.51\.100\.23, since / }).click();
      await expect(page).toHaveURL(/\/account\/activity\?done=ended#signed-in$/);
      await expect(page.getByRole("status")).toHaveText("Signed out there.");
      await expect(sessions).toHaveCount(1);
      await expect(sessions).toContainText("this browser");
      await expect(page.locator(".activity li").first()).toHaveAttribute("data-kind", "session_ended");

      // The second browser is signed out; this one is not.
      await there.goto("/account");
      await expect(there).toHaveURL(/\/fypass$/);
      await page.goto("/account");
      await expect(page).toHaveURL(/\/account$/);
      await second.close();
    });

    test("the alert of a new browser's sign-in arrives by mail, and its link locks the intruder out", async ({
      page,
      browser,
      request,
    }) => {
      test.setTimeout(60_000);
      // Alerts go to a verified address only.
      const email = await register(page.request, "Ratna");
      const verifyCode = await mailedCode(request, email, "Confirm your email address");
      const verified = await page.request.post("/api/v1/fypass/verify", { data: { identifier: email, code: verifyCode } });
      expect(verified.status()).toBe(200);

      // Someone who knows her password signs in to an app, from their browser and network.
      const intruder = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": "203.0.113.66" } });
      const theirs = await intruder.newPage();
      // (Their own app, on their network: a browser elsewhere would be asked to confirm the
      // device's code first.)
      const started = await request.post("/api/v1/users/login", {
        headers: { "x-client-key": clientKey, "x-forwarded-for": "203.0.113.66" },
        data: {},
      });
      expect(started.status()).toBe(201);
      const login = await started.json();
      await theirs.goto(login.url);
      if (js) await hydrated(theirs);
      await signInInPage(theirs, email, password);
      await expect(theirs.getByRole("heading", { level: 1 })).toContainText("You're signed in");
      const { accessToken } = await pollStatus(request, login.reqToken);
      const me = () =>
        request.get("/api/v1/users/me", { headers: { "x-client-key": clientKey, authorization: `Bearer ${accessToken}` } });
      expect((await me()).status()).toBe(200);

      // The alert names their network and carries the link.
      const alert = await mailed(request, email, "New sign-in to your fypass account");
      expect(alert).toContain("From network 203.0.113.66");
      const link = alert.match(/\S+\/fypass\/not-me\?token=\S+/)![0];
      await page.goto(link);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Lock everyone out of your account");
      await page.getByRole("button", { name: "Sign everyone out and recover my account" }).click();
      await expect(page).toHaveURL(/\/fypass\/recover\?to=/);

      // The intruder is out: their browser and the app's token.
      await theirs.goto("/account");
      await expect(theirs).toHaveURL(/\/fypass$/);
      expect((await me()).status()).toBe(401);
      await intruder.close();

      // A recovery code came to her address: she sets a new password and is back in.
      const code = await mailedCode(request, email, "recovery code");
      if (js) await hydrated(page);
      await page.getByLabel("Code").fill(code);
      await page.getByLabel("New password").fill("a brand new passphrase");
      await page.getByRole("button", { name: "Set the new password" }).click();
      await expect(page).toHaveURL(/\/devices$/);

      // The link worked once: used, its page has no button, only the way to recover.
      await page.goto(link);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("This link no longer works");
      await expect(page.getByRole("button", { name: "Sign everyone out and recover my account" })).toHaveCount(0);
      await expect(page.getByRole("link", { name: "Recover my account" })).toHaveAttribute("href", "/fypass/recover");
      await page.goto("/account");
      await expect(page).toHaveURL(/\/account$/);
    });

    test("export downloads what fypass holds about the person, and deleting the account frees the address", async ({
      page,
      request,
    }) => {
      const email = await register(page.request, "Sekar");
      await page.goto("/account");
      if (js) await hydrated(page);
      const leaving = page.locator("#leaving");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        leaving.getByRole("link", { name: "Download my data" }).click(),
      ]);
      expect(download.suggestedFilename()).toBe("fypass-export.json");
      const text = readFileSync((await download.path())!, "utf8");
      const exported = JSON.parse(text);
      expect(exported.user.email).toBe(email);
      expect(exported.user.name).toBe("Sekar");
      expect(exported.secondFactor.authenticatorApp).toBe(false);
      expect(exported.activity.map((e: any) => e.kind)).toContain("signed_in");
      expect(exported.signedIn.some((s: any) => s.current)).toBe(true);
      expect(text).not.toMatch(/hash|argon2|secret/i);

      // A wrong password deletes nothing.
      await leaving.getByLabel("Password").fill("not the password");
      await leaving.getByRole("button", { name: "Delete my account" }).click();
      await expect(leaving.locator("#field-password-error")).toBeVisible();
      await leaving.getByLabel("Password").fill(password);
      await leaving.getByRole("button", { name: "Delete my account" }).click();
      // The sign-in page itself: not the form's panel (#leaving), which is gone with the account.
      await expect(page).toHaveURL(/\/fypass#?$/);

      // Gone: signed out, no such account, and the address is free for anyone again.
      await page.goto("/account");
      await expect(page).toHaveURL(/\/fypass$/);
      if (js) await hydrated(page);
      await signInInPage(page, email, password);
      await expect(page.locator("#field-identifier-error")).toHaveText(
        "No account is registered with this email or WhatsApp number.",
      );
      const again = await request.post("/api/v1/fypass/register", { data: { name: "Someone else", email, password } });
      expect(again.status()).toBe(200);
    });
  });
}

// As every hosted page (a11y.spec.ts): no violation at all, of any impact. axe runs as a
// script in the page: with JavaScript, in contexts that let it in (bypassCSP).
test("the security centre's pages have no WCAG 2.1 A/AA violations (axe-core)", async ({
  browser,
}) => {
  test.setTimeout(60_000);
  const found: Record<string, unknown> = {};
  const check = async (page: Page, name: string) => {
    const v = await violations(page);
    if (v.length > 0) found[name] = v;
  };
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const email = await register(page.request, "Ayu");
  // Verified, so that turning the factor on sends her an alert with a working link.
  const verifyCode = await mailedCode(page.request, email, "Confirm your email address");
  const verified = await page.request.post("/api/v1/fypass/verify", { data: { identifier: email, code: verifyCode } });
  expect(verified.status()).toBe(200);

  await page.goto("/account");
  await hydrated(page);
  await check(page, "account");
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const app = AuthenticatorApp.fromUri(await readQr(page));
  await check(page, "account: setting up the app");
  await page.getByLabel("Code", { exact: true }).fill(await app.code());
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.locator(".recovery-codes li")).toHaveCount(10);
  await check(page, "account: recovery codes");

  const otherContext = await browser.newContext({ bypassCSP: true });
  const other = await otherContext.newPage();
  await other.goto("/fypass");
  await hydrated(other);
  await signInInPage(other, email, password);
  await expect(other).toHaveURL(/\/fypass\/second-factor$/);
  await check(other, "second step");
  await secondStep(other, "abcd-efgh-jkmn-pqrs");
  await expect(other.locator("#field-code-error")).toBeVisible();
  await check(other, "second step: a wrong code");
  await secondStep(other, await app.code());
  await expect(other).toHaveURL(/\/devices$/);

  await page.goto("/account/activity");
  await check(page, "activity");

  // The "this wasn't me" page of the factor's alert (left unused), and of a link that does
  // not work (a made-up token is one): no button, the way to recover.
  const alert = await mailed(page.request, email, "second factor");
  await page.goto(alert.match(/\S+\/fypass\/not-me\?token=\S+/)![0]);
  await expect(page.getByRole("button", { name: "Sign everyone out and recover my account" })).toBeVisible();
  await check(page, "not me");
  await page.goto("/fypass/not-me?token=fyx_made-up");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("This link no longer works");
  await check(page, "not me: the link does not work");

  await context.close();
  await otherContext.close();
  expect(found).toEqual({});
});
