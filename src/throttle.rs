//! Counters that slow down what a stranger can do without a password: failed sign-ins,
//! registrations, (later) code sends. One table, `throttle`, one row per counter key.
//!
//! A counter counts events in a fixed window (from its first event; after the window it
//! starts over) and follows one [`Rule`]:
//! * [`Rule::Cap`]: at most `n` events per window; past that, refused until the window ends;
//! * [`Rule::Slow`]: the first `free` events cost nothing; after that each one must wait,
//!   since the previous, a delay that doubles (1 s, 2 s, 4 s, …) up to `max` — slower and
//!   slower, but never locked for longer than `max`.
//!
//! Every attempt *takes* its place before the work it guards (a password check, a hash) —
//! a capped counter with one atomic insert-or-increment, a slowed one with a
//! compare-and-set update — so parallel attempts cannot slip past a limit between a read
//! and a write, on SQLite or across several app nodes on PostgreSQL. An attempt that turns
//! out not to count (a correct password) gives its places back ([`Taken::refund`]).

use crate::{
    db::{Db, Tx, now_ms, with_reader, with_tx, with_writer},
    error::ApiError,
};
use std::{net::IpAddr, time::Duration};

/// How a counter limits its events.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// At most this many events per window.
    Cap(i64),
    /// This many free events per window, then a doubling delay between events, up to `max`.
    Slow { free: i64, max: Duration },
}

/// One counter an attempt must pass: its key (`"account:<id>"`), rule, window, and what
/// the person is told when it refuses.
#[derive(Clone, Debug)]
pub struct Counter {
    pub key: String,
    pub rule: Rule,
    pub window: Duration,
    pub message: &'static str,
}

impl Counter {
    pub fn new(key: String, rule: Rule, window: Duration, message: &'static str) -> Counter {
        Counter {
            key,
            rule,
            window,
            message,
        }
    }
}

/// The places one attempt holds, to give back if it turns out not to count.
#[derive(Debug, Default)]
#[must_use = "a taken place is either kept (the attempt counted) or refunded"]
pub struct Taken {
    held: Vec<(String, i64)>,
}

/// How often a compare-and-set is retried when another attempt changed the row meanwhile.
const MAX_TRIES: usize = 16;

