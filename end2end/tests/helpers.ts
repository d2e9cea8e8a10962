import { APIRequestContext, Page, expect } from "@playwright/test";
import { createRequire } from "node:module";

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

/**
 * Fills in and submits the register form. A successful registration leads to the (optional)
 * verification step, which is skipped unless `verify` is set.
 */
export async function registerInPage(
  page: Page,
  who: { name: string; email?: string; whatsapp?: string; password: string },
  verify = false,
) {
  await page.getByLabel("Name").fill(who.name);
  if (who.email) await page.getByLabel("Email address").fill(who.email);
  if (who.whatsapp) await page.getByLabel("WhatsApp number").fill(who.whatsapp);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Create account" }).click();
  if (verify) return;
  const step = page.getByRole("heading", { level: 1, name: "Confirm it is you" });
  const problem = page.locator(".field-error, .error-panel").first();
  await expect(step.or(problem)).toBeVisible();
  if (await step.isVisible()) await page.getByRole("link", { name: "Skip for now" }).click();
}

export async function signInInPage(page: Page, identifier: string, password: string) {
  await page.getByLabel("Email or WhatsApp number").fill(identifier);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Waits for the newest message to `to` in maildev whose subject contains `subject`; its text. */
export async function mailed(request: APIRequestContext, to: string, subject: string): Promise<string> {
  const web = process.env.FYPASS_MAIL_WEB ?? "";
  for (let i = 0; i < 100; i++) {
    const res = await request.get(`${web}/api/email`);
    const mails = ((await res.json()) as any[]).filter(
      (m) => m.to.some((r: any) => r.address === to) && String(m.subject).includes(subject),
    );
    if (mails.length > 0) return mails[mails.length - 1].text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no "${subject}" mail to ${to}`);
}

/** Waits for the newest message to `to` in maildev whose subject contains `subject`; its code. */
export async function mailedCode(request: APIRequestContext, to: string, subject: string): Promise<string> {
  return (await mailed(request, to, subject)).match(/\b\d{6}\b/)![0];
}

/**
 * Waits for message number `after + 1` to `number` (E.164) at the Cloud API stand-in; its
 * code. (Messages go out through the outbox, a moment after the request that sends them: a
 * test that expects a second code must wait for the second message, not take the newest.)
 */
export async function whatsappCode(request: APIRequestContext, number: string, after = 0): Promise<string> {
  const digits = number.replace(/\D/g, "");
  for (let i = 0; i < 100; i++) {
    const res = await request.get(`${process.env.FYPASS_WHATSAPP_SENT}?to=${digits}`);
    const sent = (await res.json()) as any[];
    if (sent.length > after) return sent[after].template.components[0].parameters[0].text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no WhatsApp message to ${number}`);
}

const axeSource = createRequire(__filename).resolve("axe-core/axe.min.js");

/**
 * axe-core's WCAG 2.1 A and AA violations on the page as it is now (after hydration, where
 * the page has islands). The pages' Content-Security-Policy refuses an injected script: open
 * the page in a context with `bypassCSP: true` (axe is the only script that gains from it).
 */
export async function violations(page: Page) {
  if ((await page.locator("leptos-island").count()) > 0) await hydrated(page);
  await page.addScriptTag({ path: axeSource });
  const result = await page.evaluate(
    async (values) => (window as any).axe.run(document, { runOnly: { type: "tag", values } }),
    ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
  );
  return (result.violations as any[]).map((v) => ({
    rule: v.id as string,
    impact: v.impact as string,
    nodes: v.nodes.map((n: any) => n.target.join(" ")) as string[],
  }));
}
