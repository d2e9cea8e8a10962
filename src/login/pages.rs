//! The hosted pages: sign in, register, and the login request's status.
//!
//! Every form works twice over. Before the WASM loads (or without JavaScript) it is a
//! plain `<form method="post">` to the page's own URL, answered by `forms` with a redirect
//! or the page again showing the error. Once hydrated, submitting calls the server
//! function instead, keeps what was typed, shows the error beside its field and disables
//! the button while it runs.
//!
//! The pages are server-rendered; each form and the status poller is an island
//! (`#[island]`): its props travel with the page as JSON, and only islands ship as WASM.
//! An island moves on with a full page load (`location.href`), as a plain form does.

use super::{
    Completion, ConfirmBody, ContinueAs, FypassConfirm, FypassLogin, FypassRegister, LoginBody,
    LoginMode, LoginStatus, PageContext, RegisterBody, RequestView, StatusView, get_page_context,
    get_status_view, poll_request,
};
use crate::{
    error::ApiError,
    passkeys::pages::{PasskeyOffer, PasskeySignIn},
    tr,
    ui::{ErrorPanel, Field, FormProblem, SignOutButton},
    users::User,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// What a plain form post left for the page it renders again: the error and what the
/// person typed (never the password).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormEcho {
    pub error: Option<ApiError>,
    pub identifier: String,
    pub name: String,
    pub email: String,
    pub whatsapp: String,
    /// `/account`: which form posted (its `intent`), so the right one shows the error.
    #[serde(default)]
    pub intent: String,
    /// `/account`: the recovery codes of a second factor just turned on, shown this once.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// The echo of a plain form post, from the server's context while rendering (an island
/// that shows it receives it as a prop).
pub(crate) fn form_echo() -> FormEcho {
    use_context::<FormEcho>().unwrap_or_default()
}

pub(crate) fn req_token() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("reqToken").filter(|t| !t.is_empty()))
}

/// Where a person goes once signed in: the request's status, or their devices.
pub fn next_page(token: Option<&str>) -> String {
    match token {
        Some(token) => format!("/fypass/status?reqToken={token}"),
        None => "/devices".into(),
    }
}

