//! `/account`: the person's details, a new email address or number (verified with a code
//! before it replaces the old), and a new password. Plain forms without JavaScript (answered
//! by `forms`), server functions once hydrated.

use super::{Account, ChangePassword, SendIdentifierCode, get_account};
use crate::{
    codes::{FypassVerify, VerifyBody},
    error::ErrorCode,
    locale,
    login::pages::{FormEcho, form_echo},
    passkeys::pages::AccountPasskeys,
    tr,
    ui::{ErrorPanel, Field, FormProblem, SignOutButton},
    users::{User, identifier_for_display},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountPage() -> impl IntoView {
    let echo = form_echo();
    let account = Resource::new_blocking(|| (), |_| get_account());
    let query = use_query_map();
    // After a plain form post: which identifier a code went to, and what changed.
    let sent = move || query.read().get("sent").filter(|s| !s.is_empty());
    let done = move || query.read().get("done").filter(|s| !s.is_empty());
    view! {
        <Title text=tr!(account.title) />
        <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
            {move || Suspend::new({
                let echo = echo.clone();
                async move {
                    match account.await {
                        Ok(account) => view! {
                            <AccountView account echo sent=sent() done=done() />
                        }
                        .into_any(),
                        Err(e) if e.code == ErrorCode::Unauthorized => view! { <SignInFirst /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignInFirst() -> impl IntoView {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect("/fypass");
    view! {
        <section class="card">
            <h1>{tr!(account.msg.sign_in_first)}</h1>
            <a class="button" href="/fypass">{tr!(login.sign_in)}</a>
        </section>
    }
}

/// The page's interactive whole (one island: the name in the header, the identifiers and
/// the notices follow what the forms below change).
#[cfg_attr(hydrates = "AccountView", island)]
#[cfg_attr(not(hydrates = "AccountView"), component)]
fn AccountView(
    account: Account,
    echo: FormEcho,
    sent: Option<String>,
    done: Option<String>,
) -> impl IntoView {
    let user = RwSignal::new(account.user);
    let (passkeys, passkeys_enabled) = (account.passkeys, account.passkeys_enabled);
    let notice = RwSignal::new(done.map(|d| match d.as_str() {
        "password" => tr!(account.done.password).to_string(),
        "passkey" => tr!(account.done.passkey).to_string(),
        _ => tr!(account.done.verified).to_string(),
    }));
    view! {
        <section class="dashboard">
            <header class="dashboard-head">
                <div>
                    <h1>{tr!(account.title)}</h1>
                    <p class="muted">{move || {
                        let user = user.read();
                        tr!(account.signed_in_as, name = user.name.clone(), contact = user.contact_for_display(locale::current()))
                    }}</p>
                </div>
                <div class="actions">
                    <a class="button secondary" href="/devices">{tr!(login.your_devices)}</a>
                    <SignOutButton />
                </div>
            </header>
            {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <Identifiers user />
            <NewIdentifier user echo=echo.clone() sent />
            <AccountPasskeys enabled=passkeys_enabled passkeys />
            <NewPassword echo notice />
        </section>
    }
}

/// The person's email address and number, each verified or not.
#[component]
fn Identifiers(user: RwSignal<User>) -> impl IntoView {
    let rows = move || {
        let u = user.get();
        [
            (
                tr!(login.register.email),
                u.email.clone(),
                u.email_verified_at.is_some(),
            ),
            (
                tr!(login.register.whatsapp),
                u.whatsapp
                    .as_deref()
                    .map(|w| identifier_for_display(w, locale::current())),
                u.whatsapp_verified_at.is_some(),
            ),
        ]
    };
    view! {
        <section class="panel">
            <h2>{tr!(account.identifiers)}</h2>
            <dl class="facts">
                {move || rows().into_iter().map(|(label, value, verified)| view! {
                    <dt>{label}</dt>
                    <dd>{match value {
                        Some(v) => view! {
                            <span>{v}</span> " "
                            {if verified {
                                view! { <span class="tag ok">{tr!(account.verified)}</span> }.into_any()
                            } else {
                                view! { <span class="tag">{tr!(account.not_verified)}</span> }.into_any()
                            }}
                        }.into_any(),
                        None => view! { <span class="muted">{tr!(account.none)}</span> }.into_any(),
                    }}</dd>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// A new email address or number, or verifying the current one: a code to it, then the code.
#[component]
fn NewIdentifier(user: RwSignal<User>, echo: FormEcho, sent: Option<String>) -> impl IntoView {
    let send = ServerAction::<SendIdentifierCode>::new();
    let verify = ServerAction::<FypassVerify>::new();
    let identifier = RwSignal::new(echo.identifier.clone());
    let code = RwSignal::new(String::new());
    let sent_to = RwSignal::new(sent);
    let error = RwSignal::new(echo.error.clone());
    Effect::new(move |_| match send.value().get() {
        Some(Ok(to)) => sent_to.set(Some(to)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match verify.value().get() {
        Some(Ok(_)) => {
            // Read the account again: the identifier changed, or became verified.
            leptos::task::spawn_local(async move {
                if let Ok(account) = get_account().await {
                    user.set(account.user);
                }
            });
            sent_to.set(None);
            identifier.set(String::new());
            code.set(String::new());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        send.dispatch(SendIdentifierCode {
            identifier: identifier.get_untracked(),
        });
    };
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        verify.dispatch(FypassVerify {
            body: VerifyBody {
                identifier: sent_to.get_untracked().unwrap_or_default(),
                code: code.get_untracked(),
            },
        });
    };
    view! {
        <section class="panel">
            <h2>{tr!(account.change.heading)}</h2>
            <Show
                when=move || sent_to.get().is_none()
                fallback=move || view! {
                    <form class="form" method="post" action="/account" novalidate on:submit=confirm>
                        <p>
                            {tr!(codes.verify.sent_to)} " "
                            <strong>{move || identifier_for_display(&sent_to.get().unwrap_or_default(), locale::current())}</strong>
                            ". " {tr!(account.change.replaces)}
                        </p>
                        <input type="hidden" name="intent" value="verify" />
                        <input type="hidden" name="identifier" value=move || sent_to.get().unwrap_or_default() />
                        <Field label=tr!(codes.code) name="code" autocomplete="one-time-code" value=code error=error.into() hint=tr!(codes.code_hint) />
                        <FormProblem error=error.into() fields=&["code"] />
                        <button type="submit" disabled=move || verify.pending().get()>{tr!(codes.verify.button)}</button>
                    </form>
                }
            >
                <form class="form" method="post" action="/account" novalidate on:submit=ask>
                    <p class="muted">{tr!(account.change.lead)}</p>
                    <input type="hidden" name="intent" value="send" />
                    <Field
                        label=tr!(login.identifier)
                        name="identifier"
                        autocomplete="off"
                        value=identifier
                        error=error.into()
                        hint=tr!(login.identifier_hint)
                    />
                    <FormProblem error=error.into() fields=&["identifier"] />
                    <button type="submit" disabled=move || send.pending().get()>{tr!(account.change.send)}</button>
                </form>
            </Show>
        </section>
    }
}

#[component]
fn NewPassword(echo: FormEcho, notice: RwSignal<Option<String>>) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    // Only a password form's own error (a plain post echoes one error for the page).
    let error = RwSignal::new(
        echo.error
            .filter(|e| e.field_message("current").is_some() || e.field_message("new").is_some()),
    );
    Effect::new(move |_| match action.value().get() {
        Some(Ok(())) => {
            current.set(String::new());
            new.set(String::new());
            notice.set(Some(tr!(account.done.password).into()));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        action.dispatch(ChangePassword {
            current: current.get_untracked(),
            new: new.get_untracked(),
        });
    };
    view! {
        <section class="panel">
            <h2>{tr!(login.password)}</h2>
            <form class="form" method="post" action="/account" novalidate on:submit=submit>
                <input type="hidden" name="intent" value="password" />
                <Field label=tr!(account.password.current) name="current" kind="password" autocomplete="current-password" value=current error=error.into() />
                <Field
                    label=tr!(codes.recover.new_password)
                    name="new"
                    kind="password"
                    autocomplete="new-password"
                    value=new
                    error=error.into()
                    hint=tr!(account.password.hint)
                />
                <FormProblem error=error.into() fields=&["current", "new"] />
                <button type="submit" disabled=move || action.pending().get()>{tr!(account.password.change)}</button>
            </form>
        </section>
    }
}
