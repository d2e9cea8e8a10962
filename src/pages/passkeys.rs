//! The passkey parts of the pages: "Sign in with a passkey" and autofill on the sign-in
//! page, the one-time offer after signing in, and the list on `/account`.
//!
//! A passkey needs JavaScript (the browser's WebAuthn API): these parts appear once the
//! page is hydrated and the browser can use passkeys here; without JavaScript the sign-in
//! page says so, and `/account` still lists, renames and removes passkeys as plain forms.

#[cfg(feature = "hydrate")]
use crate::passkeys::{PasskeyFinishBody, PasskeyRegisterStartBody};
use crate::passkeys::{PasskeyRenameBody, PasskeyView, RemovePasskeyFromPage, RenamePasskey};
use crate::{
    error::ApiError,
    locale,
    pages::account::ReauthPrompt,
    tr,
    ui::{ErrorPanel, Field, FormProblem},
};
use leptos::prelude::*;

/// "Sign in with a passkey", and passkeys in the identifier's autofill.
#[cfg_attr(hydrates = "PasskeySignIn", island)]
#[cfg_attr(not(hydrates = "PasskeySignIn"), component)]
pub fn PasskeySignIn(enabled: bool, token: Option<String>) -> impl IntoView {
    let ready = RwSignal::new(false);
    let awake = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    {
        let token = token.clone();
        Effect::new(move |_| {
            awake.set(true);
            #[cfg(feature = "hydrate")]
            if enabled && crate::passkeys::browser::supported() {
                ready.set(true);
                live::arm_autofill(token.clone(), error);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&token, ready, error);
        });
    }
    #[cfg(feature = "hydrate")]
    on_cleanup(live::disarm);
    let click = move |_| {
        error.set(None);
        busy.set(true);
        #[cfg(feature = "hydrate")]
        live::sign_in_now(token.clone(), error, busy);
        #[cfg(not(feature = "hydrate"))]
        let _ = &token;
    };
    view! {
        // Until the page hydrates (never, without JavaScript). Not a <noscript>: a browser
        // whose scripts are off by setting still parses that as text.
        <Show when=move || enabled && !awake.get()>
            <p class="muted small passkey-note">{tr!(passkeys.need_js_sign_in)}</p>
        </Show>
        <Show when=move || ready.get()>
            <div class="passkey-sign-in">
                <button type="button" class="secondary wide" on:click=click.clone() disabled=move || busy.get()>
                    {move || if busy.get() { tr!(passkeys.waiting) } else { tr!(passkeys.sign_in) }}
                </button>
                <FormProblem error=error.into() fields=&[] />
            </div>
        </Show>
    }
}

