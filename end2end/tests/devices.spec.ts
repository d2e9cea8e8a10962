import { expect, test } from "@playwright/test";
import { clientKey, hydrated, pollStatus, registerInPage, startLogin, uniqueEmail } from "./helpers";

test("a person sees the devices apps saved, removes one, and signs out", async ({ page, request }, info) => {
  // Create an account in fypass itself: it leads to the (empty) dashboard.
  await page.goto("/fypass/register");
  await hydrated(page);
  await registerInPage(page, { name: "Hana", email: uniqueEmail("hana"), password: "correct horse battery" });
  await expect(page).toHaveURL(/\/devices$/);
  await expect(page.getByText("No devices yet")).toBeVisible();

  // An app on a TV signs her in ("Continue as"), and her phone's app saves its device.
  const tv = await startLogin(request, {
    deviceInfo: { deviceId: `tv-${Date.now()}`, platform: "android", deviceName: "Living room TV", osVersion: "12" },
  });
  await page.goto(tv.url);
  await hydrated(page);
  await page.getByRole("button", { name: /Continue as Hana/ }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("You're signed in");
  const { accessToken } = await pollStatus(request, tv.reqToken);
  const phone = await request.post("/api/v1/devices", {
    headers: { "x-client-key": clientKey, authorization: `Bearer ${accessToken}` },
    data: { deviceId: `phone-${Date.now()}`, platform: "ios", model: "iPhone 15", appVersion: "3.0.1" },
  });
  expect(phone.status()).toBe(201);

  // The dashboard fetches its own small build (src/bundles.rs), not the whole front end.
  const wasm = new Set<string>();
  page.on("request", (r) => r.url().endsWith(".wasm") && wasm.add(new URL(r.url()).pathname));
  await page.goto("/devices");
  await hydrated(page);
  expect([...wasm]).toEqual([expect.stringMatching(/^\/pkg\/fypass-devices\.[\w-]+\.wasm$/)]);
  const cards = page.locator("li.device");
  await expect(cards).toHaveCount(2);
  const tvCard = cards.filter({ hasText: "Living room TV" });
  await expect(tvCard).toContainText("E2E app · Android");
  await expect(tvCard.locator("time")).toHaveText("just now");
  await expect(tvCard.locator("time")).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);
  await expect(tvCard.locator("time")).toHaveAttribute("title", /^\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC$/);
  await expect(cards.filter({ hasText: "iPhone 15" })).toContainText("app 3.0.1");
  await page.screenshot({ path: info.outputPath("devices.png"), fullPage: true });

  // Remove the TV: confirm, and it disappears without a reload; its token stops working.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  page.once("dialog", (dialog) => dialog.accept());
  await tvCard.getByRole("button", { name: "Remove Living room TV" }).click();
  await expect(cards).toHaveCount(1);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  const revoked = await request.post("/api/v1/devices", {
    headers: { "x-client-key": clientKey, authorization: `Bearer ${accessToken}` },
    data: { deviceId: "after-removal", platform: "web" },
  });
  expect(revoked.status()).toBe(401);

  // Declining the confirmation keeps the device.
  page.once("dialog", (dialog) => dialog.dismiss());
  await cards.first().getByRole("button", { name: /Remove/ }).click();
  await expect(cards).toHaveCount(1);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/fypass$/);
  await page.goto("/devices");
  await expect(page).toHaveURL(/\/fypass$/);
});
