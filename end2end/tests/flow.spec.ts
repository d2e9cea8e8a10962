import { expect, test } from "@playwright/test";
import {
  hydrated,
  localSpelling,
  pollStatus,
  registerInPage,
  signInInPage,
  startLogin,
  uniqueEmail,
  uniqueWhatsapp,
} from "./helpers";

const password = "correct horse battery";

test("an app starts a login, the person registers, the status view follows, the app gets its token once", async ({
  browser,
  request,
  baseURL,
}) => {
  const { reqToken, url } = await startLogin(request, { mode: "register", redirectUrl: `${baseURL}/docs` });
  const context = await browser.newContext();
  // The app shows the status view (say on a TV)...
  const tv = await context.newPage();
  await tv.goto(`/fypass/status?reqToken=${reqToken}`);
  await expect(tv.getByRole("heading", { level: 1 })).toContainText("Waiting for you to sign in");
  await expect(tv.locator(".qr svg")).toBeVisible();
  await hydrated(tv);

  // ...and the person registers (say on their phone).
  const phone = await context.newPage();
  await phone.goto(url);
  await hydrated(phone);
  await registerInPage(phone, { name: "Ana", email: uniqueEmail("ana"), password });
  await expect(phone).toHaveURL(/\/fypass\/status\?reqToken=/);
  await expect(phone.getByRole("heading", { level: 1 })).toContainText("Your account is ready");

  // The status view saw it live, and follows the app's redirect URL.
  await expect(tv.getByRole("heading", { level: 1 })).toContainText("Your account is ready", { timeout: 10_000 });
  await expect(tv).toHaveURL(`${baseURL}/docs`, { timeout: 10_000 });

  const first = await pollStatus(request, reqToken);
  expect(first.status).toBe("REGISTERED");
  expect(first.accessToken).toMatch(/^fyp_/);
  expect(first.user.name).toBe("Ana");
  const second = await pollStatus(request, reqToken);
  expect(second.status).toBe("REGISTERED");
  expect(second.accessToken).toBeUndefined();
  await context.close();
});

test("a person registered with a WhatsApp number signs in with it spelled another way", async ({ page, request }) => {
  const whatsapp = uniqueWhatsapp();
  const first = await startLogin(request, { mode: "register" });
  await page.goto(first.url);
  await hydrated(page);
  await registerInPage(page, { name: "Budi", whatsapp, password });
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready");

  const second = await startLogin(request);
  await page.context().clearCookies();
  await page.goto(second.url);
  await hydrated(page);
  await signInInPage(page, localSpelling(whatsapp), password);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
  const polled = await pollStatus(request, second.reqToken);
  expect(polled.status).toBe("LOGGED_IN");
  expect(polled.user.whatsapp).toBe("+" + whatsapp.replace(/\D/g, ""));
});

test("a wrong password shows the message beside the field, keeps the identifier, and the button waits", async ({
  page,
  request,
}) => {
  const email = uniqueEmail("citra");
  const registration = await startLogin(request, { mode: "register" });
  await page.goto(registration.url);
  await hydrated(page);
  await registerInPage(page, { name: "Citra", email, password });
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready");
  await page.context().clearCookies();

  const { url } = await startLogin(request);
  await page.goto(url);
  await hydrated(page);
  // Slow the request down so the pending state is visible.
  await page.route("**/api/v1/fypass/login", async (route) => {
    await new Promise((r) => setTimeout(r, 700));
    await route.continue();
  });
  await page.getByLabel("Email or WhatsApp number").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("button", { name: "Signing in…" })).toBeDisabled();
  await expect(page.locator("#field-password-error")).toHaveText("The password used for login is not valid.");
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Email or WhatsApp number")).toHaveValue(email);
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
});