/// A new passkey, made in this browser: a name, then the browser's own prompt; when the
/// person has not proved who they are here in the last few minutes, first their password
/// or another of their passkeys (`account::reauth`).
#[component]
fn AddPasskey(
    /// Called with the new passkey.
    added: Callback<PasskeyView>,
    /// The button's text ("Add a passkey" unless given).
    #[prop(optional)]
    label: Option<&'static str>,
) -> impl IntoView {
    let name = RwSignal::new(default_name());
    let password = RwSignal::new(String::new());
    let needs_password = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let add = move || {
        error.set(None);
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let outcome = live::add(name.get_untracked(), password.get_untracked()).await;
            busy.set(false);
            match outcome {
                Ok(view) => {
                    needs_password.set(false);
                    password.set(String::new());
                    added.run(view)
                }
                Err(e) => {
                    if crate::pages::account::asks_again(&e) {
                        needs_password.set(true);
                    }
                    error.set(Some(e));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (added, name, password);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add();
    };
    let proven = Callback::new(move |()| add());
    view! {
        <form class="form add-passkey" on:submit=submit>
            <Field label=tr!(passkeys.name_label) name="name" autocomplete="off" value=name error=error.into() hint=tr!(passkeys.name_hint) />
            <Show when=move || needs_password.get()>
                <ReauthPrompt password error proven />
            </Show>
            <FormProblem error=error.into() fields=&["name", "password"] />
            <button type="submit" disabled=move || busy.get()>{label.unwrap_or_else(|| tr!(passkeys.add))}</button>
        </form>
    }
}

/// A name for a passkey made here, from what the browser says of itself.
fn default_name() -> String {
    #[cfg(feature = "hydrate")]
    if let Some(agent) = web_sys::window().and_then(|w| w.navigator().user_agent().ok()) {
        for (needle, name) in [
            ("Android", tr!(passkeys.device.android)),
            ("iPhone", "iPhone"),
            ("iPad", "iPad"),
            ("Macintosh", "Mac"),
            ("Windows", tr!(passkeys.device.windows)),
            ("CrOS", "Chromebook"),
            ("Linux", tr!(passkeys.device.linux)),
        ] {
            if agent.contains(needle) {
                return name.to_string();
            }
        }
    }
    tr!(passkeys.device.other).to_string()
}

/// After signing in or registering: create a passkey now? Offered once.
#[component]
pub fn PasskeyOffer() -> impl IntoView {
    let ready = RwSignal::new(false);
    let open = RwSignal::new(true);
    let added = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        ready.set(crate::passkeys::browser::supported());
        #[cfg(not(feature = "hydrate"))]
        let _ = ready;
    });
    let on_added = Callback::new(move |view: PasskeyView| added.set(Some(view.name)));
    view! {
        <Show when=move || ready.get() && open.get()>
            <section class="panel passkey-offer">
                {move || match added.get() {
                    Some(name) => view! { <p class="verified">{tr!(passkeys.offer.added, name = name)}</p> }.into_any(),
                    None => view! {
                        <h2>{tr!(passkeys.offer.heading)}</h2>
                        <p class="muted">{tr!(passkeys.offer.lead)}</p>
                        <AddPasskey added=on_added label=tr!(passkeys.offer.create) />
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>{tr!(passkeys.offer.not_now)}</button>
                    }.into_any(),
                }}
            </section>
        </Show>
    }
}

/// `/account`'s passkeys: each with its name, when it was made and last used; rename and
/// remove (plain forms too), and add one (JavaScript).
#[component]
pub fn AccountPasskeys(enabled: bool, list: RwSignal<Vec<PasskeyView>>) -> impl IntoView {
    let ready = RwSignal::new(false);
    let awake = RwSignal::new(false);
    Effect::new(move |_| {
        awake.set(true);
        #[cfg(feature = "hydrate")]
        ready.set(enabled && crate::passkeys::browser::supported());
        #[cfg(not(feature = "hydrate"))]
        let _ = ready;
    });
    let added = Callback::new(move |view: PasskeyView| list.update(|l| l.insert(0, view)));
    view! {
        <section class="panel" id="passkeys">
            <h2>{tr!(passkeys.heading)}</h2>
            {(!enabled).then(|| view! {
                <p class="muted">{tr!(passkeys.msg.unavailable)}</p>
            })}
            <Show
                when=move || !list.read().is_empty()
                fallback=|| view! { <p class="muted">{tr!(passkeys.none_yet)}</p> }
            >
                <ul class="passkeys">
                    <For each=move || list.get() key=|p| (p.id.clone(), p.name.clone()) let:passkey>
                        <PasskeyItem passkey list />
                    </For>
                </ul>
            </Show>
            <Show when=move || enabled && !awake.get()>
                <p class="muted small">{tr!(passkeys.need_js_add)}</p>
            </Show>
            <Show when=move || ready.get()>
                <AddPasskey added />
            </Show>
        </section>
    }
}

