//! The words of each message that carries a code.

use super::{CODE_TTL_MINUTES, store::Purpose};
use crate::{
    courier::{Channel, Message},
    users::identifier::Identifier,
};

/// The message carrying `code` for `purpose` to `to` (by email or WhatsApp, as `to` is).
pub fn message(purpose: Purpose, to: &Identifier, code: &str) -> Message {
    let what = match to {
        Identifier::Email(_) => "email address",
        Identifier::Whatsapp(_) => "WhatsApp number",
    };
    let (subject, lead, unasked) = match purpose {
        Purpose::Recovery => (
            "Your fypass recovery code".to_string(),
            "Use this code to set a new password".to_string(),
            "If you did not ask for it, ignore this message: your password stays as it is.",
        ),
        Purpose::SignIn => (
            "Your fypass sign-in code".to_string(),
            "Use this code to sign in".to_string(),
            "If you did not ask for it, ignore this message: nobody can sign in without it.",
        ),
        Purpose::Verify => (
            format!("Confirm your {what} for fypass"),
            format!("Use this code to confirm this is your {what}"),
            "If you did not create a fypass account, ignore this message.",
        ),
        Purpose::Change => (
            format!("Confirm your new {what} for fypass"),
            format!("Use this code to confirm this new {what} for your account"),
            "If you did not ask for this change, ignore this message: nothing changes without it.",
        ),
    };
    let text = format!(
        "{lead}: {code}\n\nIt is valid for {CODE_TTL_MINUTES} minutes, and only once. Never share it: fypass will never ask you for it.\n\n{unasked}\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif\">\
         <p>{lead}:</p><p style=\"font-size:28px;letter-spacing:6px;font-weight:bold\">{code}</p>\
         <p>It is valid for {CODE_TTL_MINUTES} minutes, and only once. Never share it: fypass will never ask you for it.</p>\
         <p style=\"color:#555\">{unasked}</p></body></html>"
    );
    let (channel, html) = match to {
        Identifier::Email(_) => (Channel::Email, Some(html)),
        Identifier::Whatsapp(_) => (Channel::Whatsapp, None),
    };
    Message {
        channel,
        to: to.as_str().to_string(),
        purpose: purpose.as_str().to_string(),
        subject,
        text,
        html,
        code: Some(code.to_string()),
    }
}
