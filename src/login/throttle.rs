//! The hosted flow's abuse-resistance policy, as counters of [`crate::throttle`] (the
//! numbers are settings, [`crate::limits::Limits`], which `/docs` shows).
//!
//! A sign-in attempt takes a place in, unless the browser signed in to this account before:
//! * the **account** (one counter per person, whichever email or number was typed; an
//!   unknown identifier counts as its own): free attempts, then a doubling delay between
//!   attempts up to a minute — a stranger's guesses slow the account down but never lock
//!   its owner out for longer than that;
//! * the **account and network** pair: a cap, so one network cannot spend the account's
//!   whole allowance;
//! * the **network** (an IPv4 address, or an IPv6 /64): a cap across accounts, against
//!   trying one password on many accounts.
//!
//! A browser that signed in to the account before (it holds that person's session, or the
//! browser cookie a successful sign-in leaves) counts only its own failures, in a counter
//! of its own: nobody else's guesses stop its owner.
//!
//! A registration costs a password hash, so it takes a place per network and per email
//! address or number given, before anything is hashed — and before an address that is
//! taken is refused, so the budget also bounds how many addresses one network can test
//! for accounts.

use crate::{
    limits::Limits,
    throttle::{Counter, Rule},
};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// Who a sign-in attempt is for and from.
pub struct Attempt<'a> {
    /// `user:<id>` for a known account, `identifier:<normalized>` for an unknown one.
    pub account: &'a str,
    /// The caller's network (`throttle::network`).
    pub network: &'a str,
    /// The browser's own key when it signed in to this account before.
    pub trusted_browser: Option<&'a str>,
}

/// The counters a sign-in attempt must pass.
pub fn sign_in(attempt: &Attempt<'_>, limits: &Limits) -> Vec<Counter> {
    let window = limits.sign_in_window();
    if let Some(browser) = attempt.trusted_browser {
        return vec![Counter::new(
            format!("sign-in:browser:{browser}:{}", attempt.account),
            Rule::Cap(limits.sign_in_per_trusted_browser),
            window,
            crate::tr!(common.throttle.browser),
        )];
    }
    vec![
        Counter::new(
            format!("sign-in:network:{}", attempt.network),
            Rule::Cap(limits.sign_in_per_network),
            window,
            crate::tr!(common.throttle.network),
        ),
        Counter::new(
            format!("sign-in:pair:{}:{}", attempt.account, attempt.network),
            Rule::Cap(limits.sign_in_per_account_and_network),
            window,
            crate::tr!(common.throttle.pair),
        ),
        Counter::new(
            format!("sign-in:account:{}", attempt.account),
            Rule::Slow {
                free: limits.sign_in_free_per_account,
                max: Duration::from_secs(limits.sign_in_max_delay_secs),
            },
            window,
            "This account had many failed sign-ins, so it is slowed down for a moment.",
        ),
    ]
}

/// The counters a registration must pass: its network (`per_network` an hour), and each
/// identifier it gives.
pub fn registration(
    network: &str,
    per_network: i64,
    limits: &Limits,
    identifiers: &[&str],
) -> Vec<Counter> {
    let mut counters = vec![Counter::new(
        format!("register:network:{network}"),
        Rule::Cap(per_network),
        HOUR,
        crate::tr!(common.throttle.registrations),
    )];
    counters.extend(identifiers.iter().map(|id| {
        Counter::new(
            format!("register:identifier:{id}"),
            Rule::Cap(limits.registrations_per_identifier_hour),
            HOUR,
            crate::tr!(common.throttle.register_identifier),
        )
    }));
    counters
}
