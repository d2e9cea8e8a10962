//! Brute-force protection for the hosted login.
//!
//! Policy (also on `/docs`): in any 15-minute window, at most [`PER_IDENTIFIER`] failed
//! sign-ins for one email address or WhatsApp number, and at most [`PER_ADDRESS`] from one
//! client address. Past either, sign-ins for that identifier (or from that address) are
//! refused with `TOO_MANY_REQUESTS` and a `Retry-After` until the window ends — at most
//! 40 failures per hour per account, inside OWASP ASVS 2.2.1's 100.
//!
//! Every attempt *reserves* its place before the password is checked: one atomic
//! insert-or-increment per counter, whose returned count decides. So parallel guesses
//! cannot slip past the limit between a check and an increment, on SQLite or across
//! several app nodes on PostgreSQL. A correct password gives its place back. Each
//! identifier and address is its own row: a locked account never slows anyone else.

use crate::{
    db::{Db, Tx, now_ms, with_tx, with_writer},
    error::ApiError,
    users::identifier::Identifier,
};
use std::net::IpAddr;

pub const WINDOW_MS: i64 = super::THROTTLE_WINDOW_MINUTES * 60 * 1000;
pub const PER_IDENTIFIER: i64 = super::THROTTLE_PER_IDENTIFIER;
pub const PER_ADDRESS: i64 = super::THROTTLE_PER_ADDRESS;

/// The places an attempt holds, to give back if it succeeds.
pub struct Attempt {
    held: Vec<(String, i64)>,
}

/// Reserves one attempt for `identifier` from `ip`, or refuses with `TOO_MANY_REQUESTS`.
pub async fn reserve(db: &Db, identifier: &Identifier, ip: IpAddr) -> Result<Attempt, ApiError> {
    let mut attempt = Attempt { held: Vec::new() };
    let counters = [
        (
            format!("address:{ip}"),
            PER_ADDRESS,
            "Too many failed sign-ins from your network.",
        ),
        (
            format!("identifier:{identifier}"),
            PER_IDENTIFIER,
            "Too many failed sign-ins for this account.",
        ),
    ];
    for (key, limit, message) in counters {
        let now = now_ms();
        let sql = "INSERT INTO login_failures (key, window_start, failures) VALUES ($1, $2, 1)
                   ON CONFLICT (key) DO UPDATE SET
                     failures = CASE WHEN login_failures.window_start <= $3 THEN 1 ELSE login_failures.failures + 1 END,
                     window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 ELSE login_failures.window_start END
                   RETURNING failures, window_start";
        let (failures, window_start): (i64, i64) = with_writer!(db, |c| sqlx::query_as(sql)
            .bind(&key)
            .bind(now)
            .bind(now - WINDOW_MS)
            .fetch_one(c)
            .await)?;
        if failures > limit {
            // Places already taken for this attempt were never used: give them back.
            give_back(db, &attempt).await?;
            let seconds = (window_start + WINDOW_MS - now).max(1000) / 1000;
            return Err(ApiError::too_many(
                format!("{message} Try again in {} minutes.", (seconds + 59) / 60),
                seconds as u64,
            ));
        }
        attempt.held.push((key, window_start));
    }
    Ok(attempt)
}

const REFUND: &str = "UPDATE login_failures SET failures = failures - 1
                      WHERE key = $1 AND window_start = $2 AND failures > 0";

/// Returns the places of a successful attempt, in the transaction that completes it.
pub async fn refund(tx: &mut Tx, attempt: &Attempt) -> Result<(), ApiError> {
    for (key, window_start) in &attempt.held {
        with_tx!(tx, |c| sqlx::query(REFUND)
            .bind(key)
            .bind(window_start)
            .execute(c)
            .await
            .map(drop))?;
    }
    Ok(())
}

/// Returns the places of an attempt that was never evaluated (the hasher was too busy).
pub async fn give_back(db: &Db, attempt: &Attempt) -> Result<(), ApiError> {
    for (key, window_start) in &attempt.held {
        with_writer!(db, |c| sqlx::query(REFUND)
            .bind(key)
            .bind(window_start)
            .execute(c)
            .await
            .map(drop))?;
    }
    Ok(())
}
