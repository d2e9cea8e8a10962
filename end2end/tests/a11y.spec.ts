import { Browser, expect, test } from "@playwright/test";
import { hydrated, registerInPage, startLogin, uniqueEmail, violations } from "./helpers";

// Every page fypass hosts, checked with axe-core against WCAG 2.1 A and AA, so a new page
// (or a change to an old one) stays usable with a keyboard and a screen reader. The pages'
// Content-Security-Policy refuses an injected script, so the context bypasses CSP: axe is
// the only script that gains from it.
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