test("a signed-in browser continues a second login with one click", async ({ page, request }) => {
  const first = await startLogin(request, { mode: "register" });
  await page.goto(first.url);
  await hydrated(page);
  await registerInPage(page, { name: "Dewi", email: uniqueEmail("dewi"), password });
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready");

  const second = await startLogin(request);
  await page.goto(second.url);
  await hydrated(page);
  await expect(page.getByText("Use another account")).toBeVisible();
  await page.getByRole("button", { name: /Continue as Dewi/ }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
  const polled = await pollStatus(request, second.reqToken);
  expect(polled.status).toBe("LOGGED_IN");
  expect(polled.user.name).toBe("Dewi");
});

test("the forms can be used with the keyboard alone", async ({ page, request }) => {
  const email = uniqueEmail("eko");
  const { url, reqToken } = await startLogin(request, { mode: "register" });
  await page.goto(url);
  await hydrated(page);
  // Tab from the top of the page to the first field.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    if (await page.getByLabel("Name").evaluate((el) => el === document.activeElement)) break;
  }
  await expect(page.getByLabel("Name")).toBeFocused();
  await page.keyboard.type("Eko");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Email address")).toBeFocused();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm it is you");
  await page.getByRole("link", { name: "Skip for now" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready");
  expect((await pollStatus(request, reqToken)).status).toBe("REGISTERED");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("registering, a wrong password, and signing in all work as plain forms", async ({ page, request }) => {
    const email = uniqueEmail("fajar");
    const registration = await startLogin(request, { mode: "register" });
    await page.goto(registration.url);
    // A mistake comes back on the page, with what was typed.
    await registerInPage(page, { name: "Fajar", email: "fajar@", password });
    await expect(page.locator("#field-email-error")).toHaveText("Email address is not a valid email address.");
    await expect(page.getByLabel("Name")).toHaveValue("Fajar");
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    // The verification step (optional here) comes first.
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm it is you");
    await page.getByRole("link", { name: "Skip for now" }).click();
    await expect(page).toHaveURL(/\/fypass\/status\?reqToken=/);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready");
    expect((await pollStatus(request, registration.reqToken)).status).toBe("REGISTERED");

    await page.context().clearCookies();
    const login = await startLogin(request);
    await page.goto(login.url);
    await signInInPage(page, email, "wrong password");
    await expect(page.locator("#field-password-error")).toHaveText("The password used for login is not valid.");
    await expect(page.getByLabel("Email or WhatsApp number")).toHaveValue(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
    expect((await pollStatus(request, login.reqToken)).status).toBe("LOGGED_IN");

    // "Continue as" is a plain form too.
    const again = await startLogin(request);
    await page.goto(again.url);
    await page.getByRole("button", { name: /Continue as Fajar/ }).click();
    await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
  });

  test("the status view refreshes itself until the outcome", async ({ page, request }) => {
    const { reqToken } = await startLogin(request);
    await page.goto(`/fypass/status?reqToken=${reqToken}`);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Waiting for you to sign in");
    const res = await request.post("/api/v1/fypass/register", {
      data: { reqToken, name: "Gita", email: uniqueEmail("gita"), password },
    });
    expect(res.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Your account is ready", { timeout: 10_000 });
  });
});

test("the hosted pages hydrate without errors (screenshots kept in test-results)", async ({ page, request }, info) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  // Each page fetches one WASM: the sign-in page its own small build (src/bundles.rs), the
  // others the whole front end.
  const wasm = new Set<string>();
  page.on("request", (r) => r.url().endsWith(".wasm") && wasm.add(new URL(r.url()).pathname));
  const { url, reqToken } = await startLogin(request);
  for (const [name, path, heading, front] of [
    ["login", url, "Sign in to continue to", /^\/pkg\/fypass-sign-in\.[\w-]+\.wasm$/],
    ["register", url.replace("/fypass?", "/fypass/register?"), "Create your account for", /^\/pkg\/fypass\.[\w-]+\.wasm$/],
    ["status", `/fypass/status?reqToken=${reqToken}`, "Waiting for you to sign in", /^\/pkg\/fypass\.[\w-]+\.wasm$/],
  ] as const) {
    wasm.clear();
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 1 })).toContainText(heading);
    expect([...wasm]).toEqual([expect.stringMatching(front)]);
    await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true });
  }
  expect(errors).toEqual([]);
});
