//! Devices: the installations of client apps (`/docs/api`, "Devices").
//!
//! * [`DeviceInfo`]: what an app says about an installation (validated strictly).
//! * [`Device`]: a saved device, as the API returns it.
//! * Server side: `store` (the `devices` table, with its one-statement upsert).

#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
use crate::error::ErrorCode;
use crate::{api::JsonBody, error::ApiError, json_body};
use leptos::{
    prelude::*,
    server_fn::codec::{DeleteUrl, GetUrl},
};
use serde::{Deserialize, Serialize};

/// Devices per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

/// The platform a device runs.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Android,
    Ios,
    Web,
    Windows,
    Macos,
    Linux,
    Other,
}

impl Platform {
    pub const fn label(self) -> &'static str {
        match self {
            Platform::Android => "Android",
            Platform::Ios => "iOS",
            Platform::Web => "Web",
            Platform::Windows => "Windows",
            Platform::Macos => "macOS",
            Platform::Linux => "Linux",
            Platform::Other => "Other",
        }
    }

    /// [`Platform::label`] in the language of the request being served.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Other => crate::tr!(devices.other_platform),
            _ => self.label(),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
            Platform::Windows => "windows",
            Platform::Macos => "macos",
            Platform::Linux => "linux",
            Platform::Other => "other",
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            Platform::Android,
            Platform::Ios,
            Platform::Web,
            Platform::Windows,
            Platform::Macos,
            Platform::Linux,
            Platform::Other,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or(())
    }
}

/// The deviceInfo schema: what an app tells fypass about the installation it runs on.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceInfo {
    /// The app's stable install id (1..128 characters).
    pub device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    pub platform: Platform,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// A saved device.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(flatten)]
    pub info: DeviceInfo,
    /// The address the app saved it from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_seen_at: String,
}

