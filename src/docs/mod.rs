//! The documentation pages: `/docs` (API Information), `/docs/api` (every endpoint, from
//! the OpenAPI document; `reference`) and `/docs/errors` (the Error Code List, generated
//! from [`ErrorCode`]).

#[cfg(feature = "ssr")]
mod reference;

use crate::{
    error::{ApiError, ErrorCode, ErrorGroup},
    ui::ErrorPanel,
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The deployment facts the docs quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInfo {
    pub public_url: String,
    pub login_ttl_secs: u64,
    pub token_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub request_timeout_ms: u64,
    pub body_limit_bytes: usize,
    pub header_timeout_secs: u64,
    pub max_connections: usize,
    pub registrations_per_hour: i64,
    /// `off`, `optional` or `required`.
    pub verification: String,
    /// The channels configured (`email`, `whatsapp`).
    pub channels: Vec<String>,
    /// Attempts before the outbox gives a message up.
    pub delivery_attempts: i64,
    /// Whether passkeys work at this deployment's public URL.
    pub passkeys: bool,
    /// Each grant and the routes that require it.
    pub grants: Vec<GrantUse>,
}

/// A grant and the routes (`GET /api/v1/...`) that require it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantUse {
    pub grant: String,
    pub routes: Vec<String>,
}

/// Deployment facts for the pages (an internal route, not part of the REST API).
#[server(prefix = "/_app", endpoint = "site", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_site_info() -> Result<SiteInfo, ApiError> {
    let state = crate::request::state()?;
    let config = state.config.clone();
    let doc = crate::api::openapi::document(&config.public_origin());
    Ok(SiteInfo {
        grants: reference::grant_uses(&doc),
        public_url: config.public_origin(),
        login_ttl_secs: config.login_ttl_secs,
        token_ttl_secs: config.token_ttl_secs,
        refresh_ttl_secs: config.refresh_ttl_secs,
        request_timeout_ms: config.request_timeout_ms,
        body_limit_bytes: config.body_limit_bytes,
        header_timeout_secs: config.header_timeout_secs,
        max_connections: config.max_connections,
        registrations_per_hour: config.registrations_per_hour,
        verification: config.verification.clone(),
        delivery_attempts: crate::courier::outbox::MAX_ATTEMPTS,
        passkeys: state.webauthn.is_some(),
        channels: state
            .courier
            .channels()
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
    })
}

/// The REST API as `/docs/api` shows it (built from `/api/openapi.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    pub endpoints: Vec<Endpoint>,
    /// Each schema's name and JSON.
    pub schemas: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub grant: Option<String>,
    pub auth: String,
    pub params: Vec<Parameter>,
    pub body: Option<String>,
    pub body_required: bool,
    pub example: Option<String>,
    pub replies: Vec<Reply>,
    pub curl: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub status: u16,
    pub description: String,
    pub schema: Option<String>,
    /// The error codes of an error reply.
    pub codes: Vec<String>,
}

/// The API reference, from the OpenAPI document (an internal route of the docs page).
#[server(prefix = "/_app", endpoint = "api-reference", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_api_reference() -> Result<ApiReference, ApiError> {
    let config = crate::request::state()?.config;
    let doc = crate::api::openapi::document(&config.public_origin());
    Ok(reference::reference(&doc))
}

#[component]
pub fn ApiInfoPage() -> impl IntoView {
    let site = OnceResource::new_blocking(get_site_info());
    view! {
        <Title text="API Information" />
        <article class="doc">
            <h1>"API Information"</h1>
            <p class="lead">
                "Apps call the fypass REST API with their client key. People never type a "
                "password into an app: the app starts a login, sends the person to fypass, and "
                "polls for the outcome."
            </p>
            <nav class="doc-links" aria-label="Documentation">
                <a href="/docs/api">"Endpoints and schemas"</a>
                <a href="/docs/errors">"Error Code List"</a>
                <a href="/api/openapi.json">"OpenAPI document"</a>
            </nav>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || site.get().map(|info| match info {
                    Ok(info) => view! { <ApiInfo info /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                })}
            </Suspense>
        </article>
    }
}

