//! The small kit the hosted pages and their plain-form handlers share: what a failed form
//! post shows again ([`FormEcho`]) and where a person goes once signed in ([`next_page`],
//! [`after`]). The pages themselves are in `crate::pages`, above every feature.

use super::Completion;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// What a plain form post left for the page it renders again: the error and what the
/// person typed (never the password).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormEcho {
    pub error: Option<ApiError>,
    pub identifier: String,
    pub name: String,
    pub email: String,
    pub whatsapp: String,
    /// `/account`: which form posted (its `intent`), so the right one shows the error.
    #[serde(default)]
    pub intent: String,
    /// `/account`: the recovery codes of a second factor just turned on, or new ones just
    /// made, shown this once.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

impl FormEcho {
    /// The page again with `error` alone (nothing typed to show back).
    pub fn error(error: ApiError) -> Self {
        FormEcho {
            error: Some(error),
            ..Default::default()
        }
    }
}

/// Where a person goes once signed in: the request's status, or their devices.
pub fn next_page(token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{}?reqToken={token}", crate::paths::STATUS),
        None => "/devices".into(),
    }
}

/// Where a person goes after `completion`: the second factor when it is asked for, the
/// verification step when codes were just sent to them, else [`next_page`].
pub fn after(completion: &Completion, token: Option<&str>) -> String {
    if completion.second_factor {
        return self_url(crate::paths::SECOND_FACTOR, token);
    }
    if completion.verify.is_empty() {
        return next_page(token);
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(token) = token {
        query.append_pair("reqToken", token);
    }
    for to in &completion.verify {
        query.append_pair("to", to);
    }
    format!("{}?{}", crate::paths::VERIFY, query.finish())
}

/// The page a form posts to without JavaScript: its own URL.
pub fn self_url(path: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{path}?reqToken={token}"),
        None => path.to_string(),
    }
}
