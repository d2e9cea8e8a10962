//! The `outbox` table: messages waiting to leave, written in the same transaction as the
//! code they carry, so a code exists if and only if its message will be sent.
//!
//! A sender *claims* a batch with one statement that takes a lease on each row (on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so nodes sending at once never claim the same
//! row), delivers it, then marks it `sent` (forgetting its body) or schedules a retry with
//! a growing delay; after [`MAX_ATTEMPTS`] it is `failed`, its body forgotten too. A node
//! that dies mid-send leaves its lease to expire, and the message is sent again later:
//! stored means sent.

use super::{Channel, Message};
use crate::{
    db::{Db, Tx, db_row, now_ms, rfc3339, with_reader, with_tx, with_writer},
    error::ApiError,
};
use serde::Serialize;
use std::time::Duration;
use uuid::Uuid;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a claimed message is reserved for the node that claimed it.
const LEASE: Duration = Duration::from_secs(60);
/// The delay before the second attempt; it doubles after each failure, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_secs(2);
const MAX_DELAY: Duration = Duration::from_secs(30 * 60);

/// Stores `message` for sending, in `tx` (the transaction that stores its code).
pub async fn enqueue(tx: &mut Tx<'_>, message: &Message) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    let now = now_ms();
    let sql =
        "INSERT INTO outbox (id, channel, recipient, purpose, subject, body_text, body_html, code,
                   status, attempts, next_attempt_at, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(message.channel.as_str())
        .bind(&message.to)
        .bind(&message.purpose)
        .bind(&message.subject)
        .bind(&message.text)
        .bind(&message.html)
        .bind(&message.code)
        .bind(now)
        .execute(c)
        .await
        .map(drop))?;
    Ok(id)
}

db_row! {
    /// A message claimed for delivery.
    #[derive(Clone, Debug)]
    pub struct Claimed {
        pub id: Uuid,
        pub channel: String,
        pub recipient: String,
        pub purpose: String,
        pub subject: String,
        pub body_text: Option<String>,
        pub body_html: Option<String>,
        pub code: Option<String>,
        pub attempts: i64,
    }
}

impl Claimed {
    pub fn message(&self) -> Option<Message> {
        Some(Message {
            channel: self.channel.parse().ok()?,
            to: self.recipient.clone(),
            purpose: self.purpose.clone(),
            subject: self.subject.clone(),
            text: self.body_text.clone()?,
            html: self.body_html.clone(),
            code: self.code.clone(),
        })
    }
}

/// Claims up to `limit` messages due now on `channels`, leasing them to this node.
pub async fn claim(db: &Db, channels: &[Channel], limit: i64) -> Result<Vec<Claimed>, ApiError> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_ms();
    let list = channels
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // SQLite has one writer: its UPDATE is atomic as it is. PostgreSQL's nodes skip the
    // rows another node is claiming at this very moment.
    let skip_locked = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite { .. } => "",
    };
    let due = "status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)";
    let sql = format!(
        "UPDATE outbox SET locked_until = $2, attempts = attempts + 1
         WHERE {due} AND channel IN ({list}) AND id IN (
             SELECT id FROM outbox WHERE {due} AND channel IN ({list})
             ORDER BY created_at LIMIT $3{skip_locked})
         RETURNING id, channel, recipient, purpose, subject, body_text, body_html, code, attempts"
    );
    Ok(with_writer!(db, |c| sqlx::query_as(&sql)
        .bind(now)
        .bind(now + LEASE.as_millis() as i64)
        .bind(limit)
        .fetch_all(c)
        .await)?)
}

/// The message left: its body (and code) are forgotten.
pub async fn mark_sent(db: &Db, id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE outbox SET status = 'sent', sent_at = $2, locked_until = NULL,
                   body_text = NULL, body_html = NULL, code = NULL, last_error = NULL
               WHERE id = $1";
    with_writer!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// The delay before the attempt after `attempts` failed ones.
fn retry_delay(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    (FIRST_DELAY * (1u32 << doublings)).min(MAX_DELAY)
}

/// The attempt failed with `error`: try again later, or give up after the last attempt —
/// and then forget the body (and code), as for a sent message: nothing will read it again.
pub async fn mark_failed(db: &Db, claimed: &Claimed, error: &str) -> Result<(), ApiError> {
    let now = now_ms();
    let give_up = claimed.attempts >= MAX_ATTEMPTS;
    let sql = if give_up {
        "UPDATE outbox SET status = $2, next_attempt_at = $3, locked_until = NULL, last_error = $4,
                   body_text = NULL, body_html = NULL, code = NULL
               WHERE id = $1"
    } else {
        "UPDATE outbox SET status = $2, next_attempt_at = $3, locked_until = NULL, last_error = $4
               WHERE id = $1"
    };
    with_writer!(db, |c| sqlx::query(sql)
        .bind(claimed.id)
        .bind(if give_up { "failed" } else { "pending" })
        .bind(now + retry_delay(claimed.attempts).as_millis() as i64)
        .bind(error.chars().take(500).collect::<String>())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

db_row! {
    struct ListedRow {
        id: Uuid,
        channel: String,
        recipient: String,
        purpose: String,
        body_text: Option<String>,
        status: String,
        attempts: i64,
        last_error: Option<String>,
        created_at: i64,
    }
}

/// A message as `fypass outbox list` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub id: String,
    pub channel: String,
    pub to: String,
    pub purpose: String,
    /// Gone once sent or given up.
    pub body: Option<String>,
    pub status: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: String,
}

/// The newest `limit` messages, newest first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Listed>, ApiError> {
    let sql = "SELECT id, channel, recipient, purpose, body_text, status, attempts, last_error, created_at
               FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1";
    let rows: Vec<ListedRow> =
        with_reader!(db, |c| sqlx::query_as(sql).bind(limit).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .map(|r| Listed {
            id: r.id.to_string(),
            channel: r.channel,
            to: r.recipient,
            purpose: r.purpose,
            body: r.body_text,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: rfc3339(r.created_at),
        })
        .collect())
}

/// Removes, at most `limit` at a time, messages sent or given up over `keep_ms` ago.
pub async fn purge(db: &Db, keep_ms: i64, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM outbox WHERE id IN (
                 SELECT id FROM outbox WHERE status <> 'pending' AND created_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms() - keep_ms)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn retries_back_off_up_to_half_an_hour() {
        let secs: Vec<u64> = (1..=12).map(|a| super::retry_delay(a).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1800, 1800]);
    }
}
