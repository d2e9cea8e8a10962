//! The status page of a login request (`/fypass/status`): where it stands, a QR code of its
//! page for continuing on a phone, the way back to the app once it is done, and — for the
//! person who just completed it in this browser — the one-time passkey offer.

use super::{login::RequestProblem, passkeys::PasskeyOffer, req_token};
use crate::{
    error::ApiError,
    login::{LoginMode, LoginStatus, RequestView, poll_request},
    tr,
};
#[cfg(feature = "ssr")]
use crate::{
    error::ErrorCode,
    login::{flow::view_of, requests},
    request::Caller,
    state::AppState,
    users::session,
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The status page's view of a request, with a QR code of its fypass URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub request: RequestView,
    pub qr_svg: String,
    /// Offer the person who just signed in here to create a passkey (once).
    pub offer_passkey: bool,
}

#[server(prefix = "/_app", endpoint = "fypass/status-view", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_status_view(
    #[server(rename = "reqToken")] req_token: String,
) -> Result<StatusView, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    status_view(&state, &caller, &req_token).await
}

/// The status page: the request, a QR code of its page for continuing on a phone, and — for
/// the person who just completed it in this browser — the one-time passkey offer.
#[cfg(feature = "ssr")]
async fn status_view(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<StatusView, ApiError> {
    let row = requests::find(&state.db, token)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::FailedUpdateUserToken))?;
    let request = view_of(state, None, &row, token);
    let completed_here = match (request.status.is_done(), row.user_id) {
        (true, Some(user)) => session::current(state, caller)
            .await?
            .is_some_and(|u| u.id == user),
        _ => false,
    };
    let offer_passkey = match (completed_here, row.user_id) {
        (true, Some(user)) => crate::passkeys::flow::offer_once(state, user).await?,
        _ => false,
    };
    let qr_svg = qrcode::QrCode::new(request.fypass_url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(220, 220)
                .dark_color(qrcode::render::svg::Color("#1c1b22"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build()
        })
        .unwrap_or_default();
    Ok(StatusView {
        request,
        qr_svg,
        offer_passkey,
    })
}

#[component]
pub fn StatusPage() -> impl IntoView {
    let token = req_token();
    let view = Resource::new_blocking(
        move || token.get(),
        |t| get_status_view(t.unwrap_or_default()),
    );
    view! {
        <Title text=tr!(login.status.title) />
        <div class="auth">
            <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match view.await {
                        Ok(status) => view! { <StatusPanel status token=token.get_untracked().unwrap_or_default() /> }.into_any(),
                        Err(error) => view! { <RequestProblem error /> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The status, kept current by polling: an island, so the request's view travels with the
/// page.
#[cfg_attr(hydrates = "StatusPanel", island)]
#[cfg_attr(not(hydrates = "StatusPanel"), component)]
fn StatusPanel(status: StatusView, token: String) -> impl IntoView {
    let request = RwSignal::new(status.request.clone());
    let client = status.request.client_name.clone();
    // With the passkey offer on screen, the page waits for the person instead of leaving.
    let offer = status.offer_passkey;
    live_status(request, token, !offer);
    let headline = {
        let client = client.clone();
        move || match request.read().status {
            LoginStatus::Pending => tr!(login.status.pending, app = client.clone()),
            LoginStatus::LoggedIn => tr!(login.status.logged_in, app = client.clone()),
            LoginStatus::Registered => tr!(login.status.registered, app = client.clone()),
            LoginStatus::Expired => tr!(login.status.expired).to_string(),
        }
    };
    let qr = status.qr_svg.clone();
    view! {
        <section class="card status-card" aria-live="polite">
            <p class="eyebrow">"fypass"</p>
            <h1 class=move || format!("status-{}", state_class(request.read().status))>{headline}</h1>
            {move || {
                let r = request.get();
                match r.status {
                    LoginStatus::Pending => view! { <Pending request=r qr=qr.clone() /> }.into_any(),
                    LoginStatus::Expired => view! {
                        <p>{tr!(login.status.start_again, app = r.client_name.clone())}</p>
                    }.into_any(),
                    LoginStatus::LoggedIn | LoginStatus::Registered => view! {
                        {offer.then(|| view! { <PasskeyOffer /> })}
                        <Done request=r leave=!offer />
                    }.into_any(),
                }
            }}
        </section>
    }
}

fn state_class(status: LoginStatus) -> &'static str {
    match status {
        LoginStatus::Pending => "pending",
        LoginStatus::LoggedIn | LoginStatus::Registered => "done",
        LoginStatus::Expired => "expired",
    }
}

#[component]
fn Pending(request: RequestView, qr: String) -> impl IntoView {
    let here = request.fypass_url.clone();
    let label = match request.mode {
        LoginMode::Login => tr!(login.status.sign_in_here),
        LoginMode::Register => tr!(login.status.register_here),
    };
    view! {
        // Without JavaScript the page reloads itself to show the outcome.
        <noscript><meta http-equiv="refresh" content="3" /></noscript>
        <p class="muted">{tr!(login.status.updates)}</p>
        <div class="qr-block">
            <div class="qr" role="img" aria-label=tr!(login.status.qr_label) inner_html=qr></div>
            <p>{tr!(login.status.scan)}</p>
            <a class="button" href=here>{label}</a>
        </div>
    }
}

/// The request is complete: back to the app (by itself, unless `leave` is off), or a
/// pointer to the person's devices.
#[component]
fn Done(request: RequestView, leave: bool) -> impl IntoView {
    match request.redirect_url {
        Some(url) => view! {
            {leave.then(|| view! { <noscript><meta http-equiv="refresh" content=format!("2;url={url}") /></noscript> })}
            {leave.then(|| view! { <p>{tr!(login.status.taking_back, app = request.client_name.clone())}</p> })}
            <a class="button" href=url>{tr!(login.status.continue_to, app = request.client_name.clone())}</a>
        }
        .into_any(),
        None => view! {
            <p>{tr!(login.status.close, app = request.client_name.clone())}</p>
            <a class="button secondary" href="/devices">{tr!(login.status.see_devices)}</a>
        }
        .into_any(),
    }
}

/// Leaves for the app's redirect URL, which its admin registered (the one way off the site).
#[cfg(feature = "hydrate")]
fn leave_for_app(url: &str) {
    let _ = window().location().set_href(url);
}

/// In the browser: poll while pending, and follow the redirect once done (if `leave`).
fn live_status(request: RwSignal<RequestView>, token: String, leave: bool) {
    #[cfg(feature = "hydrate")]
    {
        use std::time::Duration;
        let interval = StoredValue::new_local(None::<IntervalHandle>);
        let poll = move || {
            if request.get_untracked().status != LoginStatus::Pending {
                if let Some(handle) = interval.get_value() {
                    handle.clear();
                }
                return;
            }
            let token = token.clone();
            leptos::task::spawn_local(async move {
                if let Ok(latest) = poll_request(token).await {
                    request.set(latest);
                }
            });
        };
        if let Ok(handle) = set_interval_with_handle(
            poll,
            Duration::from_secs(crate::login::POLL_INTERVAL_SECS.into()),
        ) {
            interval.set_value(Some(handle));
        }
        on_cleanup(move || {
            if let Some(handle) = interval.get_value() {
                handle.clear();
            }
        });
        Effect::new(move |_| {
            let r = request.get();
            if let (true, true, Some(url)) = (leave, r.status.is_done(), r.redirect_url) {
                set_timeout(move || leave_for_app(&url), Duration::from_millis(1500));
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (request, token, leave, poll_request);
}
