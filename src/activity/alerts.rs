//! Alerts (SPEC §16): the person is told, through the outbox (in the transaction of the
//! change), when their account is signed in to from a browser never seen before, recovered,
//! or its password, email address or number, or second factor changes, or it gets an email
//! address or number it had none of. Each alert carries a
//! "this wasn't me" link (`/fypass/not-me?token=`, single use, 7 days): using it signs every
//! session out, revokes every token, forgets every remembered browser and sends a recovery
//! code to the address the alert went to — whoever got in is out, and the person sets a new
//! password.
//!
//! The link remembers that address: an intruder who replaced it (and got the
//! [`Alert::IdentifierChanged`] sent to it) cannot have the code sent to theirs instead; the
//! link gives the address back to the account (`account::activity`). It also remembers when
//! it was made: an email address or number verified for the account since is removed. It only ever acts on
//! the account it was made for, and a GET shows a page with a button: a mail scanner that
//! opens links does not spend it ([`link_usable`] tells the page whether it still works).

use crate::{
    config::Config,
    courier::{Channel, Message},
    db::{Db, Tx, now_ms, with_reader, with_tx},
    error::ApiError,
    locale::Locale,
    request::Caller,
    secret,
    users::{identifier::Identifier, store::UserRow},
};
use leptos_i18n::td_string;
use uuid::Uuid;

const PREFIX: &str = "fyx_";
/// How long a "this wasn't me" link works.
pub const LINK_DAYS: i64 = 7;
/// The outbox `purpose` of an alert.
pub const PURPOSE: &str = "alert";

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alert {
    NewBrowser,
    Recovered,
    PasswordChanged,
    FactorChanged,
    /// The account's email address or number was replaced: the alert goes to the one
    /// replaced ([`send_to`]), which is what its link gives back.
    IdentifierChanged,
    /// An email address was verified for the account, which had none verified: a new way to
    /// sign in to it and recover it. The alert goes to the account's verified number.
    EmailAdded,
    /// The same for a WhatsApp number (the alert goes to the verified email address).
    WhatsappAdded,
}

impl Alert {
    /// The alert that `added` was added to an account.
    pub fn added(added: &Identifier) -> Alert {
        match added {
            Identifier::Email(_) => Alert::EmailAdded,
            Identifier::Whatsapp(_) => Alert::WhatsappAdded,
        }
    }
}

/// Where `user`'s alerts go: their verified email address, else their verified number.
/// Never an unverified one: it may be a stranger's address someone typed, and the link in
/// an alert locks the account's sessions out.
fn address(user: &UserRow) -> Option<Identifier> {
    let pick = |value: &Option<String>| value.as_deref().and_then(|v| Identifier::parse(v, 0).ok());
    match (user.email_verified_at, user.whatsapp_verified_at) {
        (Some(_), _) => pick(&user.email),
        (None, Some(_)) => pick(&user.whatsapp),
        _ => None,
    }
}

/// Stores the alert `what` for `user` (caused by `caller`) and its link, in `tx`, to their
/// alert address (none: no alert); the caller wakes the courier after committing.
pub async fn send(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
    user: &UserRow,
    what: Alert,
) -> Result<(), ApiError> {
    match address(user) {
        Some(to) => send_to(tx, config, caller, user.id, what, &to).await,
        None => Ok(()),
    }
}

/// Stores the alert `what` for the account `user_id` and its link, to `to` (an address the
/// account had verified: the link locks the account's sessions out and sends `to` a
/// recovery code), in `tx`; the caller wakes the courier after committing.
pub async fn send_to(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
    user_id: Uuid,
    what: Alert,
    to: &Identifier,
) -> Result<(), ApiError> {
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO alert_links (token_hash, user_id, created_at, expires_at, sent_to)
               VALUES ($1, $2, $3, $4, $5)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(&issued.hash)
        .bind(user_id)
        .bind(now)
        .bind(now + LINK_DAYS * 24 * 3600 * 1000)
        .bind(to.as_str())
        .execute(c)
        .await
        .map(drop))?;
    let link = format!(
        "{}/fypass/not-me?token={}",
        config.public_origin(),
        issued.plaintext
    );
    let locale = crate::locale::current();
    crate::courier::outbox::enqueue(tx, &message(locale, what, to, &link, caller)).await?;
    Ok(())
}

