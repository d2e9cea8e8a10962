//! What happened on a person's account (SPEC §16), for `/account/activity`: sign-ins and
//! failed attempts, codes sent, recoveries, changes of passkeys, second factor and
//! identifiers, devices removed — newest first, with the app, the device, the network and
//! the browser. Each entry is written in the transaction of the change it records
//! ([`record`]), so the list never shows what did not happen, nor misses what did; entries
//! are kept [`KEEP_DAYS`] days, then purged in batches with the other expired rows.

#[cfg(feature = "ssr")]
pub mod agent;
#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::ApiError;
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// How long an entry is kept.
pub const KEEP_DAYS: i64 = 180;
/// How many entries the page shows.
pub const PAGE_SIZE: i64 = 100;

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SignedIn,
    SignInFailed,
    SecondFactorFailed,
    CodeSent,
    Recovered,
    RecoveryCodeUsed,
    PasswordChanged,
    PasskeyAdded,
    PasskeyRemoved,
    FactorAdded,
    FactorRemoved,
    RecoveryCodesRenewed,
    IdentifierChanged,
    IdentifierRemoved,
    DeviceRemoved,
    SignedOutEverywhere,
    SessionEnded,
}

impl Kind {
    pub const ALL: [Kind; 17] = [
        Kind::SignedIn,
        Kind::SignInFailed,
        Kind::SecondFactorFailed,
        Kind::CodeSent,
        Kind::Recovered,
        Kind::RecoveryCodeUsed,
        Kind::PasswordChanged,
        Kind::PasskeyAdded,
        Kind::PasskeyRemoved,
        Kind::FactorAdded,
        Kind::FactorRemoved,
        Kind::RecoveryCodesRenewed,
        Kind::IdentifierChanged,
        Kind::IdentifierRemoved,
        Kind::DeviceRemoved,
        Kind::SignedOutEverywhere,
        Kind::SessionEnded,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignedIn => "signed_in",
            Kind::SignInFailed => "sign_in_failed",
            Kind::SecondFactorFailed => "second_factor_failed",
            Kind::CodeSent => "code_sent",
            Kind::Recovered => "recovered",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::PasswordChanged => "password_changed",
            Kind::PasskeyAdded => "passkey_added",
            Kind::PasskeyRemoved => "passkey_removed",
            Kind::FactorAdded => "factor_added",
            Kind::FactorRemoved => "factor_removed",
            Kind::RecoveryCodesRenewed => "recovery_codes_renewed",
            Kind::IdentifierChanged => "identifier_changed",
            Kind::IdentifierRemoved => "identifier_removed",
            Kind::DeviceRemoved => "device_removed",
            Kind::SignedOutEverywhere => "signed_out_everywhere",
            Kind::SessionEnded => "session_ended",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the page says it was, in the language of the request.
    pub fn label(self) -> &'static str {
        match self {
            Kind::SignedIn => crate::tr!(activity.kind.signed_in),
            Kind::SignInFailed => crate::tr!(activity.kind.sign_in_failed),
            Kind::SecondFactorFailed => crate::tr!(activity.kind.second_factor_failed),
            Kind::CodeSent => crate::tr!(activity.kind.code_sent),
            Kind::Recovered => crate::tr!(activity.kind.recovered),
            Kind::RecoveryCodeUsed => crate::tr!(activity.kind.recovery_code_used),
            Kind::PasswordChanged => crate::tr!(activity.kind.password_changed),
            Kind::PasskeyAdded => crate::tr!(activity.kind.passkey_added),
            Kind::PasskeyRemoved => crate::tr!(activity.kind.passkey_removed),
            Kind::FactorAdded => crate::tr!(activity.kind.factor_added),
            Kind::FactorRemoved => crate::tr!(activity.kind.factor_removed),
            Kind::RecoveryCodesRenewed => crate::tr!(activity.kind.recovery_codes_renewed),
            Kind::IdentifierChanged => crate::tr!(activity.kind.identifier_changed),
            Kind::IdentifierRemoved => crate::tr!(activity.kind.identifier_removed),
            Kind::DeviceRemoved => crate::tr!(activity.kind.device_removed),
            Kind::SignedOutEverywhere => crate::tr!(activity.kind.signed_out_everywhere),
            Kind::SessionEnded => crate::tr!(activity.kind.session_ended),
        }
    }
}

/// The app a sign-in was for, and the device it named, as an entry shows them.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct ForApp {
    pub client_id: uuid::Uuid,
    pub device: Option<String>,
}

/// One entry as the person sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    /// How (a sign-in: `password`, `code`, `passkey`, `second_factor`, …), or what else
    /// the change did (the second factor turned on: `others_signed_out`).
    pub detail: Option<String>,
    /// RFC 3339.
    pub at: String,
    /// The app the sign-in was for.
    pub app: Option<String>,
    pub device: Option<String>,
    /// An IPv4 address or an IPv6 /64.
    pub network: Option<String>,
    pub browser: Option<String>,
}

/// A browser session or an app's sign-in of the person, as the security centre lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// `session:<uuid>` or `app:<uuid>` (an access token family).
    pub id: String,
    /// The app's name (an app sign-in, or the app a browser session signed in for).
    pub app: Option<String>,
    pub device: Option<String>,
    /// A browser session: its browser's family (`Chrome`, `Edge`, `Firefox`, `Safari`) and
    /// system (`Windows`, `macOS`, `Linux`, `ChromeOS`, `Android`, `iOS`), where its
    /// User-Agent tells them (`activity::agent`), and the User-Agent itself.
    pub browser: Option<String>,
    pub os: Option<String>,
    pub user_agent: Option<String>,
    /// The network a browser session started from: an IPv4 address or an IPv6 /64.
    pub network: Option<String>,
    /// RFC 3339.
    pub since: String,
    /// This browser.
    pub current: bool,
    /// Proven with two factors (a browser session).
    pub strong: bool,
}

/// What `/account/activity` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub entries: Vec<Entry>,
    pub signed_in: Vec<SignedIn>,
}

/// The signed-in person's activity, newest first, and where they are signed in.
#[server(prefix = "/_app", endpoint = "account/activity", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_activity() -> Result<ActivityPage, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let user =
        crate::users::session::require(&state, &caller, crate::tr!(account.msg.sign_in_first))
            .await?;
    Ok(ActivityPage {
        entries: store::list(&state.db, user.id).await?,
        signed_in: store::signed_in(&state, &caller, user.id).await?,
    })
}

/// Whether the "this wasn't me" link `token` still works (what its page shows: the button,
/// or that it was used or expired). Only looks: the page's button spends it.
#[server(prefix = "/_app", endpoint = "fypass/not-me", input = GetUrl, client = crate::api::PageClient)]
pub async fn not_me_link(#[server(default)] token: String) -> Result<bool, ApiError> {
    alerts::link_usable(&crate::request::state()?.db, &token).await
}

#[cfg(feature = "ssr")]
pub use store::{record, record_sign_in, record_with};
