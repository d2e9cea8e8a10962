//! Opaque secrets: client keys (`fyk_`), access tokens (`fyp_`), login request tokens and
//! browser sessions all follow one rule, written here.
//!
//! A secret is a prefix plus 32 bytes from the operating system's RNG, base64url without
//! padding. Only its SHA-256 is stored. Because the secret carries 256 bits of entropy, a
//! plain (unsalted, fast) hash is the right tool: nobody can brute-force the preimage, and
//! a lookup by hash compares nothing byte-by-byte in the caller's timing.
//!
//! Access and refresh tokens, two of which are written on every refresh, are **ordered**
//! ([`issue_ordered`]): the same shape, but the first 6 of the 32 bytes are the time they
//! were issued (the other 26, 208 bits, random), and so is the start of what is stored
//! ([`Keys`]). A hash puts each new entry of a table's unique index on a random page, which
//! the insert must read and write back; keys in time order all land on the index's last
//! pages, which are in memory already (BENCHMARKS.md, "Ordered token keys").

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Random bytes in every secret.
const SECRET_BYTES: usize = 32;
/// Length of the base64url text of [`SECRET_BYTES`].
const SECRET_CHARS: usize = 43;
/// Bytes of an ordered secret that are its time (Unix ms, big-endian): the rest (26 bytes,
/// 208 bits) are random.
const TIME_BYTES: usize = 6;

/// A freshly issued secret: the text to hand out once, and what to store (its hash, or for
/// an ordered secret its key).
#[derive(Clone)]
pub struct Issued {
    pub plaintext: String,
    pub hash: Vec<u8>,
}

/// Issues a new secret with `prefix` (e.g. `"fyk_"`).
pub fn issue(prefix: &str) -> Issued {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    let plaintext = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&plaintext);
    Issued { plaintext, hash }
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Issues a secret with `prefix` whose first bytes are the time `now` (Unix ms), stored
/// under its [`Keys::ordered`].
pub fn issue_ordered(prefix: &str, now: i64) -> Issued {
    let mut bytes = [0u8; SECRET_BYTES];
    bytes[..TIME_BYTES].copy_from_slice(&now.to_be_bytes()[8 - TIME_BYTES..]);
    getrandom::fill(&mut bytes[TIME_BYTES..])
        .expect("the operating system's random number generator failed");
    let plaintext = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = ordered_key(&bytes, &hash(&plaintext));
    Issued { plaintext, hash }
}

/// The key of an ordered secret whose bytes begin with `head` and whose [`hash`] is
/// `hashed`: its time, then the first 26 bytes of the hash (32 bytes, as a hash).
fn ordered_key(head: &[u8], hashed: &[u8]) -> Vec<u8> {
    [&head[..TIME_BYTES], &hashed[..SECRET_BYTES - TIME_BYTES]].concat()
}

/// No ordered secret was issued before this time (Unix ms, 2026-12-06): the release that
/// began to issue them is younger.
const ORDERED_SINCE: i64 = 1_796_515_200_000;
/// How far ahead of this node's clock another node's may be.
const CLOCK_SKEW_MS: i64 = 24 * 3600 * 1000;

/// What a secret of `prefix` that may be ordered can be stored under. Both kinds have one
/// shape, so a lookup tries each key in turn ([`first_found`]).
pub struct Keys {
    /// For a secret from [`issue_ordered`]: its time, then the first 26 bytes of its
    /// SHA-256 (32 bytes, as a hash). Finding another secret with the same key, or one
    /// whose hash is a stored key, means matching 208 or 256 bits of SHA-256: out of
    /// reach. A copy of the database still holds no usable secret. `None` when its first
    /// bytes are no time an ordered secret can have (since [`ORDERED_SINCE`], and no more
    /// than [`CLOCK_SKEW_MS`] after `now`): then it is an earlier one, or nothing, and
    /// costs one lookup, not two.
    pub ordered: Option<Vec<u8>>,
    /// For a secret from [`issue`] (before ordered secrets; valid until it expires): its
    /// [`hash`].
    pub hashed: Vec<u8>,
}

