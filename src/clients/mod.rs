//! Clients: the partner apps that call the REST API with their `x-client-key`.
//!
//! * [`Grant`] and their status (`crate::status::Status`): what a client may call, and
//!   whether it may call at all.
//! * [`get_client_info`]: `GET /api/v1/clients/info`.
//! * [`branding`]: the app's name, logo and colour on the pages its users see.
//! * Server side: `store` (the `clients` table; keys are made and hashed by
//!   `crate::secret`), `auth` (the per-route grant check every client route declares) and
//!   the key cache ([`ClientCache`], kept in the app state's services). The `fypass client
//!   ...` admin commands are `crate::cli::clients`.

#[cfg(feature = "ssr")]
pub mod auth;
pub mod branding;
#[cfg(feature = "ssr")]
mod cache;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub use cache::ClientCache;

use crate::{error::ApiError, status::Status};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An endpoint grant. A client holds a set of them; `*` holds them all.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grant {
    #[serde(rename = "clients.info")]
    ClientsInfo,
    #[serde(rename = "users.login")]
    UsersLogin,
    #[serde(rename = "users.status")]
    UsersStatus,
    #[serde(rename = "users.token")]
    UsersToken,
    #[serde(rename = "users.read")]
    UsersRead,
    #[serde(rename = "devices.save")]
    DevicesSave,
    #[serde(rename = "devices.read")]
    DevicesRead,
    #[serde(rename = "devices.delete")]
    DevicesDelete,
    /// OpenID Connect sign-in with an authorization code (`/oauth/authorize`, SPEC §15).
    #[serde(rename = "oauth.code")]
    OauthCode,
    /// The OAuth device grant (`/oauth/device_authorization`, RFC 8628).
    #[serde(rename = "oauth.device")]
    OauthDevice,
    #[serde(rename = "*")]
    All,
}

impl Grant {
    pub const ALL: [Grant; 11] = [
        Grant::ClientsInfo,
        Grant::UsersLogin,
        Grant::UsersStatus,
        Grant::UsersToken,
        Grant::UsersRead,
        Grant::DevicesSave,
        Grant::DevicesRead,
        Grant::DevicesDelete,
        Grant::OauthCode,
        Grant::OauthDevice,
        Grant::All,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Grant::ClientsInfo => "clients.info",
            Grant::UsersLogin => "users.login",
            Grant::UsersStatus => "users.status",
            Grant::UsersToken => "users.token",
            Grant::UsersRead => "users.read",
            Grant::DevicesSave => "devices.save",
            Grant::DevicesRead => "devices.read",
            Grant::DevicesDelete => "devices.delete",
            Grant::OauthCode => "oauth.code",
            Grant::OauthDevice => "oauth.device",
            Grant::All => "*",
        }
    }
}

impl std::str::FromStr for Grant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Grant::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Grant::ALL.iter().map(|g| g.as_str()).collect();
                format!("unknown grant '{s}' (known: {})", known.join(", "))
            })
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Get Info Client: the calling client as the admin configured it. Never the key or its hash.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub grants: Vec<Grant>,
    pub redirect_urls: Vec<String>,
    /// Where this deployment's hosted login pages live.
    pub fypass_url: String,
    pub created_at: String,
}

/// `GET /api/v1/clients/info` — the calling client.
#[server(prefix = "/api/v1", endpoint = "clients/info", input = GetUrl)]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::ClientsInfo))]
pub async fn get_client_info() -> Result<ClientInfo, ApiError> {
    let client = auth::current_client()?;
    let origin = crate::request::state()?.config.public_origin();
    Ok(client.info(&origin))
}
