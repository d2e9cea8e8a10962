//! The hosted pages of a login request: sign in and register (the request's status is
//! `status`).

use super::{follow, form_echo, go, login_hint, req_token, self_url};
use crate::{
    error::ApiError,
    login::{
        ConfirmBody, ContinueAs, FypassConfirm, FypassLogin, FypassRegister, LoginBody,
        PageContext, RegisterBody, RequestView, get_page_context, kit::FormEcho,
    },
    pages::passkeys::PasskeySignIn,
    tr,
    ui::{ErrorPanel, Field, FormProblem, SignOutButton},
    users::User,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let mut echo = form_echo();
    if echo.identifier.is_empty()
        && let Some(hint) = login_hint()
    {
        echo.identifier = hint;
    }
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
pub(super) fn RequestProblem(error: ApiError) -> impl IntoView {
    view! {
        <section class="card">
            <h1>{tr!(login.problem.heading)}</h1>
            <ErrorPanel error />
            <p class="muted">
                {tr!(login.problem.before_link)}
                <a href=crate::paths::SIGN_IN>{tr!(login.problem.link)}</a>
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
    let register = self_url(crate::paths::REGISTER, token.as_deref());
    let code_url = self_url(crate::paths::CODE, token.as_deref());
    let recover_url = self_url(crate::paths::RECOVER, token.as_deref());
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
            <ConfirmGate request=ctx.request token path=crate::paths::SIGN_IN error=echo_error>
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
    let action_url = self_url(crate::paths::SIGN_IN, Some(&token));
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

#[cfg_attr(hydrates = "LoginForm", island)]
#[cfg_attr(not(hydrates = "LoginForm"), component)]
fn LoginForm(token: Option<String>, echo: FormEcho) -> impl IntoView {
    let action = ServerAction::<FypassLogin>::new();
    let identifier = RwSignal::new(echo.identifier.clone());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(echo.error.clone());
    follow(action, token.clone().unwrap_or_default(), error);
    let action_url = self_url(crate::paths::SIGN_IN, token.as_deref());
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
    let sign_in = self_url(crate::paths::SIGN_IN, token.as_deref());
    let echo_error = echo.error.clone();
    view! {
        <section class="card">
            <p class="eyebrow">"fypass"</p>
            <h1>{heading}</h1>
            <ConfirmGate request=ctx.request token=token.clone() path=crate::paths::REGISTER error=echo_error>
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
    let action_url = self_url(crate::paths::REGISTER, token.as_deref());
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
