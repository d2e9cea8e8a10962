//! The lifecycle status shared by clients and users (set with the admin commands).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The status of a client or a user; anything but `active` shuts it out.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Inactive,
    Suspended,
    Deleted,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Active,
        Status::Inactive,
        Status::Suspended,
        Status::Deleted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Suspended => "suspended",
            Status::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status '{s}' (known: active, inactive, suspended, deleted)")
            })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
