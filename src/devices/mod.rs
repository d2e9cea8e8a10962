//! Devices: the installations of client apps (SPEC §6).
//!
//! * [`DeviceInfo`]: what an app says about an installation (validated strictly).
//! * [`Device`]: a saved device, as the API returns it.
//! * Server side: `store` (the `devices` table, with its one-statement upsert).

#[cfg(feature = "ssr")]
pub mod store;

use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// The platform a device runs.
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
        let mut error: Option<ApiError> = None;
        for (field, value) in fields {
            let Some(value) = value else { continue };
            if let Err(message) = check_text(value, limit(field)) {
                let name = format!("{prefix}{field}");
                error = Some(match error {
                    Some(e) => e.and_field(name, message),
                    None => ApiError::invalid(name, message),
                });
            }
        }
        error.map_or(Ok(()), Err)
    }
}

/// A free-text field: not blank, at most `max` characters, no control characters.
pub fn check_text(value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        Err("must not be empty".into())
    } else if value.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if value.chars().any(char::is_control) {
        Err("must not contain control characters".into())
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
