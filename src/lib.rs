//! # fypass — a self-hosted identity core
//!
//! One binary serves a REST API for partner apps ("clients"), the hosted login pages
//! ("fypass") and the docs. How a request flows:
//!
//! 1. [`server`] builds the router and wraps it in the layers every request goes through
//!    (request id, log line and metrics, deadline, panic guard, security headers).
//! 2. A REST call reaches a Leptos **server function**: [`api`] mounts each `#[server]`
//!    function of the feature modules at its own method and path. A client route declares
//!    its grant next to its `#[server]` attribute (`clients::auth::RequireGrant`), which
//!    checks key, status and grant before the body is decoded; that attribute is also
//!    where the OpenAPI document and the docs read the grant from.
//! 3. The function reaches its request through [`request`] (the app state, the
//!    [`request::Caller`], the reply's status and cookies); one acting for the person signed
//!    in in this browser starts with the session guard (`users::session::require`).
//! 4. It returns its resource, or an [`error::ApiError`]: one type, with one code table,
//!    shared by the server (`IntoResponse`) and the browser (`FromServerFnError`).
//! 5. Data lives in SQLite or PostgreSQL behind [`db`], one query text for both.
//! 6. Pages ([`app`], [`docs`], and each feature's `pages`) are rendered on the server;
//!    their interactive parts are islands (`#[island]`), hydrated by the WASM build of this
//!    same crate ([`hydrate`]), which call the same server functions. A page loads the
//!    smallest build that holds its islands ([`bundles`]). Pages are built from the pieces
//!    in [`ui`].
//!
//! Feature areas, each with its types, server functions, storage and admin commands:
//! [`clients`] (keys, grants, `GET /api/v1/clients/info`), [`users`] (identifiers,
//! passwords, access tokens, browser sessions), [`login`] (the hosted login flow and its
//! pages), [`codes`] (recovery, one-time codes, verification), [`account`] (the person's
//! own page), [`passkeys`] (WebAuthn sign-in), [`tokens`] (access and refresh tokens, userinfo, introspection, logout),
//! [`devices`] (Save Device and friends, the dashboard). [`courier`] delivers codes. Leaves every module may
//! use: [`config`] (read once in `main.rs`), [`secret`] (opaque tokens), [`throttle`]
//! (counters against abuse), [`status`], [`redirect`] (where a browser may be sent).

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
pub mod locale;
pub mod login;
pub mod passkeys;
pub mod redirect;
pub mod status;
pub mod tokens;
pub mod ui;
pub mod users;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod courier;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod secret;
#[cfg(feature = "ssr")]
pub mod server;
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
