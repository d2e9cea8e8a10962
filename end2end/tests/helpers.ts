import { APIRequestContext, Page, expect } from "@playwright/test";

/** The key of the client end2end/run.sh created: the tests act as that app. */
export const clientKey = process.env.FYPASS_TEST_CLIENT_KEY ?? "";

export function uniqueEmail(who: string): string {
  return `${who}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** A fresh Indonesian mobile number, written as +62 8xx-xxxx-xxxx. */
export function uniqueWhatsapp(): string {
  const rest = String(Math.floor(Math.random() * 1e8)).padStart(8, "0");
  return `+62 812-${rest.slice(0, 4)}-${rest.slice(4)}`;
}

/** The same number as people write it locally: 0812xxxxxxxx. */
export function localSpelling(international: string): string {
  return "0" + international.replace(/\D/g, "").slice(2);
}

export async function startLogin(request: APIRequestContext, body: object = {}) {
  const res = await request.post("/api/v1/users/login", { headers: { "x-client-key": clientKey }, data: body });
  expect(res.status()).toBe(201);
  return (await res.json()) as { reqToken: string; url: string; expiresAt: string; interval: number };
}

export async function pollStatus(request: APIRequestContext, reqToken: string) {
  const res = await request.get(`/api/v1/users/login-status?reqToken=${reqToken}`, {
    headers: { "x-client-key": clientKey },
  });
  expect(res.status()).toBe(200);
  return await res.json();
}

/** Waits until the WASM has hydrated the page (forms then call server functions). */
export async function hydrated(page: Page) {
  await page.locator("html[data-hydrated]").waitFor({ state: "attached", timeout: 15_000 });
}

export async function registerInPage(page: Page, who: { name: string; email?: string; whatsapp?: string; password: string }) {
  await page.getByLabel("Name").fill(who.name);
  if (who.email) await page.getByLabel("Email address").fill(who.email);
  if (who.whatsapp) await page.getByLabel("WhatsApp number").fill(who.whatsapp);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Create account" }).click();
}

export async function signInInPage(page: Page, identifier: string, password: string) {
  await page.getByLabel("Email or WhatsApp number").fill(identifier);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
