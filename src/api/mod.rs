//! The wire of the REST API, which is made of Leptos server functions.
//!
//! Each `#[server(prefix = "/api/v1", endpoint = "...", input = ...)]` function in the
//! feature modules (`clients` … `account`, and the page endpoints under `/_app` of `pages`
//! and `docs`) is one route: its input encoding picks the method (`GetUrl` → GET,
//! [`JsonBody`] → POST, `DeleteUrl` → DELETE), its endpoint the path. The same function is
//! what the hydrated pages call ([`PageClient`]), and what runs when a page renders on the
//! server. `routes` mounts them all. This module holds only these wire pieces (and
//! [`json_body!`](crate::json_body)); the OpenAPI document that describes the routes is
//! `crate::openapi`, above the features it reads.

mod client;
pub mod codec;
#[cfg(feature = "ssr")]
mod mount;

pub use client::PageClient;
pub use codec::JsonBody;
#[cfg(feature = "ssr")]
pub use mount::{routes, server_fn_paths, server_fn_routes};

/// A JSON route's arguments whose body is one struct (see [`json_body!`]).
pub trait JsonArgs {
    /// The request body, as documented.
    type Body;
}

/// Gives a JSON route whose body is one struct exactly that struct's decoding.
///
/// Such a route is declared with one `#[server(flatten)]` argument and
/// `input_derive = (Clone, serde::Serialize)`; `json_body!(ArgsStruct { arg: BodyType })`
/// then implements the arguments' `Deserialize` as `BodyType`'s own. (serde's `flatten`
/// would silently accept unknown fields and lose the path of a bad field.)
#[macro_export]
macro_rules! json_body {
    ($args:ident { $field:ident: $body:ty }) => {
        impl $crate::api::JsonArgs for $args {
            type Body = $body;
        }
        impl<'de> serde::Deserialize<'de> for $args {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$body as serde::Deserialize>::deserialize(d).map(|$field| $args { $field })
            }
        }
    };
}