impl Keys {
    /// The keys of `s`, if it has the shape of a secret with `prefix`, presented at `now`
    /// (Unix ms).
    pub fn of(prefix: &str, s: &str, now: i64) -> Option<Keys> {
        let rest = s.strip_prefix(prefix).filter(|_| well_formed(prefix, s))?;
        let hashed = hash(s);
        let head = URL_SAFE_NO_PAD.decode(&rest[..8]).ok()?;
        let mut time = [0u8; 8];
        time[8 - TIME_BYTES..].copy_from_slice(&head[..TIME_BYTES]);
        let time = i64::from_be_bytes(time);
        let ordered = (ORDERED_SINCE..=now.saturating_add(CLOCK_SKEW_MS))
            .contains(&time)
            .then(|| ordered_key(&head, &hashed));
        Some(Keys { ordered, hashed })
    }

    /// The keys in the order a lookup tries them: the ordered first, as every secret issued
    /// now is.
    pub fn in_order(self) -> impl Iterator<Item = Vec<u8>> {
        self.ordered.into_iter().chain([self.hashed])
    }
}

/// The lookup of a secret that may be ordered: `$find` (an expression of `$key` that gives a
/// `Result<Option<_>, _>`) for each of `$keys` ([`Keys::in_order`]) until one finds it or
/// fails.
macro_rules! first_found {
    ($keys:expr, |$key:ident| $find:expr) => {{
        let mut found = Ok(None);
        for $key in $keys.in_order() {
            found = $find;
            if !matches!(found, Ok(None)) {
                break;
            }
        }
        found
    }};
}
pub(crate) use first_found;

/// Whether `s` has the shape of a secret with `prefix` (cheap, before any lookup).
pub fn well_formed(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SECRET_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The first characters of a secret, safe to show to identify it (`fyk_AbCd1234`).
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_secrets_are_well_formed_unique_and_hashed() {
        let a = issue("fyk_");
        let b = issue("fyk_");
        assert_ne!(a.plaintext, b.plaintext);
        assert!(well_formed("fyk_", &a.plaintext), "{}", a.plaintext);
        assert!(!well_formed("fyp_", &a.plaintext));
        assert!(!well_formed("fyk_", "fyk_short"));
        assert_eq!(a.hash, hash(&a.plaintext));
        assert_eq!(a.hash.len(), 32);
        assert_eq!(display_prefix(&a.plaintext).len(), 12);
    }

    #[test]
    fn ordered_secrets_are_stored_in_the_order_they_were_issued() {
        let start = ORDERED_SINCE + 1000;
        let issued: Vec<Issued> = (0..50).map(|i| issue_ordered("fyt_", start + i)).collect();
        for (one, next) in issued.iter().zip(&issued[1..]) {
            assert!(one.hash < next.hash, "keys sort by time");
        }
        let a = &issued[0];
        assert!(
            well_formed("fyt_", &a.plaintext),
            "the shape of every secret"
        );
        assert_eq!(a.hash.len(), 32);
        assert_eq!(a.hash[..6], start.to_be_bytes()[2..]);
        let keys = Keys::of("fyt_", &a.plaintext, start).unwrap();
        assert_eq!(keys.ordered.as_ref(), Some(&a.hash));
        assert_eq!(keys.hashed, hash(&a.plaintext));
        assert_eq!(
            keys.in_order().collect::<Vec<_>>(),
            [a.hash.clone(), hash(&a.plaintext)]
        );
        // Its random part is what the key checks: change one character, another key.
        let mut forged = a.plaintext.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_ne!(
            Keys::of("fyt_", &forged, start).unwrap().ordered,
            Some(a.hash.clone())
        );
        assert!(Keys::of("fyp_", &a.plaintext, start).is_none());
        assert!(Keys::of("fyt_", "fyt_short", start).is_none());
        // One issued before ordered secrets is found by its hash alone when its first bytes
        // are no time an ordered one can have (before ordered secrets, or in the future).
        let old = issue("fyt_");
        assert_eq!(
            Keys::of("fyt_", &old.plaintext, start).unwrap().hashed,
            old.hash
        );
        for time in [ORDERED_SINCE - 1, i64::MAX >> 16] {
            let mut bytes = [7u8; SECRET_BYTES];
            bytes[..TIME_BYTES].copy_from_slice(&time.to_be_bytes()[8 - TIME_BYTES..]);
            let token = format!("fyt_{}", URL_SAFE_NO_PAD.encode(bytes));
            assert_eq!(
                Keys::of("fyt_", &token, start)
                    .unwrap()
                    .in_order()
                    .collect::<Vec<_>>(),
                [hash(&token)]
            );
        }
    }
}
