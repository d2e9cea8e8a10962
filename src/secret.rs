//! Opaque secrets: client keys (`fyk_`), access tokens (`fyp_`), login request tokens and
//! browser sessions all follow one rule, written here.
//!
//! A secret is a prefix plus 32 bytes from the operating system's RNG, base64url without
//! padding. Only its SHA-256 is stored. Because the secret carries 256 bits of entropy, a
//! plain (unsalted, fast) hash is the right tool: nobody can brute-force the preimage, and
//! a lookup by hash compares nothing byte-by-byte in the caller's timing.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Random bytes in every secret.
const SECRET_BYTES: usize = 32;
/// Length of the base64url text of [`SECRET_BYTES`].
const SECRET_CHARS: usize = 43;

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
}
