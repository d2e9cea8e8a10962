//! `/account`: the person's details, a new email address or number (verified with a code
//! before it replaces the old), their passkeys, a new password, and signing out everywhere.
//! Plain forms without JavaScript (answered by `forms`), server functions once hydrated.
//! A change that needs a recent proof of who the person is asks for it in place
//! ([`ReauthPrompt`]) and carries on.

use crate::account::{Account, ChangePassword, SendIdentifierCode, get_account};
use crate::{
    codes::{FypassVerify, VerifyBody},
    error::{ApiError, ErrorCode},
    locale,
    login::kit::FormEcho,
    pages::activity::Leaving,
    pages::factors::SecondFactorPanel,
    pages::{form_echo, passkeys::AccountPasskeys},
    passkeys::PasskeyView,
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
    leptos_axum::redirect(crate::paths::SIGN_IN);
    view! {
        <section class="card">
            <h1>{tr!(account.msg.sign_in_first)}</h1>
            <a class="button" href=crate::paths::SIGN_IN>{tr!(login.sign_in)}</a>
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
    let (passkeys, passkeys_enabled) = (RwSignal::new(account.passkeys), account.passkeys_enabled);
    let second_factor = account.second_factor;
    let notice = RwSignal::new(done.map(|d| match d.as_str() {
        "password" => tr!(account.done.password).to_string(),
        "passkey" => tr!(account.done.passkey).to_string(),
        "second-factor" => tr!(factors.panel.off_done).to_string(),
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
                    <a class="button secondary" href=crate::paths::ACTIVITY>{tr!(activity.title)}</a>
                    <a class="button secondary" href="/devices">{tr!(login.your_devices)}</a>
                    <SignOutButton />
                </div>
            </header>
            {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <Identifiers user />
            <NewIdentifier user echo=echo.clone() sent />
            <AccountPasskeys enabled=passkeys_enabled list=passkeys />
            <SecondFactorPanel factor=second_factor echo=echo.clone() />
            <NewPassword echo=echo.clone() notice passkeys />
            <SignOutEverywhere />
            <Leaving echo />
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
    let password = RwSignal::new(String::new());
    let sent_to = RwSignal::new(sent);
    // A plain post's error, unless another panel's form posted it (the second factor's).
    let echoed = echo
        .error
        .clone()
        .filter(|_| !echo.intent.starts_with("totp") && echo.intent != "delete-account");
    let error = RwSignal::new(echoed.clone());
    // Asked once a send needed a recent proof; kept while the person types.
    let asking = RwSignal::new(echoed.as_ref().is_some_and(asks_again));
    Effect::new(move |_| match send.value().get() {
        Some(Ok(to)) => {
            asking.set(false);
            password.set(String::new());
            sent_to.set(Some(to))
        }
        Some(Err(e)) => {
            if asks_again(&e) {
                asking.set(true);
            }
            error.set(Some(e))
        }
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
    let dispatch_send = move || {
        error.set(None);
        send.dispatch(SendIdentifierCode {
            identifier: identifier.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        });
    };
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        dispatch_send();
    };
    // A passkey proved it: send again, without a password.
    let proven = Callback::new(move |()| dispatch_send());
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
                    <form class="form" method="post" action=crate::paths::ACCOUNT novalidate on:submit=confirm>
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
                <form class="form" method="post" action=crate::paths::ACCOUNT novalidate on:submit=ask>
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
                    <Show when=move || asking.get()>
                        <ReauthPrompt password error proven />
                    </Show>
                    <FormProblem error=error.into() fields=&["identifier", "password"] />
                    <button type="submit" disabled=move || send.pending().get()>{tr!(account.change.send)}</button>
                </form>
            </Show>
        </section>
    }
}

/// A new password; the person's passkeys are listed, with the offer to remove them too
/// (a passkey someone else added would still sign them in).
#[component]
fn NewPassword(
    echo: FormEcho,
    notice: RwSignal<Option<String>>,
    passkeys: RwSignal<Vec<PasskeyView>>,
) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let remove_passkeys = RwSignal::new(false);
    // Only a password form's own error (a plain post echoes one error for the page).
    let error = RwSignal::new(
        echo.error
            .filter(|e| e.field_message("current").is_some() || e.field_message("new").is_some()),
    );
    Effect::new(move |_| match action.value().get() {
        Some(Ok(())) => {
            current.set(String::new());
            new.set(String::new());
            if remove_passkeys.get_untracked() {
                passkeys.set(Vec::new());
                remove_passkeys.set(false);
            }
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
            remove_passkeys: remove_passkeys.get_untracked(),
        });
    };
    view! {
        <section class="panel">
            <h2>{tr!(login.password)}</h2>
            <form class="form" method="post" action=crate::paths::ACCOUNT novalidate on:submit=submit>
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
                <Show when=move || !passkeys.read().is_empty()>
                    <fieldset class="passkeys-too">
                        <legend>{tr!(account.password.passkeys_lead)}</legend>
                        <ul class="muted small">
                            {move || passkeys.get().into_iter().map(|p| view! { <li>{p.name}</li> }).collect_view()}
                        </ul>
                        <label class="check">
                            <input
                                type="checkbox"
                                name="removePasskeys"
                                prop:checked=move || remove_passkeys.get()
                                on:change=move |ev| remove_passkeys.set(event_target_checked(&ev))
                            />
                            " " {tr!(account.password.remove_passkeys)}
                        </label>
                    </fieldset>
                </Show>
                <FormProblem error=error.into() fields=&["current", "new"] />
                <button type="submit" disabled=move || action.pending().get()>{tr!(account.password.change)}</button>
            </form>
        </section>
    }
}

/// Whether `error` asks the person to prove who they are again (the password, or a passkey).
pub(crate) fn asks_again(error: &ApiError) -> bool {
    error.code == ErrorCode::ReauthenticationRequired
        || (error.code == ErrorCode::InvalidPassword && error.field_message("password").is_some())
}

/// "Confirm it is you": the password, sent with the form it sits in (also without
/// JavaScript: a plain post carries it), or a passkey of the person's, after which
/// `proven` carries on.
#[component]
pub(crate) fn ReauthPrompt(
    password: RwSignal<String>,
    error: RwSignal<Option<ApiError>>,
    proven: Callback<()>,
) -> impl IntoView {
    let passkey_ready = RwSignal::new(false);
    let busy = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        passkey_ready.set(crate::passkeys::browser::supported());
        #[cfg(not(feature = "hydrate"))]
        let _ = passkey_ready;
    });
    let use_passkey = move |_| {
        error.set(None);
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let outcome = crate::pages::passkeys::reauthenticate_with_passkey().await;
            busy.set(false);
            match outcome {
                Ok(true) => proven.run(()),
                Ok(false) => {}
                Err(e) => error.set(Some(e)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = proven;
    };
    view! {
        <div class="reauth" role="group" aria-labelledby="reauth-lead">
            <p class="notice" id="reauth-lead">{tr!(account.reauth.lead)}</p>
            <Field label=tr!(login.password) name="password" kind="password" autocomplete="current-password" value=password error=error.into() />
            <Show when=move || passkey_ready.get()>
                <button type="button" class="secondary" on:click=use_passkey disabled=move || busy.get()>
                    {tr!(account.reauth.passkey)}
                </button>
            </Show>
        </div>
    }
}

/// Signs the person out everywhere: a plain form (with or without JavaScript), which ends on
/// the sign-in page. Also on `/devices`.
#[component]
pub fn SignOutEverywhere() -> impl IntoView {
    view! {
        <section class="panel" id="everywhere">
            <h2>{tr!(account.everywhere.heading)}</h2>
            <p class="muted">{tr!(account.everywhere.lead)}</p>
            <form class="form" method="post" action=crate::paths::ACCOUNT>
                <input type="hidden" name="intent" value="sign-out-everywhere" />
                <button type="submit" class="secondary danger">{tr!(account.everywhere.button)}</button>
            </form>
        </section>
    }
}
