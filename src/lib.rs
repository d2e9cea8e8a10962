//! # fypass — a self-hosted identity core
//!
//! One binary serves a REST API for partner apps ("clients"), the hosted login pages
//! ("fypass") and the docs.
//!
//! ## Layers
//!
//! Lowest first. A module imports only from its own layer and the layers below (`crate::`
//! and `super::` paths, also in attributes and macros), and two modules never import each
//! other. `tests/layers.rs` reads this list and fails, naming file and line, on an arrow
//! that points up or a circle; a new module gets its line here first.
//!
//! 1. `config`, `limits`, `secret`, `status`, `paths`, `redirect`, `locale`, `bundles`: leaves — the settings (read once in `main.rs`) and the abuse limits among them, opaque tokens and their hashes, account and client statuses, the hosted pages' paths, where a browser may be sent, the languages and `tr!`, which WASM a page loads.
//! 2. `error`, `password`: the one error type with its code table, and the Argon2 hasher with the password policy.
//! 3. `db`: SQLite or PostgreSQL, one query text for both, the migrations, group commits.
//! 4. `throttle`, `courier`: counters against abuse; the outbox and its delivery by email and WhatsApp.
//! 5. `state`: the `AppState` every handler reaches (low types only; the features' own services in a map by type).
//! 6. `request`, `api`: a request's state, caller, reply status and cookies; the wire of the server functions (`JsonBody`, `PageClient`, `json_body!`, mounting).
//! 7. `clients`: partner apps — keys, grants, branding, the key cache.
//! 8. `users`: people — identifiers, accounts, browser sessions, the stored second factor (TOTP secret, recovery codes).
//! 9. `ui`, `tokens`, `onetime`, `activity`: the pieces every page is built from; access and refresh tokens (a revocation also unlinks the person's devices; refreshes are committed in groups); the one-time code store, its messages and sending; the activity list and the alerts, written in the transaction of each change.
//! 10. `devices`: Save Device and friends.
//! 11. `login`: login requests, sign-in and registration, how a sign-in was proven and one waiting for its second factor, their throttle, re-authentication, the form kit of the pages.
//! 12. `passkeys`, `factors`, `oidc`: WebAuthn sign-in and registration; the second factor's rules (the second step of a sign-in, turning it on and off); fypass as an OpenID Connect provider (authorize, token, device grant, keys, discovery).
//! 13. `codes`: recovery, sign-in with a code, verification.
//! 14. `account`: the person's own changes (password, identifiers, signing out everywhere), the security centre's forms (ending a sign-in, "this wasn't me"), the export and leaving.
//! 15. `pages`, `openapi`: the pages a person sees (sign-in, codes, passkeys, account, devices); the OpenAPI document.
//! 16. `docs`: the developer pages.
//! 17. `app`: the HTML shell, the router of every page, the page context and form re-rendering.
//! 18. `server`: the router, the layers around every request, start-up (`AppState::init`), upkeep.
//! 19. `cli`: the admin commands, used by `main.rs` alone.
//!
//! ## A request's path through them
//!
//! 1. [`server`] builds the router and wraps it in the layers every request goes through
//!    (request id, language, log line and metrics, deadline, panic guard, security
//!    headers); `server::AppState::init` builds the [`state`] once.
//! 2. A REST call reaches a Leptos **server function** of a feature (`clients` … `account`):
//!    [`api`] mounts each `#[server]` function at its own method and path. A client route
//!    declares its grant next to its `#[server]` attribute (`clients::auth::RequireGrant`),
//!    which checks key, status and grant before the body is decoded; [`openapi`] and
//!    [`docs`] read the grant from there too.
//! 3. The function reaches its request through [`request`] (the [`state::AppState`], the
//!    [`request::Caller`], the reply's status and cookies); one acting for the person signed
//!    in in this browser starts with the session guard (`users::session::require`).
//! 4. It returns its resource, or an [`error::ApiError`]: one type, with one code table,
//!    shared by the server (`IntoResponse`) and the browser (`FromServerFnError`).
//! 5. Data lives in SQLite or PostgreSQL behind [`db`].
//! 6. A page request goes through [`app`] (its language and app look, then the router) to
//!    a page of [`pages`] or [`docs`], rendered on the server from the pieces in [`ui`];
//!    its interactive parts are islands (`#[island]`), hydrated by the WASM build of this
//!    same crate ([`hydrate`]), which call the same server functions. A page loads the
//!    smallest build that holds its islands ([`bundles`]). A plain form post (no
//!    JavaScript) goes to the feature's `forms`; when it fails, the handler answers with a
//!    marker (`login::forms::RenderAgain`) that [`app`] turns into the page again.

// Leptos views are deeply nested types; the dashboard's exceed the default limit.
#![recursion_limit = "256"]

pub mod account;
pub mod activity;
pub mod api;
pub mod app;
pub mod bundles;
pub mod clients;
pub mod codes;
pub mod devices;
pub mod docs;
pub mod error;
pub mod factors;
pub mod limits;
pub mod locale;
pub mod login;
pub mod onetime;
pub mod pages;
pub mod passkeys;
pub mod paths;
pub mod redirect;
pub mod status;
pub mod tokens;
pub mod ui;
pub mod users;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod courier;
#[cfg(feature = "ssr")]
pub mod db;
/// OpenID Connect provider (SPEC §15): `/.well-known/openid-configuration`, `/oauth/*`.
#[cfg(feature = "ssr")]
pub mod oidc;
#[cfg(feature = "ssr")]
pub mod openapi;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod secret;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod throttle;

/// The browser entry point. Pages are server-rendered HTML; only their islands (`#[island]`
/// components: the forms, the status poller, the dashboard's lists) are hydrated, by
/// Leptos' island script right after this returns (with the page's build: see [`bundles`]).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // Lets browser tests tell a hydrated page from its server-rendered HTML: set once the
    // island script has hydrated every island (it does so right after this call, in the same
    // task, so a zero timeout runs after it).
    leptos::prelude::set_timeout(
        || {
            if let Some(root) = leptos::prelude::document().document_element() {
                let _ = root.set_attribute("data-hydrated", "");
            }
        },
        std::time::Duration::ZERO,
    );
}
