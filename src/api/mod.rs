//! The REST API is made of Leptos server functions.
//!
//! Each `#[server(prefix = "/api/v1", endpoint = "...", input = ...)]` function in the
//! feature modules (`clients`, `users`, `devices`) is one REST route: its input encoding
//! picks the method (`GetUrl` → GET, [`JsonBody`] → POST, `DeleteUrl` → DELETE), its
//! endpoint the path. The same function is what the hydrated pages call, and what runs
//! when a page renders on the server. [`routes`] mounts them all.

pub mod codec;
#[cfg(feature = "ssr")]
mod mount;

pub use codec::JsonBody;
#[cfg(feature = "ssr")]
pub use mount::{routes, server_fn_paths};
