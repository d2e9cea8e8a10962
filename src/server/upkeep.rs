//! Background upkeep: what nobody can use any more — expired login requests, sessions,
//! remembered browsers, tokens, codes, old outbox messages, second steps, activity older
//! than 180 days and idle counters — is deleted in bounded
//! batches, so tables do not grow without bound and no delete holds the writer (on SQLite,
//! the one writer connection) for long. Each app node runs it; the deletes are idempotent.

use crate::{courier, db::Db, error::ApiError, login, onetime, passkeys, throttle, tokens, users};
use std::time::Duration;

/// Rows one statement deletes at most.
const BATCH: i64 = 500;
/// How often the upkeep runs.
const EVERY: Duration = Duration::from_secs(60);
/// How long an expired row is kept (for an admin looking into a problem of the last hour).
const GRACE_MS: i64 = 3600 * 1000;
/// How long the outbox remembers a message it sent or gave up (without its body).
const OUTBOX_KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

/// Purges everything that is due, batch after batch; returns how many rows went.
pub async fn purge(db: &Db) -> Result<u64, ApiError> {
    let mut total = 0;
    for table in 0..12 {
        loop {
            let removed = match table {
                0 => login::purge(db, GRACE_MS, BATCH).await?,
                1 => users::session::purge(db, BATCH).await?,
                2 => tokens::access::purge(db, GRACE_MS, BATCH).await?,
                3 => tokens::refresh::purge(db, GRACE_MS, BATCH).await?,
                4 => onetime::store::purge(db, GRACE_MS, BATCH).await?,
                5 => courier::outbox::purge(db, OUTBOX_KEEP_MS, BATCH).await?,
                6 => passkeys::store::purge(db, BATCH).await?,
                7 => crate::oidc::endpoints::purge(db, BATCH).await?,
                8 => crate::login::step::purge(db, BATCH).await?,
                9 => crate::activity::store::purge(db, BATCH).await?,
                10 => crate::activity::alerts::purge(db, BATCH).await?,
                _ => throttle::purge(db, BATCH).await?,
            };
            total += removed;
            if removed < BATCH as u64 {
                break;
            }
            // Let requests waiting for the writer go first.
            tokio::task::yield_now().await;
        }
    }
    Ok(total)
}

/// Runs [`purge`] every minute for as long as the server runs.
pub fn spawn(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match purge(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "purged expired rows"),
                Err(e) => tracing::warn!(error = %e, "could not purge expired rows"),
            }
        }
    });
}