/// Where a person goes after `completion`: the second factor when it is asked for, the
/// verification step when codes were just sent to them, else [`next_page`].
pub fn after(completion: &Completion, token: Option<&str>) -> String {
    if completion.second_factor {
        return self_url("/fypass/second-factor", token);
    }
    if completion.verify.is_empty() {
        return next_page(token);
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(token) = token {
        query.append_pair("reqToken", token);
    }
    for to in &completion.verify {
        query.append_pair("to", to);
    }
    format!("/fypass/verify?{}", query.finish())
}

/// The page a form posts to without JavaScript: its own URL.
pub(crate) fn self_url(path: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{path}?reqToken={token}"),
        None => path.to_string(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let echo = form_echo();
    let token = req_token();
    let context = Resource::new_blocking(move || token.get(), get_page_context);
    view! {
        <Title text=tr!(login.title_sign_in) />
        <div class="auth">
            <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
                {move || Suspend::new({
                    let echo = echo.clone();
                    async move {
                        match context.await {
                            Ok(ctx) => view! { <LoginCard ctx token=token.get_untracked() echo /> }.into_any(),
                            Err(error) => view! { <RequestProblem error /> }.into_any(),
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn RequestProblem(error: ApiError) -> impl IntoView {
    view! {
        <section class="card">
            <h1>{tr!(login.problem.heading)}</h1>
            <ErrorPanel error />
            <p class="muted">
                {tr!(login.problem.before_link)}
                <a href="/fypass">{tr!(login.problem.link)}</a>
                {tr!(login.problem.after_link)}
            </p>
        </section>
    }
}

#[component]
fn LoginCard(ctx: PageContext, token: Option<String>, echo: FormEcho) -> impl IntoView {
    let heading = match &ctx.request {
        Some(r) => tr!(login.heading_for_app, app = r.client_name.clone()),
        None => tr!(login.heading).to_string(),
    };
    let register = self_url("/fypass/register", token.as_deref());
    let code_url = self_url("/fypass/code", token.as_deref());
    let recover_url = self_url("/fypass/recover", token.as_deref());
    let retried = echo.error.is_some();
    let echo_error = echo.error.clone();
    let signed_in = ctx.signed_in.clone();
    let passkeys = ctx.passkeys;
    let body = {
        let token = token.clone();
        move || match (signed_in.clone(), token.clone()) {
            (Some(user), Some(token)) => view! {
                <ContinueAs user token=token.clone() />
                <details class="other-account" open=retried>
                    <summary>{tr!(login.other_account)}</summary>
                    <LoginForm token=Some(token.clone()) echo=echo.clone() />
                    <PasskeySignIn enabled=passkeys token=Some(token) />
                </details>
            }
            .into_any(),
            (Some(user), None) => view! {
                <SignedIn user />
                <details class="other-account" open=retried>
                    <summary>{tr!(login.other_account)}</summary>
                    <LoginForm token=None echo=echo.clone() />
                    <PasskeySignIn enabled=passkeys token=None />
                </details>
            }
            .into_any(),
            (None, token) => view! {
                <LoginForm token=token.clone() echo=echo.clone() />
                <PasskeySignIn enabled=passkeys token />
            }
            .into_any(),
        }
    };
    view! {
        <section class="card">
            <p class="eyebrow">"fypass"</p>
            <h1>{heading}</h1>
            <ConfirmGate request=ctx.request token path="/fypass" error=echo_error>
                {body()}
            </ConfirmGate>
            <p class="switch alternatives">
                <a href=code_url>{tr!(login.code_instead)}</a>
                " · "
                <a href=recover_url>{tr!(login.forgot)}</a>
            </p>
            <p class="switch">{tr!(login.new_here)} " " <a href=register>{tr!(login.create_account)}</a></p>
        </section>
    }
}

/// Which app asks, for which device, with which code; and, when the person is not where
/// the request was started, the confirmation that their device shows that code (RFC 8628
/// §5.4: someone may have sent them another person's sign-in link). Until it is
/// confirmed, the page's form (`children`) is not shown: confirming loads the page again,
/// with the form.
#[component]
fn ConfirmGate(
    request: Option<RequestView>,
    token: Option<String>,
    path: &'static str,
    error: Option<ApiError>,
    children: Children,
) -> impl IntoView {
    let Some(request) = request else {
        return children().into_any();
    };
    let facts = request.user_code.clone().map(|code| {
        let device = request
            .device_name
            .clone()
            .unwrap_or_else(|| tr!(login.confirm.the_device).to_string());
        view! {
            <p class="request-facts">
                {tr!(login.confirm.app_on_device, app = request.client_name.clone(), device = device)}
                " · " {tr!(login.confirm.code)} " " <code class="user-code">{code}</code>
            </p>
        }
    });
    let body = if request.needs_confirmation {
        view! {
            <ConfirmCode
                request=request.clone()
                token=token.unwrap_or_default()
                path=path.to_string()
                error
            />
        }
        .into_any()
    } else {
        children().into_any()
    };
    view! {
        {facts}
        {body}
    }
    .into_any()
}

/// "Does your device show this code?": one button, which confirms it; then the page again,
/// now with its form.
#[cfg_attr(hydrates = "ConfirmCode", island)]
#[cfg_attr(not(hydrates = "ConfirmCode"), component)]
fn ConfirmCode(
    request: RequestView,
    token: String,
    path: String,
    error: Option<ApiError>,
) -> impl IntoView {
    let action = ServerAction::<FypassConfirm>::new();
    let error = RwSignal::new(error);
    let action_url = self_url(&path, Some(&token));
    {
        let page = action_url.clone();
        Effect::new(move |_| match action.value().get() {
            Some(Ok(_)) => go(&page),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        });
    }
    let code = request.user_code.clone().unwrap_or_default();
    let device = request
        .device_name
        .clone()
        .unwrap_or_else(|| tr!(login.confirm.the_device_signing_in).to_string());
    let submit = {
        let code = code.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            action.dispatch(FypassConfirm {
                body: ConfirmBody {
                    req_token: token.clone(),
                    user_code: code.clone(),
                },
            });
        }
    };
    view! {
        <form class="confirm" method="post" action=action_url on:submit=submit>
            <p>{tr!(login.confirm.wants, app = request.client_name.clone(), device = device)}</p>
            <p class="user-code big">{code.clone()}</p>
            <p class="muted">{tr!(login.confirm.warning)}</p>
            <input type="hidden" name="intent" value="confirm" />
            <input type="hidden" name="userCode" value=code />
            <FormProblem error=error.into() fields=&[] />
            <button type="submit" class="wide" disabled=move || action.pending().get()>
                {tr!(login.confirm.button)}
            </button>
        </form>
    }
}

/// "Continue as <name>": one click completes the request as the signed-in person.
#[cfg_attr(hydrates = "ContinueAs", island)]
#[cfg_attr(not(hydrates = "ContinueAs"), component)]
fn ContinueAs(user: User, token: String) -> impl IntoView {
    let action = ServerAction::<ContinueAs>::new();
    let error = RwSignal::new(None::<ApiError>);
    follow(action, token.clone(), error);
    let action_url = self_url("/fypass", Some(&token));
    view! {
        <form
            class="continue"
            method="post"
            action=action_url
            on:submit=move |ev| {
                ev.prevent_default();
                error.set(None);
                action.dispatch(ContinueAs { req_token: token.clone() });
            }
        >
            <input type="hidden" name="intent" value="continue" />
            <button type="submit" class="account" disabled=move || action.pending().get()>
                <span class="avatar" aria-hidden="true">{initial(&user.name)}</span>
                <span class="who">
                    <strong>{tr!(login.continue_as, name = user.name.clone())}</strong>
                    <span class="muted">{user.contact_for_display(crate::locale::current())}</span>
                </span>
            </button>
            <FormProblem error=error.into() fields=&[] />
        </form>
    }
}

/// No login request: the person is simply signed in to fypass.
#[component]
fn SignedIn(user: User) -> impl IntoView {
    view! {
        <div class="signed-in">
            <p>
                {tr!(login.signed_in_as)} " " <strong>{user.name.clone()}</strong>
                " (" {user.contact_for_display(crate::locale::current())} ")."
            </p>
            <div class="actions">
                <a class="button" href="/devices">{tr!(login.your_devices)}</a>
                <SignOutButton />
            </div>
        </div>
    }
}

fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}

/// An island moves on to `url`, a path of this site (else the home page:
/// [`crate::redirect`]), as a plain form would: a full page load (there is no client-side
/// router; the next page is the server's).
pub(crate) fn go(url: &str) {
    let _ = window()
        .location()
        .set_href(crate::redirect::local_or_home(url));
}

/// Leaves for the app's redirect URL, which its admin registered (the one way off the site).
#[cfg(feature = "hydrate")]
fn leave_for_app(url: &str) {
    let _ = window().location().set_href(url);
}

/// After a successful submission, go to the next page; after a failed one, show the error.
pub(crate) fn follow<A>(action: ServerAction<A>, token: String, error: RwSignal<Option<ApiError>>)
where
    A: leptos::server_fn::ServerFn<Output = Completion, Error = ApiError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Effect::new(move |_| match action.value().get() {
        Some(Ok(done)) => go(&after(
            &done,
            Some(&token).filter(|t| !t.is_empty()).map(String::as_str),
        )),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
}

#[cfg_attr(hydrates = "LoginForm", island)]
#[cfg_attr(not(hydrates = "LoginForm"), component)]
fn LoginForm(token: Option<String>, echo: FormEcho) -> impl IntoView {
    let action = ServerAction::<FypassLogin>::new();
    let identifier = RwSignal::new(echo.identifier.clone());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(echo.error.clone());
    follow(action, token.clone().unwrap_or_default(), error);
    let action_url = self_url("/fypass", token.as_deref());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        action.dispatch(FypassLogin {
            body: LoginBody {
                req_token: token.clone(),
                identifier: identifier.get_untracked(),
                password: password.get_untracked(),
            },
        });
    };
    view! {
        <form class="form" method="post" action=action_url novalidate on:submit=submit>
            <input type="hidden" name="intent" value="login" />
            <Field
                label=tr!(login.identifier)
                name="identifier"
                autocomplete="username webauthn"
                value=identifier
                error=error.into()
                hint=tr!(login.identifier_hint)
            />
            <Field
                label=tr!(login.password)
                name="password"
                kind="password"
                autocomplete="current-password"
                value=password
                error=error.into()
            />
            <FormProblem error=error.into() fields=&["identifier", "password"] />
            <button type="submit" class="wide" disabled=move || action.pending().get()>
                {move || if action.pending().get() { tr!(login.signing_in) } else { tr!(login.sign_in) }}
            </button>
        </form>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let echo = form_echo();
    let token = req_token();
    let context = Resource::new_blocking(move || token.get(), get_page_context);
    view! {
        <Title text=tr!(login.title_register) />
        <div class="auth">
            <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
                {move || Suspend::new({
                    let echo = echo.clone();
                    async move {
                        match context.await {
                            Ok(ctx) => view! { <RegisterCard ctx token=token.get_untracked() echo /> }.into_any(),
                            Err(error) => view! { <RequestProblem error /> }.into_any(),
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn RegisterCard(ctx: PageContext, token: Option<String>, echo: FormEcho) -> impl IntoView {
    let heading = match &ctx.request {
        Some(r) => tr!(login.register.heading_for_app, app = r.client_name.clone()),
        None => tr!(login.register.heading).to_string(),
    };
    let sign_in = self_url("/fypass", token.as_deref());
    let echo_error = echo.error.clone();
    view! {
        <section class="card">
            <p class="eyebrow">"fypass"</p>
            <h1>{heading}</h1>
            <ConfirmGate request=ctx.request token=token.clone() path="/fypass/register" error=echo_error>
                <RegisterForm token=token.clone() echo=echo.clone() />
            </ConfirmGate>
            <p class="switch">{tr!(login.register.have_account)} " " <a href=sign_in>{tr!(login.sign_in)}</a></p>
        </section>
    }
}

#[cfg_attr(hydrates = "RegisterForm", island)]
#[cfg_attr(not(hydrates = "RegisterForm"), component)]
fn RegisterForm(token: Option<String>, echo: FormEcho) -> impl IntoView {
    let action = ServerAction::<FypassRegister>::new();
    let name = RwSignal::new(echo.name.clone());
    let email = RwSignal::new(echo.email.clone());
    let whatsapp = RwSignal::new(echo.whatsapp.clone());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(echo.error.clone());
    follow(action, token.clone().unwrap_or_default(), error);
    let action_url = self_url("/fypass/register", token.as_deref());
    let optional = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        action.dispatch(FypassRegister {
            body: RegisterBody {
                req_token: token.clone(),
                name: name.get_untracked(),
                email: optional(email.get_untracked()),
                whatsapp: optional(whatsapp.get_untracked()),
                password: password.get_untracked(),
            },
        });
    };
    view! {
        <p class="muted">{tr!(login.register.either)}</p>
    <form class="form" method="post" action=action_url novalidate on:submit=submit>
        <Field label=tr!(login.register.name) name="name" autocomplete="name" value=name error=error.into() />
        <Field
            label=tr!(login.register.email)
            name="email"
            kind="email"
            autocomplete="email"
            value=email
            error=error.into()
        />
        <Field
            label=tr!(login.register.whatsapp)
            name="whatsapp"
            kind="tel"
            autocomplete="tel"
            value=whatsapp
            error=error.into()
            hint=tr!(login.register.whatsapp_hint)
        />
        <Field
            label=tr!(login.password)
            name="password"
            kind="password"
            autocomplete="new-password"
            value=password
            error=error.into()
            hint=tr!(login.register.password_hint)
        />
        <FormProblem error=error.into() fields=&["name", "email", "whatsapp", "password"] />
        <button type="submit" class="wide" disabled=move || action.pending().get()>
            {move || if action.pending().get() { tr!(login.register.creating) } else { tr!(login.register.create) }}
        </button>
    </form>
    }
}

// ---- The status view ----------------------------------------------------------------

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
        if let Ok(handle) =
            set_interval_with_handle(poll, Duration::from_secs(super::POLL_INTERVAL_SECS.into()))
        {
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
