//! Opaque secrets: client keys (`fyk_`), access tokens (`fyp_`), login request tokens and
//! browser sessions all follow one rule, written here.
//!
//! A secret is a prefix plus 32 bytes from the operating system's RNG, base64url without
//! padding. Only its SHA-256 is stored. Because the secret carries 256 bits of entropy, a
//! plain (unsalted, fast) hash is the right tool: nobody can brute-force the preimage, and
//! a lookup by hash compares nothing byte-by-byte in the caller's timing.
//!
//! Access and refresh tokens, two of which are written on every refresh, are **ordered**
//! ([`issue_ordered`]): the same shape, but the first bytes are the time they were issued,
//! and so is the start of what is stored ([`Keys::ordered`]). A hash puts each new entry of
//! a table's unique index on a random page, which the insert must read and write back; keys
//! in time order all land on the index's last pages, which are in memory already
//! (BENCHMARKS.md, "ordered token keys").

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Random bytes in every secret.
const SECRET_BYTES: usize = 32;
/// Length of the base64url text of [`SECRET_BYTES`].
const SECRET_CHARS: usize = 43;
/// Bytes of an ordered secret that are its time (Unix ms, big-endian): the rest (26 bytes,
/// 208 bits) are random.
const TIME_BYTES: usize = 6;

/// A freshly issued secret: the text to hand out once, and the hash to store.
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
    let hash = Keys::of(prefix, &plaintext)
        .expect("an ordered secret is well formed")
        .ordered;
    Issued { plaintext, hash }
}

/// What a secret of `prefix` that may be ordered can be stored under. Both kinds have one
/// shape, so a lookup tries each key in turn ([`first_found`]).
pub struct Keys {
    /// For a secret from [`issue_ordered`]: its time, then the first 26 bytes of its
    /// SHA-256 (32 bytes, as a hash). Finding another secret with the same key, or one
    /// whose hash is a stored key, means matching 208 or 256 bits of SHA-256: out of
    /// reach. A copy of the database still holds no usable secret.
    pub ordered: Vec<u8>,
    /// For a secret from [`issue`] (before ordered secrets; valid until it expires): its
    /// [`hash`].
    pub hashed: Vec<u8>,
}

impl Keys {
    /// The keys of `s`, if it has the shape of a secret with `prefix`.
    pub fn of(prefix: &str, s: &str) -> Option<Keys> {
        let rest = s.strip_prefix(prefix).filter(|_| well_formed(prefix, s))?;
        let hashed = hash(s);
        let time = URL_SAFE_NO_PAD.decode(&rest[..8]).ok()?;
        let mut ordered = time[..TIME_BYTES].to_vec();
        ordered.extend_from_slice(&hashed[..SECRET_BYTES - TIME_BYTES]);
        Some(Keys { ordered, hashed })
    }

    /// The keys in the order a lookup tries them: the ordered first, as every secret issued
    /// now is.
    pub fn in_order(self) -> [Vec<u8>; 2] {
        [self.ordered, self.hashed]
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
        let start = 1_796_601_600_000;
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
        let keys = Keys::of("fyt_", &a.plaintext).unwrap();
        assert_eq!(keys.ordered, a.hash);
        assert_eq!(keys.hashed, hash(&a.plaintext));
        // Its random part is what the key checks: change one character, another key.
        let mut forged = a.plaintext.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_ne!(Keys::of("fyt_", &forged).unwrap().ordered, a.hash);
        assert!(Keys::of("fyp_", &a.plaintext).is_none());
        assert!(Keys::of("fyt_", "fyt_short").is_none());
        // One issued before ordered secrets is found by its hash.
        let old = issue("fyt_");
        assert_eq!(Keys::of("fyt_", &old.plaintext).unwrap().hashed, old.hash);
    }
}
