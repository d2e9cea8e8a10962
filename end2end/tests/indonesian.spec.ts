import { Page, expect, test } from "@playwright/test";
import { hydrated, startLogin, uniqueEmail } from "./helpers";

// A person whose browser says id-ID meets fypass in Bahasa Indonesia: every page, every
// message, with and without JavaScript.
test.use({ locale: "id-ID" });

const password = "kuda baterai benar";

async function register(page: Page, name: string, email: string) {
  await page.getByLabel("Nama").fill(name);
  await page.getByLabel("Alamat email").fill(email);
  await page.getByLabel("Kata sandi").fill(password);
  await page.getByRole("button", { name: "Buat akun" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Pastikan ini memang Anda");
  await page.getByRole("link", { name: "Lewati untuk sekarang" }).click();
}

async function signIn(page: Page, identifier: string, secret: string) {
  await page.getByLabel("Email atau nomor WhatsApp").fill(identifier);
  await page.getByLabel("Kata sandi").fill(secret);
  await page.getByRole("button", { name: "Masuk", exact: true }).click();
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("register, a wrong password, sign in, status and devices, all in Indonesian", async ({ page, request }, info) => {
      const ready = async () => {
        if (javaScriptEnabled) await hydrated(page);
      };
      const email = uniqueEmail("sari");
      // Register for the app's request.
      const first = await startLogin(request);
      await page.goto(first.url.replace("/fypass?", "/fypass/register?"));
      await ready();
      await expect(page.locator("html")).toHaveAttribute("lang", "id");
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Buat akun Anda untuk E2E app");
      await page.screenshot({ path: info.outputPath("register-id.png"), fullPage: true });
      await register(page, "Sari", email);
      await expect(page.getByRole("heading", { level: 1 })).toContainText("Akun Anda sudah siap");

      // A wrong password: the message beside the field, in Indonesian.
      const second = await startLogin(request);
      await page.goto(second.url);
      await ready();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Masuk untuk melanjutkan ke E2E app");
      const other = page.getByText("Gunakan akun lain");
      if (await other.isVisible()) await other.click();
      await signIn(page, email, "bukan kata sandinya");
      await expect(page.locator("#field-password-error")).toHaveText(
        "Kata sandi yang digunakan untuk masuk tidak valid.",
      );
      await page.screenshot({ path: info.outputPath("wrong-password-id.png"), fullPage: true });

      // The right one, then the status page and the dashboard.
      await page.getByLabel("Kata sandi").fill(password);
      await page.getByRole("button", { name: "Masuk", exact: true }).click();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Anda sudah masuk ke E2E app");
      await page.screenshot({ path: info.outputPath("status-id.png"), fullPage: true });
      await page.goto("/devices");
      await ready();
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Perangkat Anda");
      await expect(page.getByText("Masuk sebagai Sari")).toBeVisible();
      await expect(page.getByRole("button", { name: "Keluar" })).toBeVisible();
      await page.screenshot({ path: info.outputPath("devices-id.png"), fullPage: true });
    });
  });
}

test("the page's own switch turns it to English and is remembered, without JavaScript too", async ({ browser, request }, info) => {
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ locale: "id-ID", javaScriptEnabled });
    const page = await context.newPage();
    const { url } = await startLogin(request);
    await page.goto(url);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Masuk untuk melanjutkan ke E2E app");
    if (javaScriptEnabled) await hydrated(page);
    await page.getByRole("button", { name: "English" }).click();
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in to continue to E2E app");
    expect(page.url()).toBe(url);
    await page.screenshot({ path: info.outputPath(`login-en-${javaScriptEnabled ? "js" : "nojs"}.png`), fullPage: true });
    // Remembered: the next page is English although the browser asks for Indonesian.
    await page.goto("/fypass/recover");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set a new password");
    await page.getByRole("button", { name: "Bahasa Indonesia" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Buat kata sandi baru");
    await context.close();
  }
});

test.describe("an English browser", () => {
  test.use({ locale: "en-US" });

test("an app's request in Indonesian hydrates without errors or English", async ({ page, request }, info) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && errors.push(m.text()));
  // The app asks for Indonesian; the browser would say English.
  const { url, reqToken } = await startLogin(request, { locale: "id-ID" });
  await page.goto(url);
  await hydrated(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "id");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Masuk untuk melanjutkan ke E2E app");
  // The page's own calls answer in the page's language.
  await page.getByLabel("Email atau nomor WhatsApp").fill("siapa-pun@example.com");
  await page.getByLabel("Kata sandi").fill("sembarang saja");
  await page.getByRole("button", { name: "Masuk", exact: true }).click();
  await expect(page.locator("#field-identifier-error")).toHaveText(
    "Tidak ada akun yang terdaftar dengan email atau nomor WhatsApp ini.",
  );
  await page.goto(`/fypass/status?reqToken=${reqToken}`);
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Menunggu Anda masuk ke E2E app");
  await page.screenshot({ path: info.outputPath("status-pending-id.png"), fullPage: true });
  // The failed sign-in itself is a 404 (USER_NOT_FOUND) the console reports.
  expect(errors.filter((e) => !e.includes("Failed to load resource"))).toEqual([]);
});
});

test("a branded app's page shows its name, logo and colour, and no developer links", async ({ page, request }, info) => {
  const logo = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#0a7d5a"/></svg>`;
  let logoRequested = false;
  await page.route("https://cdn.warung-kopi.example/**", (route) => {
    logoRequested = true;
    return route.fulfill({ status: 200, contentType: "image/svg+xml", body: logo });
  });
  const res = await request.post("/api/v1/users/login", {
    headers: { "x-client-key": process.env.FYPASS_TEST_BRANDED_KEY ?? "" },
    data: {},
  });
  expect(res.status()).toBe(201);
  const { url } = await res.json();
  await page.goto(url);
  await hydrated(page);
  await expect(page.locator(".app-name")).toHaveText("Warung Kopi");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Masuk untuk melanjutkan ke Warung Kopi");
  // The logo loads: the page's CSP admits its origin (and only it).
  const img = page.locator("img.app-logo");
  await expect(img).toHaveAttribute("src", "https://cdn.warung-kopi.example/logo.svg");
  await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  expect(logoRequested).toBe(true);
  // The accent colour is the app's.
  const button = page.getByRole("button", { name: "Masuk", exact: true });
  await expect(button).toHaveCSS("background-color", "rgb(10, 125, 90)");
  // No developer navigation; fypass's own small footer.
  await expect(page.getByRole("link", { name: "Endpoint" })).toHaveCount(0);
  await expect(page.locator("footer")).toContainText("fypass");
  await page.screenshot({ path: info.outputPath("branded-id.png"), fullPage: true });
});
