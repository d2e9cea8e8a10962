import { defineConfig, devices } from "@playwright/test";

// The server is started by the test command (Makefile: `make test`) on a fresh database;
// FYPASS_BASE_URL points at it. Debian's Chromium is used: Playwright cannot download
// browsers on these machines (see README, "Tests").
const baseURL = process.env.FYPASS_BASE_URL ?? "http://localhost:3000";
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

export default defineConfig({
  testDir: "./tests",
  reporter: "list",
  timeout: 30_000,
  retries: 0,
  workers: 2,
  use: {
    baseURL,
    launchOptions: chromium,
    trace: "off",
  },
  projects: [
    { name: "desktop", use: { viewport: { width: 1280, height: 800 } } },
    { name: "phone", use: { ...devices["Pixel 7"], launchOptions: chromium } },
  ],
});
