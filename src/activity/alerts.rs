//! Alerts (SPEC §16): the person is told, through the outbox (in the transaction of the
//! change), when their account is signed in to from a browser never seen before, recovered,
//! or its password or second factor changes. Each alert carries a "this wasn't me" link
//! (`/fypass/not-me?token=`, single use, 7 days): using it signs every session out, revokes
//! every token, forgets every remembered browser and sends a recovery code to the address
//! the alert went to — whoever got in is out, and the person sets a new password.
//!
//! The link only ever acts on the account it was made for, and a GET shows a page with a
//! button: a mail scanner that opens links does not spend it.

use crate::{
    config::Config,
    courier::{Channel, Message},
    db::{Tx, now_ms, with_tx},
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

/// Stores the alert `what` for `user` (caused by `caller`) and its link, in `tx`; the
/// caller wakes the courier after committing.
pub async fn send(
    tx: &mut Tx,
    config: &Config,
    caller: &Caller,
    user: &UserRow,
    what: Alert,
) -> Result<(), ApiError> {
    let Some(to) = address(user) else {
        return Ok(());
    };
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO alert_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(&issued.hash)
        .bind(user.id)
        .bind(now)
        .bind(now + LINK_DAYS * 24 * 3600 * 1000)
        .execute(c)
        .await
        .map(drop))?;
    let link = format!(
        "{}/fypass/not-me?token={}",
        config.public_origin(),
        issued.plaintext
    );
    let locale = crate::locale::current();
    crate::courier::outbox::enqueue(tx, &message(locale, what, &to, &link, caller)).await?;
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
    };
    let from = td_string!(
        locale,
        mail.alert.from,
        network = crate::throttle::network(caller.ip),
        browser = caller.user_agent().unwrap_or_else(|| "?".into())
    );
    let not_me = td_string!(locale, mail.alert.not_me);
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

/// Spends the "this wasn't me" link `token` (single use, unexpired): the person it was made
/// for and the address their alert went to, or `None` (a link used, expired or never made).
/// What using it does to the account is the caller's (`account::activity`).
pub async fn spend_link(
    tx: &mut Tx,
    token: &str,
) -> Result<Option<(UserRow, Identifier)>, ApiError> {
    if !secret::well_formed(PREFIX, token) {
        return Ok(None);
    }
    let sql = "UPDATE alert_links SET used_at = $2
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
               RETURNING user_id";
    let user_id: Option<(Uuid,)> = with_tx!(tx, |c| sqlx::query_as(sql)
        .bind(secret::hash(token))
        .bind(now_ms())
        .fetch_optional(c)
        .await)?;
    let Some((user_id,)) = user_id else {
        return Ok(None);
    };
    let user = crate::users::store::find_in(tx, user_id).await?;
    Ok(user.and_then(|user| address(&user).map(|to| (user, to))))
}

/// Removes, at most `limit` at a time, links that expired.
pub async fn purge(db: &crate::db::Db, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM alert_links WHERE token_hash IN
                 (SELECT token_hash FROM alert_links WHERE expires_at < $1 LIMIT $2)";
    Ok(crate::db::with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms())
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
