//! The documentation pages: `/docs` (API Information; `info`), `/docs/api` (every
//! endpoint, from the OpenAPI document; `api`, read through `reference`) and
//! `/docs/errors` (the Error Code List, generated from
//! [`ErrorCode`](crate::error::ErrorCode); `errors`).
//!
//! This file holds what the pages share: the data their server functions answer with, and
//! the code block.

mod api;
mod errors;
mod info;
mod oidc;
#[cfg(feature = "ssr")]
mod reference;

pub use api::{ApiReferencePage, GetApiReference, get_api_reference};
pub use errors::ErrorListPage;
pub use info::{ApiInfoPage, GetSiteInfo, get_site_info};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The deployment facts the docs quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInfo {
    pub public_url: String,
    pub login_ttl_secs: u64,
    pub token_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub request_timeout_ms: u64,
    pub body_limit_bytes: usize,
    pub header_timeout_secs: u64,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub registrations_per_hour: i64,
    /// The abuse limits in force (settings).
    pub limits: crate::limits::Limits,
    /// `off`, `optional` or `required`.
    pub verification: String,
    /// The channels configured (`email`, `whatsapp`).
    pub channels: Vec<String>,
    /// Attempts before the outbox gives a message up.
    pub delivery_attempts: i64,
    /// Whether passkeys work at this deployment's public URL.
    pub passkeys: bool,
    /// Each grant and the routes that require it.
    pub grants: Vec<GrantUse>,
}

/// A grant and the routes (`GET /api/v1/...`) that require it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantUse {
    pub grant: String,
    pub routes: Vec<String>,
}

/// The REST API as `/docs/api` shows it (built from `/api/openapi.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    pub endpoints: Vec<Endpoint>,
    /// Each schema's name and JSON.
    pub schemas: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub grant: Option<String>,
    pub auth: String,
    pub params: Vec<Parameter>,
    pub body: Option<String>,
    pub body_required: bool,
    pub example: Option<String>,
    pub replies: Vec<Reply>,
    pub curl: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub status: u16,
    pub description: String,
    pub schema: Option<String>,
    /// The error codes of an error reply.
    pub codes: Vec<String>,
}

/// A block of code or JSON. Focusable, so that a keyboard can scroll one wider than the page
/// (WCAG 2.1.1; axe's `scrollable-region-focusable`): the arrow keys scroll it once focused.
#[component]
fn CodeBlock(#[prop(into)] code: String) -> impl IntoView {
    view! { <pre tabindex="0"><code>{code}</code></pre> }
}