/// The delay a [`Rule::Slow`] counter asks before its next event, after `events` events.
fn slow_delay(events: i64, free: i64, max: Duration) -> Duration {
    if events < free {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(events - free).unwrap_or(u32::MAX).min(20);
    Duration::from_secs(1u64 << doublings).min(max)
}

/// Takes one place in each of `counters`, or refuses with `TOO_MANY_REQUESTS` and the
/// seconds until the first refusing counter allows another event. Places already taken
/// for a refused attempt are given back.
pub async fn take(db: &Db, counters: &[Counter]) -> Result<Taken, ApiError> {
    let mut taken = Taken::default();
    for counter in counters {
        match take_one(db, counter).await {
            Ok(window_start) => taken.held.push((counter.key.clone(), window_start)),
            Err(refused) => {
                taken.give_back(db).await?;
                return Err(refused);
            }
        }
    }
    Ok(taken)
}

/// The state of a counter as read.
type Row = (i64, i64, i64);

async fn take_one(db: &Db, counter: &Counter) -> Result<i64, ApiError> {
    match counter.rule {
        Rule::Cap(cap) => take_capped(db, counter, cap).await,
        Rule::Slow { free, max } => take_slowed(db, counter, free, max).await,
    }
}

fn refusal(counter: &Counter, wait_ms: i64) -> ApiError {
    let seconds = (wait_ms.max(1) as u64).div_ceil(1000);
    ApiError::too_many(
        format!("{} {}", counter.message, try_again_in(seconds)),
        seconds,
    )
}

/// A capped counter: one atomic insert-or-increment, whose count decides (a refused
/// attempt gives its place back). Parallel attempts never wait for one another.
async fn take_capped(db: &Db, counter: &Counter, cap: i64) -> Result<i64, ApiError> {
    let now = now_ms();
    let window_ms = counter.window.as_millis() as i64;
    let sql = "INSERT INTO throttle (key, window_start, events, last_at) VALUES ($1, $2, 1, $2)
               ON CONFLICT (key) DO UPDATE SET
                 events = CASE WHEN throttle.window_start <= $3 THEN 1 ELSE throttle.events + 1 END,
                 window_start = CASE WHEN throttle.window_start <= $3 THEN $2 ELSE throttle.window_start END,
                 last_at = $2
               RETURNING events, window_start";
    let (events, window_start): (i64, i64) = with_writer!(db, |c| sqlx::query_as(sql)
        .bind(&counter.key)
        .bind(now)
        .bind(now - window_ms)
        .fetch_one(c)
        .await)?;
    if events > cap {
        Taken {
            held: vec![(counter.key.clone(), window_start)],
        }
        .give_back(db)
        .await?;
        return Err(refusal(counter, window_start + window_ms - now));
    }
    Ok(window_start)
}

/// A slowed counter: the delay depends on the time of the previous event, so the state is
/// read, judged, and written back only if no other attempt changed it meanwhile.
async fn take_slowed(
    db: &Db,
    counter: &Counter,
    free: i64,
    max: Duration,
) -> Result<i64, ApiError> {
    let window_ms = counter.window.as_millis() as i64;
    for _ in 0..MAX_TRIES {
        let now = now_ms();
        let row: Option<Row> = with_reader!(db, |c| sqlx::query_as(
            "SELECT window_start, events, last_at FROM throttle WHERE key = $1"
        )
        .bind(&counter.key)
        .fetch_optional(c)
        .await)?;
        let Some((window_start, events, last_at)) = row else {
            let inserted = with_writer!(db, |c| {
                sqlx::query(
                "INSERT INTO throttle (key, window_start, events, last_at) VALUES ($1, $2, 1, $2)
                 ON CONFLICT (key) DO NOTHING"
            )
            .bind(&counter.key)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            })?;
            if inserted == 1 {
                return Ok(now);
            }
            continue;
        };
        // A window that has ended starts over.
        let (start, count) = if window_start + window_ms <= now {
            (now, 0)
        } else {
            (window_start, events)
        };
        let next = last_at + slow_delay(count, free, max).as_millis() as i64;
        if count >= free && next > now {
            return Err(refusal(counter, next - now));
        }
        let won = with_writer!(db, |c| sqlx::query(
            "UPDATE throttle SET window_start = $2, events = $3, last_at = $4
             WHERE key = $1 AND window_start = $5 AND events = $6 AND last_at = $7"
        )
        .bind(&counter.key)
        .bind(start)
        .bind(count + 1)
        .bind(now)
        .bind(window_start)
        .bind(events)
        .bind(last_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if won == 1 {
            return Ok(start);
        }
    }
    Err(ApiError::too_many(crate::tr!(common.throttle.at_once), 1))
}

/// "Try again in 3 minutes." / "… in 20 seconds."
fn try_again_in(seconds: u64) -> String {
    match seconds {
        1 => crate::tr!(common.throttle.in_a_second).to_string(),
        0..90 => crate::tr!(common.throttle.in_seconds, n = seconds),
        _ => crate::tr!(common.throttle.in_minutes, n = seconds.div_ceil(60)),
    }
}

const REFUND: &str = "UPDATE throttle SET events = events - 1
                      WHERE key = $1 AND window_start = $2 AND events > 0";

impl Taken {
    /// The attempt counts: its places stay taken.
    pub fn keep(self) {}

    /// Gives the places back in the transaction that completes the attempt (a correct
    /// password is not a guess).
    pub async fn refund(&self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        for (key, window_start) in &self.held {
            with_tx!(tx, |c| sqlx::query(REFUND)
                .bind(key)
                .bind(window_start)
                .execute(c)
                .await
                .map(drop))?;
        }
        Ok(())
    }

    /// Gives the places back at once (the attempt was never evaluated).
    pub async fn give_back(&self, db: &Db) -> Result<(), ApiError> {
        for (key, window_start) in &self.held {
            with_writer!(db, |c| sqlx::query(REFUND)
                .bind(key)
                .bind(window_start)
                .execute(c)
                .await
                .map(drop))?;
        }
        Ok(())
    }
}

/// How long a counter is kept after its last event: longer than any window in use.
const KEEP: Duration = Duration::from_secs(24 * 3600);

/// Removes, at most `limit` at a time, counters idle for longer than any window.
pub async fn purge(db: &Db, limit: i64) -> Result<u64, ApiError> {
    let before = now_ms() - KEEP.as_millis() as i64;
    Ok(with_writer!(db, |c| sqlx::query(
        "DELETE FROM throttle WHERE key IN
           (SELECT key FROM throttle WHERE last_at < $1 LIMIT $2)"
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// The part of an address that one party controls, as a counter key: an IPv4 address, or
/// the /64 of an IPv6 address (one subscriber is given a whole /64, and can use any of
/// its 2^64 addresses).
pub fn network(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slow_rule_doubles_up_to_its_maximum() {
        let max = Duration::from_secs(60);
        let delays: Vec<u64> = (0..10).map(|n| slow_delay(n, 3, max).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60]);
        assert_eq!(slow_delay(i64::MAX, 3, max), max);
    }

    #[test]
    fn networks_group_an_ipv6_subscriber_and_unmap_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_eq!(network(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(network(mapped), "203.0.113.9");
    }

    #[test]
    fn waits_are_worded_for_people() {
        assert_eq!(try_again_in(1), "Try again in 1 second.");
        assert_eq!(try_again_in(45), "Try again in 45 seconds.");
        assert_eq!(try_again_in(600), "Try again in 10 minutes.");
    }
}
