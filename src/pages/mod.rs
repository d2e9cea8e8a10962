//! The pages a person sees: signing in and registering ([`login`]), the login request's
//! status ([`status`]), codes ([`codes`]), passkeys ([`passkeys`]), their account ([`account`]) and
//! their devices ([`devices`]).
//!
//! They sit above every feature (a sign-in page offers a passkey, the account page lists
//! them, the status page offers one once): the features keep their rules, storage and
//! server functions, and the small kit their plain-form handlers share with the pages
//! (`login::kit`). The router that lists the pages is `app`.
//!
//! Every form works twice over. Before the WASM loads (or without JavaScript) it is a
//! plain `<form method="post">` to the page's own URL, answered by the feature's `forms`
//! with a redirect or the page again showing the error. Once hydrated, submitting calls the
//! server function instead, keeps what was typed, shows the error beside its field and
//! disables the button while it runs. Each form is an island (`#[island]`): its props
//! travel with the page as JSON, and only islands ship as WASM. An island moves on with a
//! full page load (`location.href`), as a plain form does.

pub mod account;
pub mod activity;
pub mod codes;
pub mod devices;
pub mod factors;
pub mod login;
pub mod passkeys;
pub mod status;

pub(crate) use crate::login::kit::self_url;

use crate::{
    error::ApiError,
    login::{
        Completion,
        kit::{FormEcho, after},
    },
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The echo of a plain form post, from the server's context while rendering (an island
/// that shows it receives it as a prop).
pub(crate) fn form_echo() -> FormEcho {
    use_context::<FormEcho>().unwrap_or_default()
}

/// `login_hint` of the address (`/oauth/authorize` passes on an app's): who the app expects
/// to sign in, to fill the identifier field with.
pub(crate) fn login_hint() -> Option<String> {
    use_query_map()
        .read_untracked()
        .get("login_hint")
        .filter(|h| !h.is_empty() && h.chars().count() <= 320)
}

pub(crate) fn req_token() -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("reqToken").filter(|t| !t.is_empty()))
}

/// An island moves on to `url`, a path of this site (else the home page:
/// [`crate::redirect`]), as a plain form would: a full page load (there is no client-side
/// router; the next page is the server's).
pub(crate) fn go(url: &str) {
    let _ = window()
        .location()
        .set_href(crate::redirect::local_or_home(url));
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
