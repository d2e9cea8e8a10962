import { expect, test } from "@playwright/test";

// Every code of the source's Error Code List (seed/000), grouped as there.
const seedCodes: Record<string, string[]> = {
  Clients: [
    "CLIENT_CLOSED_REQUEST",
    "CLIENT_ACCOUNT_INACTIVE",
    "CLIENT_ACCOUNT_SUSPENDED",
    "CLIENT_ACCOUNT_DELETED",
    "UNITSYSTEM00001",
    "UNITSYSTEM00002",
  ],
  Users: [
    "USER_NOT_FOUND",
    "INVALID_PASSWORD",
    "USER_NOT_ACTIVE",
    "USER_SUSPENDED",
    "USER_DELETED",
    "FAILED_UPDATE_USER_TOKEN",
  ],
  Others: ["REQUEST_TIMEOUT", "DUPLICATE_KEY", "INVALID_OBJECT_ID"],
};

test("the Error Code List shows every seed code in its group, with a solution", async ({ page }) => {
  await page.goto("/docs/errors");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Error Code List");
  for (const [group, codes] of Object.entries(seedCodes)) {
    const section = page.locator("section.error-group", {
      has: page.getByRole("heading", { level: 2, name: group }),
    });
    for (const code of codes) {
      const entry = section.locator(`[id="${code}"]`);
      await expect(entry).toBeVisible();
      await expect(entry.locator(".solution")).toContainText("Solution:");
    }
  }
});

test("after hydration, the filter narrows the list as you type", async ({ page }) => {
  await page.goto("/docs/errors");
  // The WASM has loaded when the hydrated input reacts; typing before that does nothing.
  const filter = page.getByRole("searchbox", { name: "Filter codes" });
  await expect(async () => {
    await filter.fill("");
    await filter.fill("SUSPENDED");
    await expect(page.locator('[id="CLIENT_ACCOUNT_INACTIVE"]')).toBeHidden({ timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(page.locator('[id="CLIENT_ACCOUNT_SUSPENDED"]')).toBeVisible();
  await expect(page.locator('[id="USER_SUSPENDED"]')).toBeVisible();
  await filter.fill("404");
  await expect(page.locator('[id="USER_NOT_FOUND"]')).toBeVisible();
  await expect(page.locator('[id="INVALID_PASSWORD"]')).toBeHidden();
  await filter.fill("");
  await expect(page.locator('[id="INVALID_PASSWORD"]')).toBeVisible();
});

test("the API guide explains base URL, headers and client keys, and links the error list", async ({ page, baseURL }) => {
  await page.goto("/docs");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("API Information");
  await expect(page.locator("#base-url + pre")).toHaveText(`${baseURL}/api/v1`);
  await expect(page.getByText("x-client-key").first()).toBeVisible();
  await page.getByRole("link", { name: "Error Code List" }).first().click();
  await expect(page).toHaveURL(/\/docs\/errors$/);
});

test("an unknown API route is JSON NOT_FOUND, an unknown page a 404 page", async ({ page, request }) => {
  const api = await request.get("/api/v1/nope");
  expect(api.status()).toBe(404);
  expect(await api.json()).toMatchObject({ code: "NOT_FOUND" });
  const res = await page.goto("/nope");
  expect(res?.status()).toBe(404);
  await expect(page.getByText("NOT_FOUND")).toBeVisible();
});
