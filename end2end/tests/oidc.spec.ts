import { test, expect, Page, Browser } from "@playwright/test";
import * as client from "openid-client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { uniqueEmail, registerInPage, signInInPage } from "./helpers";

// fypass as an OpenID Connect provider, driven by a real relying-party library
// (openid-client), the person signing in in Chromium through the hosted pages, with
// JavaScript on and off. end2end/run.sh creates the clients.
const issuer = new URL(process.env.FYPASS_BASE_URL ?? "http://localhost:3000");
const clientId = process.env.FYPASS_TEST_OIDC_ID ?? "";
const clientSecret = process.env.FYPASS_TEST_OIDC_KEY ?? "";
const tvId = process.env.FYPASS_TEST_TV_ID ?? "";
const rsaId = process.env.FYPASS_TEST_RSA_ID ?? "";
const rsaSecret = process.env.FYPASS_TEST_RSA_KEY ?? "";
const callback = "https://rp.example/cb";
const insecure = { execute: [client.allowInsecureRequests] };

/** A person registered on the hosted pages (outside any app). */
async function person(browser: Browser) {
  const who = { name: "Nia", email: uniqueEmail("oidc"), password: "correct horse battery" };
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/fypass/register");
  await registerInPage(page, who);
  await context.close();
  return who;
}

/** Follows the browser to the app's callback (which the test answers itself). */
async function callbackUrl(page: Page): Promise<URL> {
  await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 20_000 });
  return new URL(page.url());
}

for (const javaScriptEnabled of [true, false]) {
  test(`openid-client signs a person in with PKCE, refreshes, revokes and logs out (JavaScript ${javaScriptEnabled ? "on" : "off"})`, async ({ browser }) => {
    const who = await person(browser);
    const config = await client.discovery(issuer, clientId, clientSecret, undefined, insecure);
    expect(config.serverMetadata().issuer).toBe(issuer.origin);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: callback,
      scope: "openid profile email offline_access",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });

    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    // The app's callback is answered here (rp.example does not exist), for every page.
    await context.route(/^https:\/\/rp\.example\//, (route) => route.fulfill({ status: 200, body: "the app" }));
    await page.goto(url.href);
    await signInInPage(page, who.email, who.password);
    // A first sign-in here is offered a passkey, so the page waits for the person to go on.
    await page.getByRole("link", { name: "Continue to OIDC app" }).click();
    const back = await callbackUrl(page);

    // The library checks state, iss, the code exchange, and the ID token against the JWKS.
    const tokens = await client.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims.email).toBe(who.email);
    expect(claims.amr).toEqual(["pwd"]);
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info.name).toBe("Nia");

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()!.sub).toBe(claims.sub);
    const active = await client.tokenIntrospection(config, refreshed.access_token);
    expect(active.active).toBe(true);
    await client.tokenRevocation(config, refreshed.refresh_token!);
    const revoked = await client.tokenIntrospection(config, refreshed.access_token);
    expect(revoked.active).toBe(false);

    // A second app sign-in in the same browser: single sign-on, no form. (Playwright does
    // not route a navigation's redirect to another host, so the browser's own request
    // context, with its cookies, reads where fypass sends it.)
    const sso = await context.request.get(client.buildAuthorizationUrl(config, {
      redirect_uri: callback, scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
    }).href, { maxRedirects: 0 });
    expect(sso.status()).toBe(303);
    expect(new URL(sso.headers()["location"]).searchParams.get("code")).toBeTruthy();

    // RP-initiated logout with the ID token as the hint: back to the app, signed out.
    const logout = client.buildEndSessionUrl(config, {
      id_token_hint: refreshed.id_token!,
      post_logout_redirect_uri: callback,
      state: "bye",
    });
    const out = await context.request.get(logout.href, { maxRedirects: 0 });
    expect(out.status()).toBe(303);
    expect(new URL(out.headers()["location"]).searchParams.get("state")).toBe("bye");
    await page.goto(url.href);
    await expect(page.getByLabel("Password")).toBeVisible();
    await context.close();
  });
}

test("a TV polls with openid-client while a person completes its code on the page", async ({ browser }) => {
  const who = await person(browser);
  const config = await client.discovery(issuer, tvId, undefined, client.None(), insecure);
  const device = await client.initiateDeviceAuthorization(config, { scope: "openid profile" });
  expect(device.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
  const polling = client.pollDeviceAuthorizationGrant(config, device);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(device.verification_uri_complete!);
  await signInInPage(page, who.email, who.password);
  const tokens = await polling;
  expect(tokens.claims()!.name).toBe("Nia");
  await context.close();
});

test("a client set to RS256 gets ID tokens an RSA key of the JWKS signed, checked with jose", async ({ browser }) => {
  const who = await person(browser);
  const config = await client.discovery(issuer, rsaId, rsaSecret, undefined, insecure);
  expect(config.serverMetadata().id_token_signing_alg_values_supported).toEqual(["ES256", "RS256"]);
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: callback,
    scope: "openid email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    nonce,
    login_hint: who.email,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await context.route(/^https:\/\/rp\.example\//, (route) => route.fulfill({ status: 200, body: "the app" }));
  await page.goto(url.href);
  // login_hint fills in who the app expects.
  await expect(page.getByLabel("Email or WhatsApp number")).toHaveValue(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("link", { name: "Continue to RSA app" }).click();
  const back = await callbackUrl(page);
  const tokens = await client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
    issuer: issuer.origin,
    audience: rsaId,
    algorithms: ["RS256"],
  });
  expect(protectedHeader.alg).toBe("RS256");
  expect(payload.email).toBe(who.email);
  await context.close();
});