#[component]
fn PasskeyItem(passkey: PasskeyView, list: RwSignal<Vec<PasskeyView>>) -> impl IntoView {
    let rename = ServerAction::<RenamePasskey>::new();
    let remove = ServerAction::<RemovePasskeyFromPage>::new();
    let name = RwSignal::new(passkey.name.clone());
    let name_input = NodeRef::new();
    crate::ui::keep_typed(name_input, name);
    let error = RwSignal::new(None::<ApiError>);
    let id = passkey.id.clone();
    {
        let id = id.clone();
        Effect::new(move |_| match rename.value().get() {
            Some(Ok(view)) => list.update(|l| {
                if let Some(p) = l.iter_mut().find(|p| p.id == view.id) {
                    *p = view;
                }
            }),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        });
        Effect::new(move |_| match remove.value().get() {
            Some(Ok(())) => list.update(|l| l.retain(|p| p.id != id)),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        });
    }
    let used = passkey
        .last_used_at
        .clone()
        .map_or(tr!(passkeys.item.never_used).to_string(), |at| {
            tr!(passkeys.item.last_used, at = short_time(&at))
        });
    let on_rename = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            rename.dispatch(RenamePasskey {
                body: PasskeyRenameBody {
                    id: id.clone(),
                    name: name.get_untracked(),
                },
            });
        }
    };
    let on_remove = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            remove.dispatch(RemovePasskeyFromPage { id: id.clone() });
        }
    };
    view! {
        <li class="passkey" data-passkey-id=id.clone()>
            <p class="device-name">{passkey.name.clone()} {passkey.synced.then(|| view! { <span class="tag">{tr!(passkeys.item.synced)}</span> })}</p>
            <p class="muted small">{tr!(passkeys.item.added, at = short_time(&passkey.created_at), used = used)}</p>
            <form class="inline-form" method="post" action=crate::paths::ACCOUNT on:submit=on_rename>
                <input type="hidden" name="intent" value="passkey-rename" />
                <input type="hidden" name="passkey" value=id.clone() />
                <label class="visually-hidden" for=format!("passkey-name-{id}")>{tr!(passkeys.item.name)}</label>
                <input node_ref=name_input id=format!("passkey-name-{id}") type="text" name="name" value=name.get_untracked() on:input=move |ev| name.set(event_target_value(&ev)) />
                <button type="submit" class="secondary" disabled=move || rename.pending().get()>{tr!(passkeys.item.rename)}</button>
            </form>
            <form class="inline-form" method="post" action=crate::paths::ACCOUNT on:submit=on_remove>
                <input type="hidden" name="intent" value="passkey-remove" />
                <input type="hidden" name="passkey" value=id.clone() />
                <button type="submit" class="secondary danger" aria-label=tr!(passkeys.item.remove_named, name = passkey.name.clone()) disabled=move || remove.pending().get()>{tr!(passkeys.item.remove)}</button>
            </form>
            {move || error.get().map(|error| view! { <ErrorPanel error /> })}
        </li>
    }
}

/// `2026-11-26T15:04:05.123Z` → `26 November 2026, 15:04 UTC` (in the page's language).
fn short_time(rfc3339: &str) -> String {
    locale::exact_time(rfc3339, locale::current())
}

/// Proves who the person signed in here is with one of their passkeys (a modal prompt):
/// `Ok(false)` when they cancelled it.
#[cfg(feature = "hydrate")]
pub(crate) async fn reauthenticate_with_passkey() -> Result<bool, ApiError> {
    live::reauthenticate().await
}

/// The browser-only part: ceremonies with `navigator.credentials`.
#[cfg(feature = "hydrate")]
mod live {
    use super::*;
    use crate::passkeys::{
        PasskeyLoginStartBody, browser, passkey_login_finish, passkey_login_start,
    };
    use crate::{error::ErrorCode, login::kit::after, pages::go};
    use std::cell::RefCell;

    thread_local! {
        /// The autofill request waiting for the person, to abort before another request.
        static AUTOFILL: RefCell<Option<web_sys::AbortController>> = const { RefCell::new(None) };
    }

    pub fn disarm() {
        if let Some(controller) = AUTOFILL.with_borrow_mut(Option::take) {
            controller.abort();
        }
    }

    fn refused(e: &wasm_bindgen::JsValue) -> Option<ApiError> {
        match browser::error_name(e).as_str() {
            // Cancelled by the person, or by us: nothing to say.
            "NotAllowedError" | "AbortError" => None,
            "InvalidStateError" => Some(ApiError::with_message(
                ErrorCode::PasskeyRejected,
                crate::tr!(passkeys.msg.already_on_device),
            )),
            name => Some(ApiError::with_message(
                ErrorCode::PasskeyRejected,
                crate::tr!(passkeys.msg.browser_failed, name = name),
            )),
        }
    }

