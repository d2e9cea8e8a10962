//! The rules of the login flow. The server functions (JSON) and the plain-HTML form
//! handlers (`forms`) both call these, so each rule is written once.
//!
//! [`app`]: an app's request (start, open, confirm, status); [`person`]: the password
//! flows of the hosted pages; [`complete`]: the completion shared by every way to sign in;
//! [`views`]: what the pages show.

mod app;
mod complete;
mod person;
mod views;

pub use app::{confirm, start, status};
pub(crate) use app::{open_for, open_for_id};
pub(crate) use complete::finish;
pub use person::{continue_as, login, register};
pub(crate) use views::view_of;
pub use views::{page_context, request_view};

use super::Completion;
use axum::http::HeaderValue;

/// A completed login or registration: the reply, and the cookies to set (the browser
/// session, and the browser cookie that remembers a successful sign-in).
pub(crate) struct Done {
    pub completion: Completion,
    pub cookies: Vec<HeaderValue>,
}

pub(crate) fn record(outcome: &'static str) {
    metrics::counter!("fypass_logins_total", "outcome" => outcome).increment(1);
}
