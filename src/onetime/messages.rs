//! The words of each message that carries a code, and of the notice an old address gets
//! when an identifier change lands.

use super::{CODE_TTL_MINUTES, store::Purpose};
use crate::{
    courier::{Channel, Message},
    locale::Locale,
    users::identifier::Identifier,
};
use leptos_i18n::td_string;

/// The message carrying `code` for `purpose` to `to` (by email or WhatsApp, as `to` is),
/// in `locale` (the language of the request that asked for it).
pub fn message(locale: Locale, purpose: Purpose, to: &Identifier, code: &str) -> Message {
    let (subject, lead, unasked) = match (purpose, to) {
        (Purpose::Recovery, _) => (
            td_string!(locale, mail.recovery.subject),
            td_string!(locale, mail.recovery.lead),
            td_string!(locale, mail.recovery.unasked),
        ),
        (Purpose::SignIn, _) => (
            td_string!(locale, mail.sign_in.subject),
            td_string!(locale, mail.sign_in.lead),
            td_string!(locale, mail.sign_in.unasked),
        ),
        (Purpose::Verify, Identifier::Email(_)) => (
            td_string!(locale, mail.verify.email_subject),
            td_string!(locale, mail.verify.email_lead),
            td_string!(locale, mail.verify.unasked),
        ),
        (Purpose::Verify, Identifier::Whatsapp(_)) => (
            td_string!(locale, mail.verify.whatsapp_subject),
            td_string!(locale, mail.verify.whatsapp_lead),
            td_string!(locale, mail.verify.unasked),
        ),
        (Purpose::Change, Identifier::Email(_)) => (
            td_string!(locale, mail.change.email_subject),
            td_string!(locale, mail.change.email_lead),
            td_string!(locale, mail.change.unasked),
        ),
        (Purpose::Change, Identifier::Whatsapp(_)) => (
            td_string!(locale, mail.change.whatsapp_subject),
            td_string!(locale, mail.change.whatsapp_lead),
            td_string!(locale, mail.change.unasked),
        ),
    };
    let valid = td_string!(locale, mail.valid, n = CODE_TTL_MINUTES);
    let text = format!("{lead}: {code}\n\n{valid}\n\n{unasked}\n");
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><body style=\"font-family:system-ui,sans-serif\">\
         <p>{lead}:</p><p style=\"font-size:28px;letter-spacing:6px;font-weight:bold\">{code}</p>\
         <p>{valid}</p><p style=\"color:#555\">{unasked}</p></body></html>",
        lang = crate::locale::code(locale),
    );
    let (channel, html) = match to {
        Identifier::Email(_) => (Channel::Email, Some(html)),
        Identifier::Whatsapp(_) => (Channel::Whatsapp, None),
    };
    Message {
        channel,
        to: to.as_str().to_string(),
        purpose: purpose.as_str().to_string(),
        subject: subject.to_string(),
        text,
        html,
        code: Some(code.to_string()),
    }
}

/// The `purpose` of the notice an old identifier gets (in the outbox listing).
pub const CHANGED: &str = "changed";

/// The notice to `old` that the account's identifier of its kind was replaced (the new one
/// is not named: `old` may be a stranger's address someone once typed), in `locale`. By
/// WhatsApp it travels as the notice template (`FYPASS_WHATSAPP_NOTICE_TEMPLATE`), which
/// carries no code.
pub fn changed(locale: Locale, old: &Identifier) -> Message {
    let (subject, lead) = match old {
        Identifier::Email(_) => (
            td_string!(locale, mail.changed.email_subject),
            td_string!(locale, mail.changed.email_lead),
        ),
        Identifier::Whatsapp(_) => (
            td_string!(locale, mail.changed.whatsapp_subject),
            td_string!(locale, mail.changed.whatsapp_lead),
        ),
    };
    let unasked = td_string!(locale, mail.changed.unasked);
    let text = format!("{lead}\n\n{unasked}\n");
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><body style=\"font-family:system-ui,sans-serif\">\
         <p>{lead}</p><p style=\"color:#555\">{unasked}</p></body></html>",
        lang = crate::locale::code(locale),
    );
    let (channel, html) = match old {
        Identifier::Email(_) => (Channel::Email, Some(html)),
        Identifier::Whatsapp(_) => (Channel::Whatsapp, None),
    };
    Message {
        channel,
        to: old.as_str().to_string(),
        purpose: CHANGED.to_string(),
        subject: subject.to_string(),
        text,
        html,
        code: None,
    }
}