    async fn finish(
        token: Option<String>,
        ceremony_id: String,
        credential: serde_json::Value,
    ) -> Result<(), ApiError> {
        let completion = passkey_login_finish(PasskeyFinishBody {
            ceremony_id,
            credential,
            name: None,
        })
        .await?;
        go(&after(&completion, token.as_deref()));
        Ok(())
    }

    /// Offers passkeys in the identifier's autofill, until the page goes or one is picked.
    pub fn arm_autofill(token: Option<String>, error: RwSignal<Option<ApiError>>) {
        leptos::task::spawn_local(async move {
            if !browser::autofill_available().await {
                return;
            }
            let Ok(challenge) = passkey_login_start(PasskeyLoginStartBody {
                req_token: token.clone(),
            })
            .await
            else {
                return;
            };
            let Ok(controller) = web_sys::AbortController::new() else {
                return;
            };
            let signal = controller.signal();
            disarm();
            AUTOFILL.with_borrow_mut(|slot| *slot = Some(controller));
            match browser::get(&challenge.public_key, Some(&signal)).await {
                Ok(Some(credential)) => {
                    if let Err(e) = finish(token, challenge.ceremony_id, credential).await {
                        error.set(Some(e));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    if let Some(e) = refused(&e) {
                        error.set(Some(e));
                    }
                }
            }
        });
    }

    /// The button: a modal passkey prompt (the autofill request is aborted first: a
    /// browser runs one request at a time).
    pub fn sign_in_now(
        token: Option<String>,
        error: RwSignal<Option<ApiError>>,
        busy: RwSignal<bool>,
    ) {
        disarm();
        leptos::task::spawn_local(async move {
            let outcome = async {
                let challenge = passkey_login_start(PasskeyLoginStartBody {
                    req_token: token.clone(),
                })
                .await?;
                match browser::get(&challenge.public_key, None).await {
                    Ok(Some(credential)) => finish(token, challenge.ceremony_id, credential).await,
                    Ok(None) => Ok(()),
                    Err(e) => refused(&e).map_or(Ok(()), Err),
                }
            }
            .await;
            busy.set(false);
            if let Err(e) = outcome {
                error.set(Some(e));
            }
        });
    }

    /// A sign-in ceremony without a login request, answered by one of the person's passkeys,
    /// as a proof for `account::reauth`.
    pub async fn reauthenticate() -> Result<bool, ApiError> {
        disarm();
        let challenge = passkey_login_start(PasskeyLoginStartBody { req_token: None }).await?;
        let credential = match browser::get(&challenge.public_key, None).await {
            Ok(Some(credential)) => credential,
            Ok(None) => return Ok(false),
            Err(e) => return refused(&e).map_or(Ok(false), Err),
        };
        crate::account::reauthenticate(crate::account::ReauthenticateBody {
            password: None,
            ceremony_id: Some(challenge.ceremony_id),
            credential: Some(credential),
        })
        .await?;
        Ok(true)
    }

    /// Adds a passkey made by this browser's authenticator.
    pub async fn add(name: String, password: String) -> Result<PasskeyView, ApiError> {
        let challenge = crate::passkeys::passkey_register_start(PasskeyRegisterStartBody {
            password: Some(password).filter(|p| !p.is_empty()),
        })
        .await?;
        let credential = browser::create(&challenge.public_key).await.map_err(|e| {
            refused(&e).unwrap_or_else(|| {
                ApiError::with_message(
                    ErrorCode::PasskeyRejected,
                    crate::tr!(passkeys.msg.none_made),
                )
            })
        })?;
        crate::passkeys::passkey_register_finish(PasskeyFinishBody {
            ceremony_id: challenge.ceremony_id,
            credential,
            name: Some(name),
        })
        .await
    }
}
