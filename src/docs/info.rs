//! `/docs` (API Information): the deployment's facts, the conventions, the login flow and
//! the guides (tokens, OpenID Connect, devices, codes, passkeys, abuse).

use super::{CodeBlock, SiteInfo, oidc};
use crate::{
    error::ApiError,
    tr,
    ui::{ErrorPanel, Prose},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use leptos_meta::Title;

/// Deployment facts for the pages (an internal route, not part of the REST API).
#[server(prefix = "/_app", endpoint = "site", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_site_info() -> Result<SiteInfo, ApiError> {
    let state = crate::request::state()?;
    let config = state.config.clone();
    let doc = crate::openapi::document(&config.public_origin());
    Ok(SiteInfo {
        grants: super::reference::grant_uses(&doc),
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
            <p>
                {tr!(
                    docs.abuse.requests,
                    oauth_starts = limits.oauth_starts_per_network_hour,
                    minutes = info.login_ttl_secs / 60
                )}
            </p>
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
