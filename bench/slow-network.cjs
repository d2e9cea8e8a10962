// The sign-in page and /devices on a slow phone: Chromium's "Slow 3G" (400 ms latency,
// 400 kbit/s each way) and a 4x slower CPU, no cache (a first visit). For each page and
// each run: the bytes of the first load as they crossed the network (every response of the
// page load, headers included), when the form showed (first contentful paint: the server's
// HTML, usable without JavaScript) and when the page was hydrated (`html[data-hydrated]`,
// set once every island is live), both from the start of the navigation.
//
//   node bench/slow-network.cjs BASE_URL CLIENT_KEY RUNS
//
// Prints one JSON object: { page: [{ bytes, shownMs, hydratedMs }, ...], ... }. Run by
// bench/slow-network.sh, which starts a server for it.
const path = require("path");
const { chromium } = require(path.join(__dirname, "../end2end/node_modules/@playwright/test"));

const [base, clientKey, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const password = "correct horse battery";

const launch = {
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
};

/** Records when the island script marks the page hydrated, in the page's own clock. */
const watchHydration = () => {
  // The script runs before the document has an element: watch the document itself.
  new MutationObserver((_, observer) => {
    if (document.documentElement?.hasAttribute("data-hydrated")) {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
};

async function measure(context, url) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 400, downloadThroughput: 50_000, uploadThroughput: 50_000,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
  await page.addInitScript(watchHydration);
  await page.goto(url, { waitUntil: "load", timeout: 120_000 });
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 120_000 });
  // Let late requests (none expected) finish before counting.
  await page.waitForTimeout(500);
  const timing = await page.evaluate(() => ({
    shownMs: performance.getEntriesByName("first-contentful-paint")[0]?.startTime,
    hydratedMs: window.__hydratedAt,
  }));
  await page.close();
  return { bytes, shownMs: Math.round(timing.shownMs), hydratedMs: Math.round(timing.hydratedMs) };
}

async function api(request, method, route, body) {
  const res = await request.fetch(base + route, {
    method, data: body, headers: { "x-client-key": clientKey, origin: base },
  });
  if (!res.ok()) throw new Error(`${method} ${route}: ${res.status()} ${await res.text()}`);
  return res.json();
}

(async () => {
  const browser = await chromium.launch(launch);
  const context = await browser.newContext({ baseURL: base });
  const results = { "sign-in page": [], "/devices": [] };
  // A person signed in in this browser, for /devices.
  const email = `slow-${Date.now()}@example.com`;
  await api(context.request, "POST", "/api/v1/fypass/register", { name: "Slow", email, password });
  for (let i = 0; i < runs; i++) {
    const { url } = await api(context.request, "POST", "/api/v1/users/login", {});
    // The sign-in page as a person who is not signed in sees it (a context of its own).
    const fresh = await browser.newContext({ baseURL: base });
    results["sign-in page"].push(await measure(fresh, url));
    await fresh.close();
    results["/devices"].push(await measure(context, base + "/devices"));
  }
  await browser.close();
  console.log(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