/// A page of a client's devices, newest first.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePage {
    pub items: Vec<Device>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/devices` — Save Device: creates (201) or updates (200) the device with this
/// `deviceId`. With `Authorization: Bearer <accessToken>` the device is linked to that user,
/// and the token to the device (removing the device then revokes the token).
#[server(prefix = "/api/v1", endpoint = "devices", input = JsonBody, input_derive = (Clone, serde::Serialize))]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::DevicesSave))]
pub async fn save_device(#[server(flatten)] info: DeviceInfo) -> Result<Device, ApiError> {
    use crate::{request, tokens::access};
    use axum::http::StatusCode;
    let client = crate::clients::auth::current_client()?;
    let (state, caller) = request::Caller::current()?;
    info.validate("")?;
    let bearer = caller.bearer()?;
    let user_id = match bearer {
        Some(token) => Some(
            access::authenticate(&state.db, token, client.id)
                .await?
                .0
                .id,
        ),
        None => None,
    };
    let ip = caller.ip.to_string();
    let user_agent = caller.user_agent();
    let seen = store::Seen {
        ip_address: Some(&ip),
        user_agent: user_agent.as_deref(),
    };
    let (row, created) = store::Saves::of(&state)
        .save(client.id, user_id, info, seen)
        .await?;
    // The app saved this device with that token: removing the device signs the app out.
    if let Some(token) = bearer {
        access::bind_device(&state.db, token, row.id).await?;
    }
    request::reply_status(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    });
    Ok(row.view())
}
json_body!(SaveDevice { info: DeviceInfo });

/// A device id from a path or query: anything but a UUID is `INVALID_OBJECT_ID`.
#[cfg(feature = "ssr")]
fn parse_id(field: &str, value: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(value).map_err(|_| {
        ApiError::with_message(
            ErrorCode::InvalidObjectId,
            crate::tr!(api.invalid_id, field = field),
        )
    })
}

/// `GET /api/v1/devices/{id}` — Get Device Detail (this client's devices only).
#[server(prefix = "/api/v1", endpoint = "devices/{id}", input = GetUrl)]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::DevicesRead))]
pub async fn get_device(id: String) -> Result<Device, ApiError> {
    let client = crate::clients::auth::current_client()?;
    let state = crate::request::state()?;
    let id = parse_id("id", &id)?;
    let row = store::find(&state.db, client.id, id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::DeviceNotFound))?;
    Ok(row.view())
}

/// `GET /api/v1/devices?userId=&limit=&cursor=` — this client's devices, newest first.
#[server(prefix = "/api/v1", endpoint = "devices", input = GetUrl)]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::DevicesRead))]
pub async fn list_devices(
    #[server(default)]
    #[server(rename = "userId")]
    user_id: Option<String>,
    #[server(default)] limit: Option<u32>,
    #[server(default)] cursor: Option<String>,
) -> Result<DevicePage, ApiError> {
    let client = crate::clients::auth::current_client()?;
    let state = crate::request::state()?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            crate::tr!(api.limit_range, n = MAX_PAGE),
        ));
    }
    let user_id = user_id
        .as_deref()
        .map(|u| parse_id("userId", u))
        .transpose()?;
    let cursor = cursor
        .as_deref()
        .map(|c| parse_id("cursor", c))
        .transpose()?;
    // One more than asked tells whether another page follows.
    let mut rows = store::list(&state.db, client.id, user_id, cursor, limit + 1).await?;
    let next_cursor = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.to_string())
    });
    Ok(DevicePage {
        items: rows.iter().map(store::DeviceRow::view).collect(),
        next_cursor: next_cursor.flatten(),
    })
}

/// `DELETE /api/v1/devices/{id}` — removes this client's device and revokes the access
/// tokens bound to it. Replies 204.
#[server(prefix = "/api/v1", endpoint = "devices/{id}", input = DeleteUrl)]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::DevicesDelete))]
pub async fn delete_device(id: String) -> Result<(), ApiError> {
    let client = crate::clients::auth::current_client()?;
    let state = crate::request::state()?;
    let id = parse_id("id", &id)?;
    store::delete(&state.db, store::Owner::Client(client.id), id, None).await?;
    crate::request::reply_status(axum::http::StatusCode::NO_CONTENT);
    Ok(())
}

/// The length limit of each deviceInfo string field, in characters (the one place they are
/// written: validation and the API schema read them from here).
pub const LIMITS: [(&str, usize); 9] = [
    ("deviceId", 128),
    ("deviceName", 128),
    ("osVersion", 64),
    ("appVersion", 64),
    ("model", 128),
    ("manufacturer", 128),
    ("pushToken", 4096),
    ("locale", 35),
    ("timezone", 64),
];

/// The limit of a deviceInfo field.
pub fn limit(field: &str) -> usize {
    LIMITS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(0, |(_, l)| *l)
}

impl DeviceInfo {
    /// Checks every string field (non-empty, within its limit, no control characters),
    /// reporting all mistakes at once with `prefix` before each field name.
    pub fn validate(&self, prefix: &str) -> Result<(), ApiError> {
        let fields: [(&str, Option<&str>); 9] = [
            ("deviceId", Some(&self.device_id)),
            ("deviceName", self.device_name.as_deref()),
            ("osVersion", self.os_version.as_deref()),
            ("appVersion", self.app_version.as_deref()),
            ("model", self.model.as_deref()),
            ("manufacturer", self.manufacturer.as_deref()),
            ("pushToken", self.push_token.as_deref()),
            ("locale", self.locale.as_deref()),
            ("timezone", self.timezone.as_deref()),
        ];
        ApiError::check_fields(fields.into_iter().filter_map(|(field, value)| {
            let message = check_text(value?, limit(field)).err()?;
            Some((format!("{prefix}{field}"), message))
        }))
    }
}

/// A free-text field: not blank, at most `max` characters, no control characters.
pub fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(crate::tr!(common.field.not_empty).into())
    } else if value.chars().count() > max {
        Err(crate::tr!(common.field.at_most_chars, n = max))
    } else if value.chars().any(char::is_control) {
        Err(crate::tr!(common.field.control_chars).into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> DeviceInfo {
        serde_json::from_value(serde_json::json!({"deviceId": "install-1", "platform": "android"}))
            .unwrap()
    }

    #[test]
    fn validation_names_every_bad_field() {
        assert!(info().validate("").is_ok());
        let mut bad = info();
        bad.device_id = "x".repeat(129);
        bad.model = Some("  ".into());
        bad.locale = Some("en\nUS".into());
        let e = bad.validate("deviceInfo.").unwrap_err();
        let fields: Vec<_> = e.details.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "deviceInfo.deviceId",
                "deviceInfo.model",
                "deviceInfo.locale"
            ]
        );
    }

    #[test]
    fn unknown_fields_and_platforms_are_rejected() {
        assert!(
            serde_json::from_value::<DeviceInfo>(
                serde_json::json!({"deviceId": "a", "platform": "tizen"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<DeviceInfo>(
                serde_json::json!({"deviceId": "a", "platform": "ios", "x": 1})
            )
            .is_err()
        );
    }
}
