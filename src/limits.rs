//! The abuse limits of SPEC §13 as settings (a flag and an environment variable each, with
//! today's numbers as defaults), so that a deployment can fit them to its people: behind
//! carrier-grade NAT, thousands of people share one IPv4 address, and the per-network caps
//! meant for one stranger would stop them all.
//!
//! A leaf compiled for both the server and the browser: `/docs#abuse` renders the numbers
//! in force (the server reads them from the configuration and hands them to the page).

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(clap::Args))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// One-time codes (sign-in, recovery, verification) sent per hour to one network (an
    /// IPv4 address or an IPv6 /64), whichever identifiers they go to.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_CODE_SENDS_PER_NETWORK_HOUR",
            default_value_t = 20,
            global = true
        )
    )]
    pub code_sends_per_network_hour: i64,

    /// One-time codes sent per hour to one email address or WhatsApp number.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_CODE_SENDS_PER_IDENTIFIER_HOUR",
            default_value_t = 5,
            global = true
        )
    )]
    pub code_sends_per_identifier_hour: i64,

    /// Seconds between two codes sent to one email address or WhatsApp number.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_CODE_SEND_COOLDOWN_SECS",
            default_value_t = 60,
            global = true
        )
    )]
    pub code_send_cooldown_secs: u64,

    /// Wrong one-time codes one network may type per hour (a right one gives its place back).
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_WRONG_CODES_PER_NETWORK_HOUR",
            default_value_t = 10,
            global = true
        )
    )]
    pub wrong_codes_per_network_hour: i64,

    /// Registrations per hour that may give one email address or WhatsApp number (each
    /// network has its own cap too: FYPASS_REGISTRATIONS_PER_HOUR).
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_REGISTRATIONS_PER_IDENTIFIER_HOUR",
            default_value_t = 3,
            global = true
        )
    )]
    pub registrations_per_identifier_hour: i64,

    /// Sign-ins a browser may start through `/oauth/authorize`, and device authorizations a
    /// public client (no secret) may start, per hour from one network: each is a stored
    /// request that anyone may cause without a key.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_OAUTH_STARTS_PER_NETWORK_HOUR",
            default_value_t = 300,
            global = true
        )
    )]
    pub oauth_starts_per_network_hour: i64,

    /// Minutes over which failed sign-ins are counted.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_SIGN_IN_WINDOW_MINUTES",
            default_value_t = 15,
            value_parser = clap::value_parser!(u64).range(1..),
            global = true
        )
    )]
    pub sign_in_window_minutes: u64,

    /// Failed sign-ins to one account within the window before each further try waits
    /// (1 s, then doubling).
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_SIGN_IN_FREE_PER_ACCOUNT",
            default_value_t = 5,
            global = true
        )
    )]
    pub sign_in_free_per_account: i64,

    /// The longest wait, in seconds, between sign-in tries on one account: a stranger's
    /// guesses slow its owner down at most this much, never lock them out.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_SIGN_IN_MAX_DELAY_SECS",
            default_value_t = 60,
            value_parser = clap::value_parser!(u64).range(1..),
            global = true
        )
    )]
    pub sign_in_max_delay_secs: u64,

    /// Failed sign-ins to one account from one network within the window.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_SIGN_IN_PER_ACCOUNT_AND_NETWORK",
            default_value_t = 10,
            global = true
        )
    )]
    pub sign_in_per_account_and_network: i64,

    /// Failed sign-ins from one network within the window, across accounts (against one
    /// password tried on many accounts). Raise it for many people behind one address.
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_SIGN_IN_PER_NETWORK",
            default_value_t = 50,
            global = true
        )
    )]
    pub sign_in_per_network: i64,

    /// Failed sign-ins within the window from a browser that signed in to the account
    /// before (it counts only its own failures: nobody else's guesses stop its owner).
    #[cfg_attr(
        feature = "ssr",
        arg(
            long,
            env = "FYPASS_SIGN_IN_PER_TRUSTED_BROWSER",
            default_value_t = 10,
            global = true
        )
    )]
    pub sign_in_per_trusted_browser: i64,
}

impl Limits {
    pub fn sign_in_window(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.sign_in_window_minutes * 60)
    }

    /// Failed sign-ins an hour one account can take, at most, from strangers: the free
    /// attempts, then the doubling delays, within each window (what `/docs#abuse` states).
    pub fn sign_ins_per_account_hour(&self) -> u64 {
        let window = self.sign_in_window_minutes * 60;
        let free = self.sign_in_free_per_account.max(0) as u64;
        let (mut spent, mut attempts, mut delay) = (0, free, 1);
        while spent + delay <= window {
            spent += delay;
            attempts += 1;
            delay = (delay * 2).min(self.sign_in_max_delay_secs);
        }
        attempts * 60 / self.sign_in_window_minutes
    }
}
