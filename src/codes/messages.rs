//! The words of each message that carries a code.

use super::{CODE_TTL_MINUTES, store::Purpose};
use crate::{
    courier::{Channel, Message},
    users::identifier::Identifier,
};
use leptos_i18n::td_string;

/// The message carrying `code` for `purpose` to `to` (by email or WhatsApp, as `to` is),
/// in the language of the request that asked for it.
pub fn message(purpose: Purpose, to: &Identifier, code: &str) -> Message {
    let locale = crate::locale::current();
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
