//! `/account/activity`: what happened on the account, newest first, and where the person is
//! signed in — each browser session named by its browser, system, network and start, each
//! app by its name and device — with a button that ends it and says which (plain forms: the
//! same with or without JavaScript, and no island to download).

use crate::activity::{ActivityPage as Activity, Entry, SignedIn, get_activity};
use crate::{
    error::ErrorCode,
    tr,
    ui::{ErrorPanel, Field, FormProblem, SignOutButton},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ActivityPage() -> impl IntoView {
    let page = Resource::new_blocking(|| (), |_| get_activity());
    let echo = crate::pages::form_echo();
    let query = use_query_map();
    let ended = move || query.read().get("done").is_some_and(|d| d == "ended");
    view! {
        <Title text=tr!(activity.title) />
        <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
            {move || Suspend::new({
                let echo = echo.clone();
                async move {
                    match page.await {
                        Ok(page) => view! { <ActivityView page ended=ended() problem=echo.error /> }.into_any(),
                        Err(e) if e.code == ErrorCode::Unauthorized => {
                            #[cfg(feature = "ssr")]
                            leptos_axum::redirect(crate::paths::SIGN_IN);
                            view! {
                                <section class="card">
                                    <h1>{tr!(account.msg.sign_in_first)}</h1>
                                    <a class="button" href=crate::paths::SIGN_IN>{tr!(login.sign_in)}</a>
                                </section>
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn ActivityView(
    page: Activity,
    ended: bool,
    problem: Option<crate::error::ApiError>,
) -> impl IntoView {
    view! {
        <section class="dashboard">
            <header class="dashboard-head">
                <div>
                    <h1>{tr!(activity.title)}</h1>
                    <p class="muted">{tr!(activity.lead, days = crate::activity::KEEP_DAYS)}</p>
                </div>
                <div class="actions">
                    <a class="button secondary" href=crate::paths::ACCOUNT>{tr!(account.title)}</a>
                    <SignOutButton />
                </div>
            </header>
            {ended.then(|| view! { <p class="notice" role="status">{tr!(activity.ended)}</p> })}
            {problem.map(|error| view! { <ErrorPanel error /> })}
            <section class="panel" id="signed-in">
                <h2>{tr!(activity.signed_in.heading)}</h2>
                <ul class="list">
                    {
                        let labels = end_labels(&page.signed_in);
                        page.signed_in
                            .into_iter()
                            .zip(labels)
                            .map(|(s, label)| view! { <SignedInItem s label /> })
                            .collect_view()
                    }
                </ul>
                <form class="form" method="post" action=crate::paths::ACTIVITY>
                    <input type="hidden" name="intent" value="sign-out-everywhere" />
                    <button type="submit" class="secondary danger">{tr!(account.everywhere.button)}</button>
                </form>
            </section>
            <section class="panel">
                <h2>{tr!(activity.heading)}</h2>
                {if page.entries.is_empty() {
                    view! { <p class="muted">{tr!(activity.none)}</p> }.into_any()
                } else {
                    view! {
                        <ol class="list activity">
                            {page.entries.into_iter().map(|e| view! { <EntryItem e /> }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
        </section>
    }
}

/// What a sign-in is, as its heading says: the app, or the browser and its system (the
/// User-Agent as it came, marked as such, when neither can be read from it).
fn what(s: &SignedIn) -> String {
    if s.id.starts_with("app:") {
        let app = s.app.clone().unwrap_or_default();
        return tr!(activity.signed_in.app, app = app).to_string();
    }
    match (s.browser.clone(), s.os.clone()) {
        (Some(browser), Some(os)) => {
            tr!(activity.signed_in.browser_on, browser = browser, os = os).to_string()
        }
        (Some(browser), None) => browser,
        (None, Some(os)) => tr!(activity.signed_in.a_browser_on, os = os).to_string(),
        (None, None) => s
            .user_agent
            .as_deref()
            .map(str::trim)
            .filter(|ua| !ua.is_empty())
            .map(|ua| {
                // Marked as the agent's own words: whatever it says ("Chrome on macOS, this
                // browser"), it cannot read as a name fypass gave, nor as this browser.
                let agent = ua.chars().take(AGENT_CHARS).collect::<String>();
                tr!(activity.signed_in.unknown_agent, agent = agent).to_string()
            })
            .unwrap_or_else(|| tr!(activity.signed_in.browser).to_string()),
    }
}

/// How much of a User-Agent that names no known browser a heading shows.
const AGENT_CHARS: usize = 60;

/// What a sign-in's line under its heading says: the app a browser session signed in for,
/// the app's device, the network, and when it started.
fn facts(s: &SignedIn) -> Vec<String> {
    let app = s
        .app
        .clone()
        .filter(|_| s.id.starts_with("session:"))
        .map(|app| tr!(activity.app, app = app).to_string());
    let network = s
        .network
        .clone()
        .map(|n| tr!(activity.network, network = n).to_string());
    let since = format!("{} {}", tr!(activity.since), short_time(&s.since));
    [app, s.device.clone(), network, Some(since)]
        .into_iter()
        .flatten()
        .collect()
}

/// The accessible name of each sign-in's "Sign out" button: what it ends, in words a screen
/// reader tells apart — the browser, whether it is this one, the network, since when — and a
/// number after those that would still read alike.
fn end_labels(all: &[SignedIn]) -> Vec<String> {
    let mut labels: Vec<String> = all
        .iter()
        .map(|s| {
            let mut parts = vec![what(s)];
            if s.current {
                parts.push(tr!(activity.signed_in.this).to_string());
            }
            parts.extend(facts(s));
            format!("{} {}", tr!(activity.signed_in.end), parts.join(", "))
        })
        .collect();
    let alike: Vec<bool> = labels
        .iter()
        .map(|l| labels.iter().filter(|o| *o == l).count() > 1)
        .collect();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (label, alike) in labels.iter_mut().zip(alike) {
        if alike {
            let n = seen.entry(label.clone()).or_default();
            *n += 1;
            label.push_str(&format!(" ({n})"));
        }
    }
    labels
}

#[component]
fn SignedInItem(s: SignedIn, label: String) -> impl IntoView {
    let (what, facts) = (what(&s), facts(&s).join(" · "));
    let (key, target) = (s.id.clone(), s.id);
    view! {
        <li class="item" data-sign-in=key>
            <div>
                <strong>{what}</strong>
                {s.current.then(|| view! { " " <span class="tag ok">{tr!(activity.signed_in.this)}</span> })}
                {s.strong.then(|| view! { " " <span class="tag">{tr!(activity.signed_in.strong)}</span> })}
                <p class="muted small">{facts}</p>
            </div>
            <form method="post" action=crate::paths::ACTIVITY>
                <input type="hidden" name="intent" value="end" />
                <input type="hidden" name="target" value=target />
                <button type="submit" class="secondary" aria-label=label>{tr!(activity.signed_in.end)}</button>
            </form>
        </li>
    }
}

#[component]
fn EntryItem(e: Entry) -> impl IntoView {
    let how = e.detail.as_deref().map(|d| match (e.kind, d) {
        (crate::activity::Kind::CodeSent, "recovery") => tr!(activity.how.for_recovery),
        (crate::activity::Kind::CodeSent, "sign-in") => tr!(activity.how.for_sign_in),
        (crate::activity::Kind::CodeSent, _) => "",
        (_, d) => match d {
            "password" => tr!(activity.how.password),
            "code" => tr!(activity.how.code),
            "recovery" => tr!(activity.how.recovery),
            "registration" => tr!(activity.how.registration),
            "passkey" => tr!(activity.how.passkey),
            "second_factor" => tr!(activity.how.second_factor),
            "others_signed_out" => tr!(activity.how.others_signed_out),
            "not_me" => tr!(activity.how.not_me),
            _ => "",
        },
    });
    let facts: Vec<String> = [
        e.app.map(|a| tr!(activity.app, app = a).to_string()),
        e.device,
        e.network
            .map(|n| tr!(activity.network, network = n).to_string()),
        e.browser,
    ]
    .into_iter()
    .flatten()
    .collect();
    view! {
        <li class="item" data-kind=e.kind.as_str()>
            <div>
                <strong>{e.kind.label()}</strong>
                {how.filter(|h| !h.is_empty()).map(|h| view! { " · " <span>{h}</span> })}
                <p class="muted small"><time datetime=e.at.clone()>{short_time(&e.at)}</time></p>
                {(!facts.is_empty()).then(|| view! { <p class="muted small">{facts.join(" · ")}</p> })}
            </div>
        </li>
    }
}

/// `2026-12-05T10:01:25.123Z` → `2026-12-05 10:01 UTC`.
fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// Leaving, on `/account`: the export (a download) and deleting the account, which asks for
/// the password every time (plain forms, with or without JavaScript).
#[component]
pub fn Leaving(echo: crate::login::kit::FormEcho) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(echo.error.filter(|_| echo.intent == "delete-account"));
    view! {
        <section class="panel" id="leaving">
            <h2>{tr!(activity.leaving.heading)}</h2>
            <p class="muted">{tr!(activity.leaving.export_lead)}</p>
            <p><a class="button secondary" href=crate::paths::EXPORT download="fypass-export.json">{tr!(activity.leaving.export)}</a></p>
            <form class="form" method="post" action=format!("{}#leaving", crate::paths::ACCOUNT) novalidate>
                <input type="hidden" name="intent" value="delete-account" />
                <p class="muted">{tr!(activity.leaving.delete_lead)}</p>
                <Field label=tr!(login.password) name="password" kind="password" autocomplete="current-password" value=password error=error.into() />
                <FormProblem error=error.into() fields=&["password"] />
                <button type="submit" class="secondary danger">{tr!(activity.leaving.delete)}</button>
            </form>
        </section>
    }
}

/// `/fypass/not-me?token=`: where an alert's "this wasn't me" link leads. A button (a plain
/// form) does it, so a mail scanner that opens the link does not; a link used or expired
/// shows no button, only the way to the recovery page (looking does not spend it:
/// `not_me_link`).
#[component]
pub fn NotMePage() -> impl IntoView {
    let echo = crate::pages::form_echo();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let usable = Resource::new_blocking(token, crate::activity::not_me_link);
    let action = move || {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", &token())
            .finish();
        format!("{}?{query}", crate::paths::NOT_ME)
    };
    view! {
        <Title text=tr!(activity.not_me.title) />
        <div class="auth">
            <section class="card">
                <p class="eyebrow">"fypass"</p>
                <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
                    {move || Suspend::new({
                        let problem = echo.error.clone();
                        async move {
                            let problem = problem.map(|error| view! { <ErrorPanel error /> });
                            match usable.await {
                                Ok(true) => view! {
                                    <h1>{tr!(activity.not_me.heading)}</h1>
                                    {problem}
                                    <p class="muted">{tr!(activity.not_me.lead)}</p>
                                    <form class="form" method="post" action=action>
                                        <button type="submit" class="wide danger">{tr!(activity.not_me.button)}</button>
                                    </form>
                                }.into_any(),
                                Ok(false) => view! {
                                    <h1>{tr!(activity.not_me.used_heading)}</h1>
                                    {problem}
                                    <p class="muted">{tr!(activity.not_me.used)}</p>
                                    <p class="muted">{tr!(activity.not_me.used_recover)}</p>
                                    <p><a class="button" href=crate::paths::RECOVER>{tr!(activity.not_me.recover)}</a></p>
                                }.into_any(),
                                Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            }
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}
