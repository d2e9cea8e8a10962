import { Browser, Page, expect, test } from "@playwright/test";
import { createRequire } from "node:module";
import { hydrated, registerInPage, startLogin, uniqueEmail } from "./helpers";

// Every page fypass hosts, checked with axe-core against WCAG 2.1 A and AA, so a new page
// (or a change to an old one) stays usable with a keyboard and a screen reader. The pages'
// Content-Security-Policy refuses an injected script, so the context bypasses CSP: axe is
// the only script that gains from it.
const axeSource = createRequire(__filename).resolve("axe-core/axe.min.js");
const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** axe's violations on the page as it is now (after hydration, where the page has islands). */
async function violations(page: Page) {
  if ((await page.locator("leptos-island").count()) > 0) await hydrated(page);
  await page.addScriptTag({ path: axeSource });
  const result = await page.evaluate(
    async (values) => (window as any).axe.run(document, { runOnly: { type: "tag", values } }),
    tags,
  );
  return (result.violations as any[]).map((v) => ({
    rule: v.id,
    impact: v.impact,
    nodes: v.nodes.map((n: any) => n.target.join(" ")),
  }));
}

async function axeContext(browser: Browser) {
  return browser.newContext({ bypassCSP: true });
}

test("every hosted page has no WCAG 2.1 A/AA violations (axe-core)", async ({ browser, request }) => {
  test.setTimeout(120_000);
  const context = await axeContext(browser);
  const page = await context.newPage();
  const found: Record<string, unknown> = {};
  const check = async (name: string, path?: string) => {
    if (path) await page.goto(path);
    const v = await violations(page);
    if (v.length > 0) found[name] = v;
  };

  // The developer pages.
  await check("docs", "/docs");
  await check("errors", "/docs/errors");
  await check("api", "/docs/api");

  // An app's login request, before anyone signs in.
  const { url, reqToken } = await startLogin(request, {
    deviceInfo: { deviceId: `a11y-${Date.now()}`, platform: "android", deviceName: "Test phone" },
  });
  const q = `reqToken=${reqToken}`;
  await check("sign-in", url);
  await check("register", `/fypass/register?${q}`);
  await check("status", `/fypass/status?${q}`);
  await check("code", `/fypass/code?${q}`);
  await check("recover", `/fypass/recover?${q}`);

  // Registering leads to the verification step, then the signed-in pages.
  await page.goto(`/fypass/register?${q}`);
  await hydrated(page);
  await registerInPage(page, { name: "Ayu", email: uniqueEmail("ayu"), password: "correct horse battery" }, true);
  await expect(page.getByRole("heading", { level: 1, name: "Confirm it is you" })).toBeVisible();
  await check("verify step");
  await check("account", "/account");
  await check("devices", "/devices");

  // A second request in this browser: "Continue as".
  const second = await startLogin(request);
  await page.goto(second.url);
  await expect(page.getByRole("button", { name: /Continue as Ayu/ })).toBeVisible();
  await check("continue as");

  await context.close();
  expect(found).toEqual({});
});