fn message(locale: Locale, what: Alert, to: &Identifier, link: &str, caller: &Caller) -> Message {
    let (subject, lead) = match what {
        Alert::NewBrowser => (
            td_string!(locale, mail.alert.new_browser_subject),
            td_string!(locale, mail.alert.new_browser_lead),
        ),
        Alert::Recovered => (
            td_string!(locale, mail.alert.recovered_subject),
            td_string!(locale, mail.alert.recovered_lead),
        ),
        Alert::PasswordChanged => (
            td_string!(locale, mail.alert.password_subject),
            td_string!(locale, mail.alert.password_lead),
        ),
        Alert::FactorChanged => (
            td_string!(locale, mail.alert.factor_subject),
            td_string!(locale, mail.alert.factor_lead),
        ),
        // (The new address is not named: whoever changed it may be an intruder, and this
        // one the owner's.)
        Alert::IdentifierChanged => match to {
            Identifier::Email(_) => (
                td_string!(locale, mail.changed.email_subject),
                td_string!(locale, mail.changed.email_lead),
            ),
            Identifier::Whatsapp(_) => (
                td_string!(locale, mail.changed.whatsapp_subject),
                td_string!(locale, mail.changed.whatsapp_lead),
            ),
        },
        // (Nor is the one added.)
        Alert::EmailAdded => (
            td_string!(locale, mail.alert.email_added_subject),
            td_string!(locale, mail.alert.email_added_lead),
        ),
        Alert::WhatsappAdded => (
            td_string!(locale, mail.alert.whatsapp_added_subject),
            td_string!(locale, mail.alert.whatsapp_added_lead),
        ),
    };
    let from = td_string!(
        locale,
        mail.alert.from,
        network = crate::throttle::network(caller.ip),
        browser = caller.user_agent().unwrap_or_else(|| "?".into())
    );
    let not_me = match what {
        Alert::IdentifierChanged => td_string!(locale, mail.alert.not_me_changed),
        Alert::EmailAdded | Alert::WhatsappAdded => td_string!(locale, mail.alert.not_me_added),
        _ => td_string!(locale, mail.alert.not_me),
    };
    let text = format!("{lead}\n{from}\n\n{not_me}\n{link}\n");
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><body style=\"font-family:system-ui,sans-serif\">\
         <p>{lead}</p><p style=\"color:#555\">{from}</p><p>{not_me}</p>\
         <p><a href=\"{href}\">{href}</a></p></body></html>",
        lang = crate::locale::code(locale),
        from = escape(&from),
        href = escape(link),
    );
    let (channel, html) = match to {
        Identifier::Email(_) => (Channel::Email, Some(html)),
        // WhatsApp carries the notice template (no link: its templates are fixed); the
        // person acts from /account/activity.
        Identifier::Whatsapp(_) => (Channel::Whatsapp, None),
    };
    Message {
        channel,
        to: to.as_str().to_string(),
        purpose: PURPOSE.to_string(),
        subject: subject.to_string(),
        text,
        html,
        code: None,
    }
}

/// A "this wasn't me" link, spent.
pub struct Spent {
    /// The person it was made for, their row locked for the transaction
    /// (`users::store::lock`) and read after.
    pub user: UserRow,
    /// The address their alert went to (a link made before that was kept: their alert
    /// address as it is now).
    pub to: Identifier,
    /// When it was made (ms): what was added to the account since may be an intruder's.
    pub made_at: i64,
}

/// Spends the "this wasn't me" link `token` (single use, unexpired), or `None` (a link used,
/// expired or never made). What using it does to the account is the caller's
/// (`account::activity`).
pub async fn spend_link(tx: &mut Tx<'_>, token: &str) -> Result<Option<Spent>, ApiError> {
    if !secret::well_formed(PREFIX, token) {
        return Ok(None);
    }
    let sql = "UPDATE alert_links SET used_at = $2
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
               RETURNING user_id, sent_to, created_at";
    let spent: Option<(Uuid, Option<String>, i64)> = with_tx!(tx, |c| sqlx::query_as(sql)
        .bind(secret::hash(token))
        .bind(now_ms())
        .fetch_optional(c)
        .await)?;
    let Some((user_id, sent_to, made_at)) = spent else {
        return Ok(None);
    };
    crate::users::store::lock(tx, user_id).await?;
    let Some(user) = crate::users::store::find_in(tx, user_id).await? else {
        return Ok(None);
    };
    let to = match sent_to {
        Some(to) => Identifier::parse(&to, 0).ok(),
        None => address(&user),
    };
    Ok(to.map(|to| Spent { user, to, made_at }))
}

/// Whether the link `token` still works (made, unused, unexpired), without spending it: what
/// its page shows.
pub async fn link_usable(db: &Db, token: &str) -> Result<bool, ApiError> {
    if !secret::well_formed(PREFIX, token) {
        return Ok(false);
    }
    let sql = "SELECT user_id FROM alert_links
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
    let found: Option<(Uuid,)> = with_reader!(db, |c| sqlx::query_as(sql)
        .bind(secret::hash(token))
        .bind(now_ms())
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// Removes, at most `limit` at a time, links that expired.
pub async fn purge(db: &Db, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM alert_links WHERE token_hash IN
                 (SELECT token_hash FROM alert_links WHERE expires_at < $1 LIMIT $2)";
    Ok(crate::db::with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms())
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
