//! `/devices`: the signed-in person's devices across every app, to review and remove.

use crate::devices::Platform;
use crate::{
    api::JsonBody,
    error::{ApiError, ErrorCode},
    locale,
    pages::account::SignOutEverywhere,
    tr,
    ui::{ErrorPanel, SignOutButton},
    users::User,
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// What a device's card shows, and nothing more. The list is an island, so this travels in
/// the page's hydration data (and `GET /_app/devices`): a push token, the address and the
/// user agent an app saved the device from are not sent, since the page does not show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownDevice {
    pub id: String,
    pub device_name: Option<String>,
    pub model: Option<String>,
    pub platform: Platform,
    pub os_version: Option<String>,
    pub app_version: Option<String>,
    pub last_seen_at: String,
}

#[cfg(feature = "ssr")]
impl ShownDevice {
    fn of(row: &crate::devices::store::DeviceRow) -> ShownDevice {
        ShownDevice {
            id: row.id.to_string(),
            device_name: row.device_name.clone(),
            model: row.model.clone(),
            platform: row.platform.parse().unwrap_or(Platform::Other),
            os_version: row.os_version.clone(),
            app_version: row.app_version.clone(),
            last_seen_at: crate::db::rfc3339(row.last_seen_at),
        }
    }
}

/// One device as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedDevice {
    pub device: ShownDevice,
    /// The app (client) that saved it.
    pub app: String,
    /// Whether it is this browser (a web device saved with this browser's user agent).
    pub current: bool,
    /// "3 minutes ago", relative to when the page was made, in the page's language.
    pub last_seen: String,
    /// When exactly, in the page's language.
    pub last_seen_exact: String,
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
    let user = session::require(&state, &caller, sign_in_first()).await?;
    let agent = caller.user_agent();
    let now = crate::db::now_ms();
    let devices = crate::devices::store::list_for_user(&state.db, user.id)
        .await?
        .into_iter()
        .map(|(row, app)| OwnedDevice {
            current: row.platform == Platform::Web.as_str()
                && row.user_agent.is_some()
                && row.user_agent == agent,
            last_seen: locale::ago((now - row.last_seen_at) / 1000, locale::current()),
            last_seen_exact: locale::exact_time(
                &crate::db::rfc3339(row.last_seen_at),
                locale::current(),
            ),
            device: ShownDevice::of(&row),
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
    let user = session::require_change(&state, &caller, sign_in_first()).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::InvalidObjectId))?;
    crate::devices::store::delete(
        &state.db,
        crate::devices::store::Owner::User(user.id),
        id,
        Some(&caller),
    )
    .await
}

#[cfg(feature = "ssr")]
fn sign_in_first() -> &'static str {
    crate::tr!(devices.msg.sign_in_first)
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let dashboard = Resource::new_blocking(|| (), |_| get_dashboard());
    view! {
        <Title text=tr!(login.your_devices) />
        <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
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
    leptos_axum::redirect(crate::paths::SIGN_IN);
    view! {
        <section class="card">
            <h1>{tr!(devices.msg.sign_in_first)}</h1>
            <a class="button" href=crate::paths::SIGN_IN>{tr!(login.sign_in)}</a>
        </section>
    }
}

/// The list and its remove buttons: an island, so the devices travel with the page.
#[cfg_attr(hydrates = "DeviceList", island)]
#[cfg_attr(not(hydrates = "DeviceList"), component)]
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
                    <h1>{tr!(login.your_devices)}</h1>
                    <p class="muted">
                        {tr!(account.signed_in_as, name = user.name.clone(), contact = user.contact_for_display(locale::current()))}
                    </p>
                </div>
                <SignOutButton />
            </header>
            {move || error.get().map(|error| view! { <ErrorPanel error /> })}
            <Show
                when=move || !devices.read().is_empty()
                fallback=|| view! {
                    <div class="empty">
                        <p class="empty-title">{tr!(devices.empty.title)}</p>
                        <p class="muted">{tr!(devices.empty.lead)}</p>
                    </div>
                }
            >
                <ul class="devices">
                    <For each=move || devices.get() key=|d| d.device.id.clone() let:item>
                        <DeviceCard item removed failed />
                    </For>
                </ul>
            </Show>
            <SignOutEverywhere />
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
        .device_name
        .clone()
        .or_else(|| d.model.clone())
        .unwrap_or_else(|| d.platform.name().to_string());
    let details: Vec<String> = [
        d.model
            .clone()
            .filter(|m| Some(m) != d.device_name.as_ref()),
        d.os_version
            .as_ref()
            .map(|v| format!("{} {v}", d.platform.name())),
        d.app_version
            .as_ref()
            .map(|v| tr!(devices.app_version, version = v)),
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
            let question = tr!(devices.remove_question, name = name.clone());
            if window().confirm_with_message(&question).unwrap_or(false) {
                remove.dispatch(RemoveDevice { id: id.clone() });
            }
        }
    };
    let platform = d.platform;
    view! {
        <li class="device" data-device-id=d.id.clone()>
            <span class=format!("platform platform-{}", platform.as_str()) aria-hidden="true">
                {platform_badge(platform)}
            </span>
            <div class="device-main">
                <p class="device-name">
                    {name.clone()}
                    {item.current.then(|| view! { <span class="tag">{tr!(devices.this_browser)}</span> })}
                </p>
                <p class="muted">{format!("{} · {}", item.app, platform.name())}</p>
                {(!details.is_empty()).then(|| view! { <p class="muted small">{details.join(" · ")}</p> })}
                <p class="muted small">
                    {tr!(devices.last_seen)} " "
                    <time datetime=d.last_seen_at.clone() title=item.last_seen_exact>{item.last_seen}</time>
                </p>
            </div>
            <button
                type="button"
                class="secondary danger"
                aria-label=tr!(passkeys.item.remove_named, name = name.clone())
                disabled=move || remove.pending().get()
                on:click=ask
            >
                {tr!(passkeys.item.remove)}
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
