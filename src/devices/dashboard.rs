//! `/devices`: the signed-in person's devices across every app, to review and remove.

use super::{Device, Platform};
use crate::{
    api::JsonBody,
    error::{ApiError, ErrorCode},
    ui::{ErrorPanel, SignOutButton},
    users::User,
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// One device as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedDevice {
    pub device: Device,
    /// The app (client) that saved it.
    pub app: String,
    /// Whether it is this browser (a web device saved with this browser's user agent).
    pub current: bool,
    /// "3 minutes ago", relative to when the page was made.
    pub last_seen: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub user: User,
    pub devices: Vec<OwnedDevice>,
}

/// The signed-in person's devices; `UNAUTHORIZED` without a session.
#[server(prefix = "/_app", endpoint = "devices", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_dashboard() -> Result<Dashboard, ApiError> {
    use crate::users::session;
    let (state, caller) = crate::request::Caller::current()?;
    let user = session::require(&state, &caller, SIGN_IN_FIRST).await?;
    let agent = caller.user_agent();
    let now = crate::db::now_ms();
    let devices = super::store::list_for_user(&state.db, user.id)
        .await?
        .into_iter()
        .map(|(row, app)| OwnedDevice {
            current: row.platform == Platform::Web.as_str()
                && row.user_agent.is_some()
                && row.user_agent == agent,
            last_seen: relative(now - row.last_seen_at),
            device: row.view(),
            app,
        })
        .collect();
    Ok(Dashboard {
        user: user.view(),
        devices,
    })
}

/// Removes one of the signed-in person's devices (and revokes its tokens).
#[server(prefix = "/_app", endpoint = "devices/remove", input = JsonBody, client = crate::api::PageClient)]
pub async fn remove_device(id: String) -> Result<(), ApiError> {
    use crate::users::session;
    let (state, caller) = crate::request::Caller::current()?;
    let user = session::require_change(&state, &caller, SIGN_IN_FIRST).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::InvalidObjectId))?;
    super::store::delete(&state.db, super::store::Owner::User(user.id), id).await
}

#[cfg(feature = "ssr")]
const SIGN_IN_FIRST: &str = "Sign in to see your devices.";

/// A duration in words, as people say it.
#[cfg(feature = "ssr")]
fn relative(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        2_592_000..=31_535_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let dashboard = Resource::new_blocking(|| (), |_| get_dashboard());
    view! {
        <Title text="Your devices" />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(d) => view! { <DeviceList dashboard=d /> }.into_any(),
                    Err(e) if e.code == ErrorCode::Unauthorized => view! { <SignInFirst /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Without a session: to the sign-in page, which brings the person back here.
#[component]
fn SignInFirst() -> impl IntoView {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect("/fypass");
    view! {
        <section class="card">
            <h1>"Sign in to see your devices"</h1>
            <a class="button" href="/fypass">"Sign in"</a>
        </section>
    }
}

#[component]
fn DeviceList(dashboard: Dashboard) -> impl IntoView {
    let devices = RwSignal::new(dashboard.devices);
    let error = RwSignal::new(None::<ApiError>);
    // A removed device leaves the list without a reload.
    let removed =
        Callback::new(move |id: String| devices.update(|list| list.retain(|d| d.device.id != id)));
    let failed = Callback::new(move |e: ApiError| error.set(Some(e)));
    let user = dashboard.user;
    view! {
        <section class="dashboard">
            <header class="dashboard-head">
                <div>
                    <h1>"Your devices"</h1>
                    <p class="muted">{format!("Signed in as {} · {}", user.name, user.contact())}</p>
                </div>
                <SignOutButton />
            </header>
            {move || error.get().map(|error| view! { <ErrorPanel error /> })}
            <Show
                when=move || !devices.read().is_empty()
                fallback=|| view! {
                    <div class="empty">
                        <p class="empty-title">"No devices yet"</p>
                        <p class="muted">"When you sign in to an app with fypass, the device you use appears here, so you can see where you are signed in and remove what you no longer use."</p>
                    </div>
                }
            >
                <ul class="devices">
                    <For each=move || devices.get() key=|d| d.device.id.clone() let:item>
                        <DeviceCard item removed failed />
                    </For>
                </ul>
            </Show>
        </section>
    }
}

#[component]
fn DeviceCard(
    item: OwnedDevice,
    removed: Callback<String>,
    failed: Callback<ApiError>,
) -> impl IntoView {
    let d = item.device;
    let name = d
        .info
        .device_name
        .clone()
        .or_else(|| d.info.model.clone())
        .unwrap_or_else(|| d.info.platform.label().to_string());
    let details: Vec<String> = [
        d.info
            .model
            .clone()
            .filter(|m| Some(m) != d.info.device_name.as_ref()),
        d.info
            .os_version
            .as_ref()
            .map(|v| format!("{} {v}", d.info.platform.label())),
        d.info.app_version.as_ref().map(|v| format!("app {v}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let remove = ServerAction::<RemoveDevice>::new();
    let id = d.id.clone();
    Effect::new({
        let id = id.clone();
        move |_| match remove.value().get() {
            Some(Ok(())) => removed.run(id.clone()),
            Some(Err(e)) => failed.run(e),
            None => {}
        }
    });
    let ask = {
        let name = name.clone();
        move |_| {
            let question = format!("Remove {name}? Apps on it will have to sign in again.");
            if window().confirm_with_message(&question).unwrap_or(false) {
                remove.dispatch(RemoveDevice { id: id.clone() });
            }
        }
    };
    let platform = d.info.platform;
    view! {
        <li class="device" data-device-id=d.id.clone()>
            <span class=format!("platform platform-{}", platform.as_str()) aria-hidden="true">
                {platform_badge(platform)}
            </span>
            <div class="device-main">
                <p class="device-name">
                    {name.clone()}
                    {item.current.then(|| view! { <span class="tag">"This browser"</span> })}
                </p>
                <p class="muted">{format!("{} · {}", item.app, platform.label())}</p>
                {(!details.is_empty()).then(|| view! { <p class="muted small">{details.join(" · ")}</p> })}
                <p class="muted small">
                    "Last seen "
                    <time datetime=d.last_seen_at.clone() title=d.last_seen_at.clone()>{item.last_seen}</time>
                </p>
            </div>
            <button
                type="button"
                class="secondary danger"
                aria-label=format!("Remove {name}")
                disabled=move || remove.pending().get()
                on:click=ask
            >
                "Remove"
            </button>
        </li>
    }
}

/// A short platform mark for the device's icon.
fn platform_badge(p: Platform) -> &'static str {
    match p {
        Platform::Android => "And",
        Platform::Ios => "iOS",
        Platform::Web => "Web",
        Platform::Windows => "Win",
        Platform::Macos => "Mac",
        Platform::Linux => "Lnx",
        Platform::Other => "•••",
    }
}
