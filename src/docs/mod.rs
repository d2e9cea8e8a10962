//! The documentation pages: `/docs` (API Information), `/docs/api` (every endpoint, from
//! the OpenAPI document; `reference`) and `/docs/errors` (the Error Code List, generated
//! from [`ErrorCode`]).

mod oidc;
#[cfg(feature = "ssr")]
mod reference;

use crate::{
    error::{ApiError, ErrorCode, ErrorGroup},
    tr,
    ui::{ErrorPanel, Prose},
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
    pub max_connections_per_address: usize,
    pub registrations_per_hour: i64,
    /// The abuse limits in force (settings).
    pub limits: crate::limits::Limits,
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
    let doc = crate::openapi::document(&config.public_origin());
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
        max_connections_per_address: config.max_connections_per_address,
        registrations_per_hour: config.registrations_per_hour,
        limits: config.limits.clone(),
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
    let doc = crate::openapi::document(&config.public_origin());
    Ok(reference::reference(&doc))
}

#[component]
pub fn ApiInfoPage() -> impl IntoView {
    let site = OnceResource::new_blocking(get_site_info());
    view! {
        <Title text=tr!(docs.info.title) />
        <article class="doc">
            <h1>{tr!(docs.info.title)}</h1>
            <p class="lead">{tr!(docs.info.lead)}</p>
            <nav class="doc-links" aria-label=tr!(docs.info.links_label)>
                <a href="/docs/api">{tr!(docs.info.link_endpoints)}</a>
                <a href="/docs/errors">{tr!(docs.info.link_errors)}</a>
                <a href="/api/openapi.json">{tr!(docs.info.link_openapi)}</a>
            </nav>
            <Suspense fallback=|| view! { <p>{tr!(common.loading)}</p> }>
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
            <h2 id="base-url">{tr!(docs.info.base_url)}</h2>
            <CodeBlock code=base.clone() />
        </section>
        <section>
            <h2 id="headers">{tr!(docs.info.headers.heading)}</h2>
            <table class="table">
                <thead><tr><th>{tr!(docs.info.headers.header)}</th><th>{tr!(docs.info.headers.when)}</th></tr></thead>
                <tbody>
                    <tr><td><code>"x-client-key"</code></td><td><Prose text=tr!(docs.info.headers.client_key) /></td></tr>
                    <tr><td><code>"Authorization: Bearer …"</code></td><td><Prose text=tr!(docs.info.headers.bearer) /></td></tr>
                    <tr><td><code>"Content-Type: application/json"</code></td><td>{tr!(docs.info.headers.content_type)}</td></tr>
                    <tr><td><code>"x-request-id"</code></td><td>{tr!(docs.info.headers.request_id)}</td></tr>
                </tbody>
            </table>
        </section>
        <section>
            <h2 id="conventions">{tr!(docs.info.conventions.heading)}</h2>
            <ul>
                <li><Prose text=tr!(docs.info.conventions.bodies, kib = info.body_limit_bytes / 1024) /></li>
                <li>{tr!(docs.info.conventions.ids)}</li>
                <li>{tr!(docs.info.conventions.success)}</li>
                <li><Prose text=tr!(docs.info.conventions.errors) /></li>
                <li><Prose text=tr!(docs.info.conventions.timeout, ms = info.request_timeout_ms) /></li>
                <li><Prose text=tr!(docs.info.conventions.cache) /></li>
                <li><Prose text=tr!(docs.info.conventions.language) /></li>
            </ul>
            <h3>{tr!(docs.info.conventions.order_heading)}</h3>
            <p>{tr!(docs.info.conventions.order)}</p>
        </section>
        <section>
            <h2 id="clients">{tr!(docs.info.clients.heading)}</h2>
            <p><Prose text=tr!(docs.info.clients.keys) /></p>
            <table class="table">
                <thead><tr><th>{tr!(docs.info.clients.grant)}</th><th>{tr!(docs.info.clients.allows)}</th></tr></thead>
                <tbody>
                    {info.grants.iter().map(|g| {
                        let routes = if g.grant == "*" {
                            tr!(docs.info.clients.every_endpoint).to_string()
                        } else {
                            g.routes.join(", ")
                        };
                        view! { <tr><td><code>{g.grant.clone()}</code></td><td>{routes}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
            <p><Prose text=tr!(docs.info.clients.statuses) /></p>
        </section>
        <section>
            <h2 id="login-flow">{tr!(docs.info.flow.heading)}</h2>
            <p>{tr!(docs.info.flow.lead)}</p>
            <ol class="steps">
                <li><Prose text=tr!(docs.info.flow.start, minutes = info.login_ttl_secs / 60) /></li>
                <li><Prose text=tr!(docs.info.flow.hand_over) /></li>
                <li><Prose text=tr!(docs.info.flow.sign_in) /></li>
                <li><Prose text=tr!(docs.info.flow.poll) /></li>
                <li><Prose text=tr!(docs.info.flow.collect, access = duration(info.token_ttl_secs), refresh = duration(info.refresh_ttl_secs)) /></li>
                <li><Prose text=tr!(docs.info.flow.act) /></li>
            </ol>
        </section>
        <TokensGuide info=info.clone() />
        <oidc::OidcGuide info=info.clone() />
        <DevicesGuide />
        <CodesGuide info=info.clone() />
        <PasskeysGuide passkeys=info.passkeys />
        <AbusePolicy info=info.clone() />
        <section>
            <h2 id="try">{tr!(docs.info.try_it)}</h2>
            <CodeBlock code=curl />
        </section>
    }
}

/// A block of code or JSON. Focusable, so that a keyboard can scroll one wider than the page
/// (WCAG 2.1.1; axe's `scrollable-region-focusable`): the arrow keys scroll it once focused.
#[component]
fn CodeBlock(#[prop(into)] code: String) -> impl IntoView {
    view! { <pre tabindex="0"><code>{code}</code></pre> }
}

/// `secs` as people say it: "1 hour", "30 days", "10 minutes" (or "1 jam", "30 hari").
fn duration(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 0 => match s / 86_400 {
            1 => tr!(docs.duration.day).to_string(),
            n => tr!(docs.duration.days, n = n),
        },
        s if s % 3600 == 0 && s > 0 => match s / 3600 {
            1 => tr!(docs.duration.hour).to_string(),
            n => tr!(docs.duration.hours, n = n),
        },
        s if s % 60 == 0 && s > 0 => match s / 60 {
            1 => tr!(docs.duration.minute).to_string(),
            n => tr!(docs.duration.minutes, n = n),
        },
        1 => tr!(docs.duration.second).to_string(),
        n => tr!(docs.duration.seconds, n = n),
    }
}

/// An app's tokens from sign-in to sign-out, step by step with curl.
#[component]
fn TokensGuide(info: SiteInfo) -> impl IntoView {
    let base = format!("{}/api/v1", info.public_url);
    let key = "-H \"x-client-key: $FYPASS_KEY\"";
    let steps = [
        (
            tr!(docs.tokens.steps.start),
            format!(
                "curl -X POST {key} {base}/users/login\n# → {{ \"reqToken\": \"fyr_…\", \"url\": \"…\", \"userCode\": \"BDFG-HJKL\", … }}"
            ),
        ),
        (
            tr!(docs.tokens.steps.poll),
            format!(
                "curl {key} \"{base}/users/login-status?reqToken=$REQ_TOKEN\"\n# → {{ \"status\": \"LOGGED_IN\", \"accessToken\": \"fyp_…\", \"refreshToken\": \"fyt_…\", … }}"
            ),
        ),
        (
            tr!(docs.tokens.steps.act),
            format!("curl {key} -H \"Authorization: Bearer $ACCESS_TOKEN\" {base}/users/me"),
        ),
        (
            tr!(docs.tokens.steps.refresh),
            format!(
                "curl -X POST {key} -H 'content-type: application/json' \\\n  -d \"{{\\\"refreshToken\\\": \\\"$REFRESH_TOKEN\\\"}}\" {base}/users/token"
            ),
        ),
        (
            tr!(docs.tokens.steps.introspect),
            format!(
                "curl -X POST {key} -H 'content-type: application/json' \\\n  -d \"{{\\\"token\\\": \\\"$ACCESS_TOKEN\\\"}}\" {base}/users/introspect\n# → {{ \"active\": true, \"tokenType\": \"access\", \"userId\": \"…\", \"expiresAt\": \"…\" }}, or {{ \"active\": false }}"
            ),
        ),
        (
            tr!(docs.tokens.steps.sign_out),
            format!(
                "curl -X POST {key} -H \"Authorization: Bearer $ACCESS_TOKEN\" {base}/users/logout"
            ),
        ),
    ];
    view! {
        <section>
            <h2 id="tokens">{tr!(docs.tokens.heading)}</h2>
            <p>
                <Prose text=tr!(
                    docs.tokens.lead,
                    access = duration(info.token_ttl_secs),
                    refresh = duration(info.refresh_ttl_secs)
                ) />
            </p>
            <ol class="steps">
                {steps.into_iter().map(|(what, curl)| view! {
                    <li><p>{what}</p><CodeBlock code=curl /></li>
                }).collect_view()}
            </ol>
            <p id="refresh-grace">
                <Prose text=tr!(docs.tokens.grace, secs = crate::tokens::GRACE_SECS) />
            </p>
        </section>
    }
}

/// Devices: how an app saves them, and whose a device is.
#[component]
fn DevicesGuide() -> impl IntoView {
    view! {
        <section>
            <h2 id="devices">{tr!(docs.devices.heading)}</h2>
            <p><Prose text=tr!(docs.devices.lead) /></p>
            <p><Prose text=tr!(docs.devices.held) /></p>
        </section>
    }
}

/// Passkeys: where they work, and what a person and an app see.
#[component]
fn PasskeysGuide(passkeys: bool) -> impl IntoView {
    view! {
        <section>
            <h2 id="passkeys">{tr!(docs.passkey_guide.heading)}</h2>
            <p>
                <Prose text=tr!(
                    docs.passkey_guide.lead,
                    minutes = crate::account::REAUTH_WINDOW_SECS / 60
                ) />
            </p>
            <ul>
                <li>
                    <Prose text=tr!(docs.passkey_guide.origin) /> " "
                    {if passkeys { tr!(docs.passkey_guide.on) } else { tr!(docs.passkey_guide.off) }}
                </li>
                <li><Prose text=tr!(docs.passkey_guide.ceremony, minutes = crate::passkeys::CEREMONY_SECS / 60) /></li>
                <li><Prose text=tr!(docs.passkey_guide.routes) /></li>
            </ul>
        </section>
    }
}

/// Recovery, sign-in codes and verification, and how codes travel.
#[component]
fn CodesGuide(info: SiteInfo) -> impl IntoView {
    use crate::codes::*;
    let channels = if info.channels.is_empty() {
        tr!(docs.recovery.no_channels).to_string()
    } else {
        info.channels.join(&format!(" {} ", tr!(docs.and)))
    };
    view! {
        <section>
            <h2 id="codes">{tr!(docs.recovery.heading)}</h2>
            <ul>
                <li><Prose text=tr!(docs.recovery.forgot) /></li>
                <li><Prose text=tr!(docs.recovery.sign_in) /></li>
                <li><Prose text=tr!(docs.recovery.verification, verification = info.verification.clone()) /></li>
                <li>
                    <Prose text=tr!(
                        docs.recovery.codes,
                        digits = CODE_DIGITS,
                        minutes = CODE_TTL_MINUTES,
                        failures = MAX_CODE_FAILURES,
                        wrong_per_network = info.limits.wrong_codes_per_network_hour
                    ) />
                </li>
                <li>
                    <Prose text=tr!(
                        docs.recovery.limits,
                        cooldown = info.limits.code_send_cooldown_secs,
                        per_identifier = info.limits.code_sends_per_identifier_hour,
                        per_network = info.limits.code_sends_per_network_hour
                    ) />
                </li>
                <li><Prose text=tr!(docs.recovery.delivery, attempts = info.delivery_attempts, channels = channels) /></li>
            </ul>
        </section>
    }
}

/// What fypass does against strangers who attack it, and what a person then sees.
#[component]
fn AbusePolicy(info: SiteInfo) -> impl IntoView {
    use crate::login::*;
    let limits = &info.limits;
    let hourly_cap = limits.sign_ins_per_account_hour();
    view! {
        <section>
            <h2 id="abuse">{tr!(docs.abuse.heading)}</h2>
            <p><Prose text=tr!(docs.abuse.lead) /></p>
            <h3 id="brute-force">{tr!(docs.abuse.sign_in_heading)}</h3>
            <ul>
                <li>
                    {tr!(
                        docs.abuse.per_person,
                        free = limits.sign_in_free_per_account,
                        window = limits.sign_in_window_minutes,
                        max_delay = limits.sign_in_max_delay_secs,
                        hourly = hourly_cap
                    )}
                </li>
                <li>
                    {tr!(
                        docs.abuse.per_network,
                        per_account = limits.sign_in_per_account_and_network,
                        per_network = limits.sign_in_per_network,
                        window = limits.sign_in_window_minutes
                    )}
                </li>
                <li>
                    {tr!(
                        docs.abuse.trusted,
                        cap = limits.sign_in_per_trusted_browser,
                        window = limits.sign_in_window_minutes
                    )}
                </li>
                <li>{tr!(docs.abuse.reserved)}</li>
            </ul>
            <h3 id="registrations">{tr!(docs.abuse.registrations_heading)}</h3>
            <ul>
                <li>
                    <Prose text=tr!(
                        docs.abuse.registrations,
                        per_hour = info.registrations_per_hour,
                        per_identifier = limits.registrations_per_identifier_hour
                    ) />
                </li>
                <li><Prose text=tr!(docs.abuse.hashing) /></li>
            </ul>
            <h3 id="user-code">{tr!(docs.abuse.user_code_heading)}</h3>
            <p><Prose text=tr!(docs.abuse.user_code, failures = MAX_CONFIRM_FAILURES) /></p>
            <h3 id="account">{tr!(docs.abuse.account_heading)}</h3>
            <ul>
                <li><Prose text=tr!(docs.abuse.account_passwords) /></li>
                <li>
                    <Prose text=tr!(
                        docs.abuse.reauth,
                        minutes = crate::account::REAUTH_WINDOW_SECS / 60
                    ) />
                </li>
                <li><Prose text=tr!(docs.abuse.everywhere) /></li>
            </ul>
            <h3 id="second-factor">{tr!(docs.abuse.second_factor_heading)}</h3>
            <ul>
                <li><Prose text=tr!(docs.abuse.second_factor) /></li>
                <li><Prose text=tr!(docs.abuse.second_factor_abuse, failures = crate::factors::MAX_STEP_FAILURES) /></li>
                <li><Prose text=tr!(docs.abuse.security_centre, days = crate::activity::KEEP_DAYS) /></li>
            </ul>
            <h3 id="requests">{tr!(docs.abuse.requests_heading)}</h3>
            <p>{tr!(docs.abuse.requests, minutes = info.login_ttl_secs / 60)}</p>
            <h3 id="connections">{tr!(docs.abuse.connections_heading)}</h3>
            <p>
                <Prose text=tr!(
                    docs.abuse.connections,
                    secs = info.header_timeout_secs,
                    max = info.max_connections,
                    per_address = info.max_connections_per_address,
                    kib = info.body_limit_bytes / 1024
                ) />
            </p>
        </section>
    }
}

#[component]
pub fn ErrorListPage() -> impl IntoView {
    view! {
        <Title text=tr!(docs.error_list.title) />
        <article class="doc">
            <h1>{tr!(docs.error_list.title)}</h1>
            <p class="lead"><Prose text=tr!(docs.error_list.lead) /></p>
            <CodeBlock code="{\n  \"code\": \"UNITSYSTEM00001\",\n  \"message\": \"Client key used in the request is not found or not registered.\"\n}" />
            <ErrorFilter />
            {ErrorGroup::ALL.iter().map(|group| {
                let codes: Vec<ErrorCode> =
                    ErrorCode::ALL.iter().copied().filter(|c| c.group() == *group).collect();
                view! {
                    <section class="error-group">
                        <h2 id=group.as_str().to_lowercase()>{group_name(*group)}</h2>
                        {codes.into_iter().map(|code| view! {
                            <div
                                class="error-code-entry"
                                id=code.as_str()
                                data-status=code.status()
                                data-message=code.message()
                            >
                                <h3><code>{code.as_str()}</code> <span class="http-status">{code.status()}</span>
                                    {(!code.from_source()).then(|| view! { <span class="tag">{tr!(docs.error_list.added)}</span> })}
                                </h3>
                                <p>{code.message()}</p>
                                <p class="solution"><strong>{tr!(docs.error_list.solution)} " "</strong>{code.solution()}</p>
                            </div>
                        }).collect_view()}
                    </section>
                }
            }).collect_view()}
        </article>
    }
}

/// The name of `group` in the page's language (its anchor stays `group.as_str()`).
fn group_name(group: ErrorGroup) -> &'static str {
    match group {
        ErrorGroup::Clients => tr!(docs.error_list.groups.clients),
        ErrorGroup::Users => tr!(docs.error_list.groups.users),
        ErrorGroup::Others => tr!(docs.error_list.groups.others),
    }
}

/// The filter over the server-rendered list: an island that only hides and shows the
/// entries (each carries its code, status and message), so the list itself, with every
/// message and solution, stays HTML and out of the WASM.
#[cfg_attr(hydrates = "ErrorFilter", island)]
#[cfg_attr(not(hydrates = "ErrorFilter"), component)]
fn ErrorFilter() -> impl IntoView {
    let filter = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        filter_entries(&event_target_value(&ev));
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <label class="filter">
            <span>{tr!(docs.error_list.filter)}</span>
            <input type="search" placeholder=tr!(docs.error_list.filter_placeholder) on:input=filter />
        </label>
    }
}

/// Hides the entries the filter does not keep.
#[cfg(feature = "hydrate")]
fn filter_entries(filter: &str) {
    use wasm_bindgen::JsCast;
    let Ok(entries) = document().query_selector_all(".error-code-entry") else {
        return;
    };
    for i in 0..entries.length() {
        let Some(entry) = entries
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        else {
            continue;
        };
        let attr = |name: &str| entry.get_attribute(name).unwrap_or_default();
        let keep = shown(
            &entry.id(),
            &attr("data-status"),
            &attr("data-message"),
            filter,
        );
        let _ = entry.class_list().toggle_with_force("hidden", !keep);
    }
}

/// Whether the filter keeps an entry (its `code`, HTTP `status` and `message`): digits
/// match the status (`403`), words the code or its message.
#[cfg(any(feature = "hydrate", test))]
fn shown(code: &str, status: &str, message: &str, filter: &str) -> bool {
    let f = filter.trim().to_ascii_uppercase();
    if f.is_empty() {
        true
    } else if f.chars().all(|c| c.is_ascii_digit()) {
        status.starts_with(&f)
    } else {
        code.contains(&f) || message.to_ascii_uppercase().contains(&f)
    }
}

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = OnceResource::new_blocking(get_api_reference());
    view! {
        <Title text=tr!(docs.endpoints.title) />
        <article class="doc reference">
            <h1>{tr!(docs.endpoints.title)}</h1>
            <p class="lead"><Prose text=tr!(docs.endpoints.lead) /></p>
            <Suspense fallback=|| view! { <p>{tr!(common.loading)}</p> }>
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
        <nav class="toc" aria-label=tr!(docs.endpoints.toc_label)>
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
            <h2 id="schemas">{tr!(docs.endpoints.schemas)}</h2>
            {reference.schemas.into_iter().map(|(name, json)| view! {
                <h3 id=format!("schema-{name}")>{name.clone()}</h3>
                <CodeBlock code=json />
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
                <dt>{tr!(docs.endpoints.grant)}</dt>
                <dd>{match e.grant.clone() {
                    Some(g) => view! { <code>{g}</code> }.into_any(),
                    None => view! { <span>{tr!(docs.endpoints.none)}</span> }.into_any(),
                }}</dd>
                <dt>{tr!(docs.endpoints.authentication)}</dt>
                <dd>{e.auth.clone()}</dd>
            </dl>
            {(!e.params.is_empty()).then(|| view! {
                <h3>{tr!(docs.endpoints.parameters)}</h3>
                <table class="table">
                    <thead>
                        <tr>
                            <th>{tr!(docs.endpoints.name)}</th>
                            <th>{tr!(docs.endpoints.location)}</th>
                            <th>{tr!(docs.endpoints.required)}</th>
                            <th>{tr!(docs.endpoints.description)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {e.params.iter().map(|p| view! {
                            <tr>
                                <td><code>{p.name.clone()}</code></td>
                                <td>{p.location.clone()}</td>
                                <td>{if p.required { tr!(docs.endpoints.yes) } else { tr!(docs.endpoints.no) }}</td>
                                <td>{p.description.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {e.body.clone().map(|body| view! {
                <h3>{tr!(docs.endpoints.request_body)}</h3>
                <p>
                    {schema_link(body)} " "
                    {if e.body_required { tr!(docs.endpoints.body_json) } else { tr!(docs.endpoints.body_json_optional) }}
                </p>
                {e.example.clone().map(|x| view! { <CodeBlock code=x /> })}
            })}
            <h3>{tr!(docs.endpoints.responses)}</h3>
            <table class="table">
                <thead>
                    <tr>
                        <th>{tr!(docs.endpoints.status)}</th>
                        <th>{tr!(docs.endpoints.body)}</th>
                        <th>{tr!(docs.endpoints.codes)}</th>
                    </tr>
                </thead>
                <tbody>
                    {e.replies.iter().map(|r| view! {
                        <tr>
                            <td><code>{r.status}</code></td>
                            <td>{match (r.schema.clone(), r.codes.is_empty()) {
                                (Some(s), _) => schema_link(s).into_any(),
                                (None, false) => view! { <span>{tr!(docs.endpoints.error)}</span> }.into_any(),
                                (None, true) => view! { <span>{tr!(docs.endpoints.none)}</span> }.into_any(),
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
            <h3>{tr!(docs.endpoints.example)}</h3>
            <CodeBlock code=e.curl.clone() />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn the_error_filter_matches_status_digits_or_words_of_code_and_message() {
        let (code, status, message) = ("USER_NOT_FOUND", "404", "User is not found.");
        assert!(shown(code, status, message, ""));
        assert!(shown(code, status, message, "40"));
        assert!(!shown(code, status, message, "403"));
        assert!(shown(code, status, message, "not_found"));
        assert!(shown(code, status, message, " is not "));
        assert!(!shown(code, status, message, "suspended"));
    }
}