#[component]
fn ApiInfo(info: SiteInfo) -> impl IntoView {
    let base = format!("{}/api/v1", info.public_url);
    let curl = format!("curl -H \"x-client-key: $FYPASS_KEY\" {base}/clients/info");
    view! {
        <section>
            <h2 id="base-url">"Base URL"</h2>
            <pre><code>{base.clone()}</code></pre>
        </section>
        <section>
            <h2 id="headers">"Headers"</h2>
            <table class="table">
                <thead><tr><th>"Header"</th><th>"When"</th></tr></thead>
                <tbody>
                    <tr><td><code>"x-client-key"</code></td><td>"Every client route: the app's key (" <code>"fyk_…"</code> ")."</td></tr>
                    <tr><td><code>"Authorization: Bearer …"</code></td><td>"Routes acting for a signed-in user: the access token (" <code>"fyp_…"</code> ") from the login flow."</td></tr>
                    <tr><td><code>"Content-Type: application/json"</code></td><td>"Every request with a body."</td></tr>
                    <tr><td><code>"x-request-id"</code></td><td>"Optional. Echoed on the response (one is generated if absent); quote it to the admin."</td></tr>
                </tbody>
            </table>
        </section>
        <section>
            <h2 id="conventions">"Conventions"</h2>
            <ul>
                <li>"Bodies are JSON with " <code>"camelCase"</code> " fields, in UTF-8, at most " {info.body_limit_bytes / 1024} " KiB."</li>
                <li>"Ids are UUIDs (version 7), lowercase and hyphenated. Times are RFC 3339 in UTC."</li>
                <li>"A success is a 2xx status with the resource itself as the body."</li>
                <li>"An error is a non-2xx status with " <code>"{ \"code\", \"message\" }"</code> " (and " <code>"details"</code> " listing each invalid field); see the " <a href="/docs/errors">"Error Code List"</a> "."</li>
                <li>"A request still running after " {info.request_timeout_ms} " ms is answered " <code>"REQUEST_TIMEOUT"</code> " and nothing of it is saved."</li>
                <li>"API replies carry " <code>"Cache-Control: no-store"</code> "."</li>
            </ul>
            <h3>"Order of checks"</h3>
            <p>"On a client route, in this order: the client key, the client's status, the endpoint grant, the input, the user's token, then the operation. The first failing check is the error you get."</p>
        </section>
        <section>
            <h2 id="clients">"Client keys, grants and statuses"</h2>
            <p>
                "The admin creates each app's client with " <code>"fypass client create"</code>
                ". Its key (" <code>"fyk_"</code> " followed by 43 characters) is shown once, at creation or "
                <code>"fypass client rotate-key"</code> "; fypass stores only its SHA-256 hash. A rotated key stops working at once."
            </p>
            <table class="table">
                <thead><tr><th>"Grant"</th><th>"Allows"</th></tr></thead>
                <tbody>
                    {info.grants.iter().map(|g| {
                        let routes = if g.grant == "*" {
                            "every endpoint above".to_string()
                        } else {
                            g.routes.join(", ")
                        };
                        view! { <tr><td><code>{g.grant.clone()}</code></td><td>{routes}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
            <p>
                "A client's status is " <code>"active"</code> ", " <code>"inactive"</code> ", "
                <code>"suspended"</code> " or " <code>"deleted"</code>
                "; only an active client may call the API. Status, grant and key changes take effect within a few seconds, also while the server runs."
            </p>
        </section>
        <section>
            <h2 id="login-flow">"The login flow"</h2>
            <p>"Apps never see a password. The flow has the shape of the OAuth device flow (RFC 8628):"</p>
            <ol class="steps">
                <li><strong>"Start."</strong> " The app calls " <a href="/docs/api#startLogin"><code>"POST /api/v1/users/login"</code></a> " (grant " <code>"users.login"</code> ") and gets a " <code>"reqToken"</code> ", the fypass " <code>"url"</code> ", " <code>"expiresAt"</code> " (" {info.login_ttl_secs / 60} " minutes) and the polling " <code>"interval"</code> "."</li>
                <li><strong>"Hand over."</strong> " The app opens " <code>"url"</code> " in a browser, or shows " <code>"/fypass/status?reqToken=…"</code> ", whose QR code the person scans with their phone."</li>
                <li><strong>"Sign in."</strong> " The person signs in with their email address or WhatsApp number, or registers. A browser already signed in to fypass offers \"Continue as …\" instead."</li>
                <li><strong>"Poll."</strong> " The app calls " <a href="/docs/api#getLoginStatus"><code>"GET /api/v1/users/login-status?reqToken=…"</code></a> " every " <code>"interval"</code> " seconds: " <code>"PENDING"</code> ", then " <code>"LOGGED_IN"</code> " or " <code>"REGISTERED"</code> " (or " <code>"EXPIRED"</code> ")."</li>
                <li><strong>"Collect."</strong> " The first poll after completion carries " <code>"user"</code> ", " <code>"accessToken"</code> " (valid " {duration(info.token_ttl_secs)} ") and " <code>"refreshToken"</code> " (valid " {duration(info.refresh_ttl_secs)} "); later polls never do."</li>
                <li><strong>"Act for the user."</strong> " The app sends " <code>"Authorization: Bearer <accessToken>"</code> " where a route acts for the user, such as Save Device, and keeps the person signed in with " <a href="#tokens">"its tokens"</a> "."</li>
            </ol>
        </section>
        <TokensGuide info=info.clone() />
        <CodesGuide info=info.clone() />
        <PasskeysGuide passkeys=info.passkeys />
        <AbusePolicy info=info.clone() />
        <section>
            <h2 id="try">"Try it"</h2>
            <pre><code>{curl}</code></pre>
        </section>
    }
}

/// `secs` as people say it: "1 hour", "30 days", "10 minutes".
fn duration(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 && s > 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 && s > 0 => (s / 3600, "hour"),
        s if s % 60 == 0 && s > 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// An app's tokens from sign-in to sign-out, step by step with curl.
#[component]
fn TokensGuide(info: SiteInfo) -> impl IntoView {
    let base = format!("{}/api/v1", info.public_url);
    let key = "-H \"x-client-key: $FYPASS_KEY\"";
    let steps = [
        (
            "Start a login and send the person to its url",
            format!(
                "curl -X POST {key} {base}/users/login\n# → {{ \"reqToken\": \"fyr_…\", \"url\": \"…\", \"userCode\": \"BDFG-HJKL\", … }}"
            ),
        ),
        (
            "Poll until it is done; the first answer after that carries the tokens, once",
            format!(
                "curl {key} \"{base}/users/login-status?reqToken=$REQ_TOKEN\"\n# → {{ \"status\": \"LOGGED_IN\", \"accessToken\": \"fyp_…\", \"refreshToken\": \"fyt_…\", … }}"
            ),
        ),
        (
            "Act for the person with the access token",
            format!("curl {key} -H \"Authorization: Bearer $ACCESS_TOKEN\" {base}/users/me"),
        ),
        (
            "When it expires (UNAUTHORIZED), trade the refresh token for a new pair, and keep the new refresh token: the old one stops working",
            format!(
                "curl -X POST {key} -H 'content-type: application/json' \\\n  -d \"{{\\\"refreshToken\\\": \\\"$REFRESH_TOKEN\\\"}}\" {base}/users/token"
            ),
        ),
        (
            "The app's back end asks whether a token works, and for whom",
            format!(
                "curl -X POST {key} -H 'content-type: application/json' \\\n  -d \"{{\\\"token\\\": \\\"$ACCESS_TOKEN\\\"}}\" {base}/users/introspect\n# → {{ \"active\": true, \"tokenType\": \"access\", \"userId\": \"…\", \"expiresAt\": \"…\" }}, or {{ \"active\": false }}"
            ),
        ),
        (
            "Sign out: this sign-in's tokens stop working (add \"everywhere\": true for all of the person's sign-ins in this app)",
            format!(
                "curl -X POST {key} -H \"Authorization: Bearer $ACCESS_TOKEN\" {base}/users/logout"
            ),
        ),
    ];
    view! {
        <section>
            <h2 id="tokens">"Tokens"</h2>
            <p>
                "An access token (" <code>"fyp_…"</code> ") works for " {duration(info.token_ttl_secs)} "; a refresh token (" <code>"fyt_…"</code> ") for "
                {duration(info.refresh_ttl_secs)} ", and each refresh gives a new one for as long, so a person stays signed in while the app is used. "
                "A refresh token works once: presenting one that was already traded revokes every token of that sign-in (someone else holds a copy). "
                "Tokens stop working at once when the person signs out, when their status changes, when the device they are bound to is removed, and when they change their password. "
                "The grants: " <code>"users.token"</code> " (refresh, logout), " <code>"users.read"</code> " (me, introspect)."
            </p>
            <ol class="steps">
                {steps.into_iter().map(|(what, curl)| view! {
                    <li><p>{what}</p><pre><code>{curl}</code></pre></li>
                }).collect_view()}
            </ol>
        </section>
    }
}

/// Passkeys: where they work, and what a person and an app see.
#[component]
fn PasskeysGuide(passkeys: bool) -> impl IntoView {
    view! {
        <section>
            <h2 id="passkeys">"Passkeys"</h2>
            <p>
                "A person adds passkeys on " <code>"/account"</code> " (named, renamed, removed; adding one to a session older than "
                {crate::passkeys::FRESH_SESSION_SECS / 60} " minutes asks for the password again), and the sign-in page offers "
                <em>"Sign in with a passkey"</em> " and passkeys in the identifier's autofill. Right after a sign-in or registration, fypass offers once to create one. "
                "A passkey sign-in completes the app's login request exactly as a password does: the same tokens, once; the same device saving and session; the same sign-in limits."
            </p>
            <ul>
                <li>"The relying party is the host of " <code>"FYPASS_PUBLIC_URL"</code> ", and its origin that URL. Browsers allow passkeys on https and on " <code>"http://localhost"</code> " only (never on an IP address): elsewhere they are off, the pages say so, and the passkey routes answer " <code>"PASSKEY_REJECTED"</code> ". "
                    {if passkeys { "They are on for this deployment." } else { "They are off for this deployment." }}</li>
                <li>"Each ceremony (a run of the browser's " <code>"navigator.credentials"</code> ") is stored in the database, used once and for at most " {crate::passkeys::CEREMONY_SECS / 60} " minutes, so any node can finish what another started and a replayed answer fails. A passkey whose sign counter goes backwards (a cloned authenticator) is refused, and so is a person who is not active. Passkeys need JavaScript; without it the sign-in page says so and keeps the password form."</li>
                <li>"Routes: " <a href="/docs/api#passkeyLoginStart"><code>"POST /api/v1/fypass/passkeys/login/start"</code></a> " and " <code>"…/finish"</code> "; the signed-in person's " <code>"/api/v1/account/passkeys"</code> " (register start and finish, list, rename, remove)."</li>
            </ul>
        </section>
    }
}

/// Recovery, sign-in codes and verification, and how codes travel.
#[component]
fn CodesGuide(info: SiteInfo) -> impl IntoView {
    use crate::codes::*;
    let channels = if info.channels.is_empty() {
        "none: messages wait in the outbox (`fypass outbox list`)".to_string()
    } else {
        info.channels.join(" and ")
    };
    view! {
        <section>
            <h2 id="codes">"Recovery, codes and verification"</h2>
            <ul>
                <li><strong>"Forgot password."</strong> " " <code>"/fypass/recover"</code> " (linked from the sign-in page) sends a code to the person's email address or WhatsApp number (" <a href="/docs/api#fypassRecovery"><code>"POST /api/v1/fypass/recovery"</code></a> "); with it they set a new password (" <a href="/docs/api#fypassRecoveryComplete"><code>"…/recovery/complete"</code></a> "). Every session and token of theirs is revoked, and the app's login request completes."</li>
                <li><strong>"Sign in with a code."</strong> " " <code>"/fypass/code"</code> " (\"Send me a code instead\") sends a code (" <a href="/docs/api#fypassCode"><code>"POST /api/v1/fypass/code"</code></a> ") that signs in instead of a password (" <a href="/docs/api#fypassCodeLogin"><code>"…/code/login"</code></a> ")."</li>
                <li><strong>"Verification."</strong> " After registering, a code goes to each email address and number given; typing it (" <a href="/docs/api#fypassVerify"><code>"POST /api/v1/fypass/verify"</code></a> ") verifies it, and " <code>"User"</code> " shows " <code>"emailVerifiedAt"</code> " / " <code>"whatsappVerifiedAt"</code> ". A code used to recover or sign in verifies its identifier too. This deployment: " <code>{info.verification.clone()}</code> " (" <code>"FYPASS_VERIFICATION"</code> ": " <code>"off"</code> ", " <code>"optional"</code> " — a step the person may skip —, or " <code>"required"</code> " — a login request completes only once one identifier is verified). An unverified email address or number does not block its real owner: whoever verifies it owns it, and other accounts' unverified claims on it are dropped. On " <code>"/account"</code> " a person changes their password, and adds or changes their email address or number, which replaces the old one only once verified."</li>
                <li><strong>"Codes."</strong> " " {CODE_DIGITS} " digits from the operating system's random generator, stored hashed, valid " {CODE_TTL_MINUTES} " minutes, single use (also when submitted twice at once), void after " {MAX_CODE_FAILURES} " wrong tries. A wrong code is " <code>"INVALID_CODE"</code> "; an expired, used or void one " <code>"CODE_EXPIRED"</code> "; only the latest code sent counts."</li>
                <li><strong>"Limits."</strong> " One code a " {SEND_COOLDOWN_SECS} " seconds and " {SENDS_PER_IDENTIFIER_HOUR} " an hour to one email address or number, " {SENDS_PER_NETWORK_HOUR} " an hour from one network (" <code>"TOO_MANY_REQUESTS"</code> " with " <code>"Retry-After"</code> "). The reply to a send is the same whether or not an account has the identifier, and nothing is sent when none has."</li>
                <li><strong>"Delivery."</strong> " A message is stored in the outbox in the same transaction as its code and delivered by a background sender on every node, with retries after 2, 4, 8, … seconds (up to half an hour, " {info.delivery_attempts} " attempts); with several nodes on one PostgreSQL each message is sent once, and a message stored before a crash is sent after the restart. Codes are never logged, and a sent message's body is not kept. Email goes over SMTP (" <code>"FYPASS_SMTP_URL"</code> ", " <code>"FYPASS_MAIL_FROM"</code> "), WhatsApp through the Cloud API's authentication template (" <code>"FYPASS_WHATSAPP_API_URL"</code> ", " <code>"FYPASS_WHATSAPP_PHONE_NUMBER_ID"</code> ", " <code>"FYPASS_WHATSAPP_TOKEN"</code> ", " <code>"FYPASS_WHATSAPP_TEMPLATE"</code> "). Configured here: " {channels} "."</li>
            </ul>
        </section>
    }
}

/// What fypass does against strangers who attack it, and what a person then sees.
#[component]
fn AbusePolicy(info: SiteInfo) -> impl IntoView {
    use crate::login::*;
    let hourly_cap = {
        // Free attempts, then delays of 1, 2, 4, … s up to the maximum, within one window.
        let window = SIGN_IN_WINDOW_MINUTES * 60;
        let (mut spent, mut attempts, mut delay) = (0, SIGN_IN_FREE_PER_ACCOUNT as u64, 1);
        while spent + delay <= window {
            spent += delay;
            attempts += 1;
            delay = (delay * 2).min(SIGN_IN_MAX_DELAY_SECS);
        }
        attempts * 60 / SIGN_IN_WINDOW_MINUTES
    };
    view! {
        <section>
            <h2 id="abuse">"Abuse resistance"</h2>
            <p>"Everything below is on by default; a refusal is " <code>"TOO_MANY_REQUESTS"</code> " (429) with a " <code>"Retry-After"</code> " header in seconds, and the page says how long to wait."</p>
            <h3 id="brute-force">"Sign-in protection"</h3>
            <ul>
                <li>"Failed sign-ins count per person (one counter, whichever of their email address or WhatsApp number is typed). The first " {SIGN_IN_FREE_PER_ACCOUNT} " in " {SIGN_IN_WINDOW_MINUTES} " minutes cost nothing; after that each attempt waits 1, 2, 4, … seconds, at most " {SIGN_IN_MAX_DELAY_SECS} " s, after the previous one. A stranger's guesses slow an account down; they never lock its owner out for longer than that. At most about " {hourly_cap} " guesses an hour reach one account (OWASP ASVS asks for no more than 100)."</li>
                <li>"One network (an IPv4 address, or an IPv6 /64) gets at most " {SIGN_IN_PER_ACCOUNT_AND_NETWORK} " failures per account and " {SIGN_IN_PER_NETWORK} " across all accounts in " {SIGN_IN_WINDOW_MINUTES} " minutes, then waits for the window to end."</li>
                <li>"A browser that signed in to the account before (it holds the person's session, or the cookie a successful sign-in leaves for 180 days) is never slowed down by others' failures; its own are capped at " {SIGN_IN_PER_TRUSTED_BROWSER} " per " {SIGN_IN_WINDOW_MINUTES} " minutes."</li>
                <li>"Each attempt takes its place before the password is checked, so parallel guesses cannot exceed a limit, and a correct password gives it back. An unknown account costs the same time as a wrong password."</li>
            </ul>
            <h3 id="registrations">"Registrations and password hashing"</h3>
            <ul>
                <li>"At most " {info.registrations_per_hour} " accounts per hour from one network, and " {REGISTRATIONS_PER_IDENTIFIER_HOUR} " attempts per hour for one email address or number, checked before anything is hashed; an email address or number already registered is refused first (" <code>"DUPLICATE_KEY"</code> ") without hashing."</li>
                <li>"Password hashing runs on one thread per core. Registrations wait behind sign-ins, may take every thread but one, and only half of the waiting places: a flood of registrations leaves other people's sign-ins working. When the places are taken, the request is refused at once (" <code>"TOO_MANY_REQUESTS"</code> ", retry after 1 s)."</li>
            </ul>
            <h3 id="user-code">"Sign-in links sent by strangers"</h3>
            <p>
                "Login (UI by fypass) returns a " <code>"userCode"</code> " (8 letters, shown " <code>"XXXX-XXXX"</code> ") for the app to display beside its link or QR code. The fypass page shows the app's name, the device it named and that code. A person who opens the page on another network than the one that started the request must first confirm that the device in front of them shows that code (RFC 8628 §5.4): someone who sends them their own app's link cannot get them to sign in to it, with a password or with one click as " <em>"Continue as …"</em> ". After " {MAX_CONFIRM_FAILURES} " wrong codes the request is void."
            </p>
            <h3 id="requests">"Login requests"</h3>
            <p>"A request whose app is no longer active cannot be completed. Once completed, the app must collect its tokens within " {info.login_ttl_secs / 60} " minutes, or the request expires unused. Expired requests, sessions, tokens and idle counters are deleted in batches every minute."</p>
            <h3 id="connections">"Connections"</h3>
            <p>"A connection must send its whole request head within " {info.header_timeout_secs} " s, and an idle keep-alive connection is closed after as long (a reverse proxy's upstream keep-alive must be shorter). At most " {info.max_connections} " connections are open at once; more wait to be accepted. A request body is at most " {info.body_limit_bytes / 1024} " KiB and must be a JSON object where the API expects one. " <code>"/metrics"</code> " is served only on its own listener (" <code>"FYPASS_METRICS_ADDR"</code> ", loopback by default), never on the public address."</p>
        </section>
    }
}

#[component]
pub fn ErrorListPage() -> impl IntoView {
    let (filter, set_filter) = signal(String::new());
    view! {
        <Title text="Error Code List" />
        <article class="doc">
            <h1>"Error Code List"</h1>
            <p class="lead">
                "When a request fails you receive a " <code>"code"</code> " and a " <code>"message"</code>
                ". The code identifies the problem when you talk to the admin; the message says it in words."
            </p>
            <pre><code>"{\n  \"code\": \"UNITSYSTEM00001\",\n  \"message\": \"Client key used in the request is not found or not registered.\"\n}"</code></pre>
            <label class="filter">
                <span>"Filter codes"</span>
                <input
                    type="search"
                    placeholder="e.g. USER or 403"
                    prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </label>
            {ErrorGroup::ALL.iter().map(|group| {
                let codes: Vec<ErrorCode> =
                    ErrorCode::ALL.iter().copied().filter(|c| c.group() == *group).collect();
                view! {
                    <section class="error-group">
                        <h2 id=group.as_str().to_lowercase()>{group.as_str()}</h2>
                        {codes.into_iter().map(|code| view! {
                            <div
                                class="error-code-entry"
                                id=code.as_str()
                                class:hidden=move || !shown(code, &filter.read())
                            >
                                <h3><code>{code.as_str()}</code> <span class="http-status">{code.status()}</span>
                                    {(!code.from_source()).then(|| view! { <span class="tag">"added by fypass"</span> })}
                                </h3>
                                <p>{code.message()}</p>
                                <p class="solution"><strong>"Solution: "</strong>{code.solution()}</p>
                            </div>
                        }).collect_view()}
                    </section>
                }
            }).collect_view()}
        </article>
    }
}

/// Whether the filter keeps `code`: digits match the HTTP status (`403`), words the code
/// or its message.
fn shown(code: ErrorCode, filter: &str) -> bool {
    let f = filter.trim().to_ascii_uppercase();
    if f.is_empty() {
        true
    } else if f.chars().all(|c| c.is_ascii_digit()) {
        code.status().to_string().starts_with(&f)
    } else {
        code.as_str().contains(&f) || code.message().to_ascii_uppercase().contains(&f)
    }
}

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = OnceResource::new_blocking(get_api_reference());
    view! {
        <Title text="Endpoints" />
        <article class="doc reference">
            <h1>"Endpoints"</h1>
            <p class="lead">
                "Every route of the REST API, generated from its "
                <a href="/api/openapi.json">"OpenAPI document"</a>
                ". Errors are " <code>"{ \"code\", \"message\" }"</code> "; see the "
                <a href="/docs/errors">"Error Code List"</a> "."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || reference.get().map(|r| match r {
                    Ok(r) => view! { <Reference reference=r /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                })}
            </Suspense>
        </article>
    }
}

#[component]
fn Reference(reference: ApiReference) -> impl IntoView {
    view! {
        <nav class="toc" aria-label="Endpoints">
            <ul>
                {reference.endpoints.iter().map(|e| view! {
                    <li>
                        <a href=format!("#{}", e.anchor)>
                            <span class=format!("method method-{}", e.method.to_lowercase())>{e.method.clone()}</span>
                            <code>{e.path.clone()}</code>
                        </a>
                    </li>
                }).collect_view()}
            </ul>
        </nav>
        {reference.endpoints.into_iter().map(|e| view! { <EndpointCard e /> }).collect_view()}
        <section>
            <h2 id="schemas">"Schemas"</h2>
            {reference.schemas.into_iter().map(|(name, json)| view! {
                <h3 id=format!("schema-{name}")>{name.clone()}</h3>
                <pre><code>{json}</code></pre>
            }).collect_view()}
        </section>
    }
}

fn schema_link(name: String) -> impl IntoView {
    view! { <a href=format!("#schema-{name}")><code>{name.clone()}</code></a> }
}

#[component]
fn EndpointCard(e: Endpoint) -> impl IntoView {
    view! {
        <section class="endpoint" id=e.anchor.clone()>
            <h2>
                <span class=format!("method method-{}", e.method.to_lowercase())>{e.method.clone()}</span>
                <code class="path">{e.path.clone()}</code>
            </h2>
            <p class="endpoint-summary">{e.summary.clone()}</p>
            {(!e.description.is_empty()).then(|| view! { <p>{e.description.clone()}</p> })}
            <dl class="facts">
                <dt>"Grant"</dt>
                <dd>{match e.grant.clone() {
                    Some(g) => view! { <code>{g}</code> }.into_any(),
                    None => view! { <span>"none"</span> }.into_any(),
                }}</dd>
                <dt>"Authentication"</dt>
                <dd>{e.auth.clone()}</dd>
            </dl>
            {(!e.params.is_empty()).then(|| view! {
                <h3>"Parameters"</h3>
                <table class="table">
                    <thead><tr><th>"Name"</th><th>"In"</th><th>"Required"</th><th>"Description"</th></tr></thead>
                    <tbody>
                        {e.params.iter().map(|p| view! {
                            <tr>
                                <td><code>{p.name.clone()}</code></td>
                                <td>{p.location.clone()}</td>
                                <td>{if p.required { "yes" } else { "no" }}</td>
                                <td>{p.description.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {e.body.clone().map(|body| view! {
                <h3>"Request body"</h3>
                <p>
                    {schema_link(body)}
                    {if e.body_required { " (JSON)" } else { " (JSON, optional)" }}
                </p>
                {e.example.clone().map(|x| view! { <pre><code>{x}</code></pre> })}
            })}
            <h3>"Responses"</h3>
            <table class="table">
                <thead><tr><th>"Status"</th><th>"Body"</th><th>"Codes / meaning"</th></tr></thead>
                <tbody>
                    {e.replies.iter().map(|r| view! {
                        <tr>
                            <td><code>{r.status}</code></td>
                            <td>{match (r.schema.clone(), r.codes.is_empty()) {
                                (Some(s), _) => schema_link(s).into_any(),
                                (None, false) => view! { <span>"error"</span> }.into_any(),
                                (None, true) => view! { <span>"none"</span> }.into_any(),
                            }}</td>
                            <td>{if r.codes.is_empty() {
                                view! { <span>{r.description.clone()}</span> }.into_any()
                            } else {
                                r.codes.iter().map(|c| view! {
                                    <a class="code-link" href=format!("/docs/errors#{c}")><code>{c.clone()}</code></a>
                                }).collect_view().into_any()
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>"Example"</h3>
            <pre><code>{e.curl.clone()}</code></pre>
        </section>
    }
}
