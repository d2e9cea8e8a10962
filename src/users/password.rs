//! Passwords: Argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing is deliberately slow, so it never runs on the async runtime: [`Hasher`] runs it
//! on blocking threads, at most one per core at a time, so requests that do not hash are
//! never starved. Past a short queue it refuses at once with `TOO_MANY_REQUESTS` instead of
//! letting sign-ins wait for seconds. Verifying against an unknown user runs one verify
//! against a dummy hash, so "no such user" costs the same time as "wrong password".

use crate::error::{ApiError, ErrorCode};
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use std::sync::Arc;
use tokio::sync::Semaphore;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The rules for a new password, in the words the form shows.
pub fn check_new(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        Err(format!("must be at least {MIN_CHARS} characters"))
    } else if chars > MAX_CHARS {
        Err(format!("must be at most {MAX_CHARS} characters"))
    } else {
        Ok(())
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP Argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). Blocking.
pub fn hash_blocking(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random number generator failed");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashes any password within its limits")
        .to_string()
}

/// Whether `password` matches the PHC string `hash`. Blocking.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "a stored password hash cannot be parsed");
            false
        }
    }
}

/// The bounded pool that hashes and verifies passwords.
pub struct Hasher {
    /// One permit per hashing thread.
    workers: Arc<Semaphore>,
    /// Running plus waiting; when none is left, refuse at once.
    admitted: Arc<Semaphore>,
    /// A hash of a random password: what an unknown user is verified against.
    dummy: Arc<str>,
    /// Verifications run so far (observable proof that unknown users cost one verify).
    verified: std::sync::atomic::AtomicU64,
}

impl Hasher {
    /// `threads` hashing at once, `queue` more waiting.
    pub fn new(threads: usize, queue: usize) -> Hasher {
        let threads = threads.max(1);
        let mut random = [0u8; 24];
        getrandom::fill(&mut random)
            .expect("the operating system's random number generator failed");
        Hasher {
            workers: Arc::new(Semaphore::new(threads)),
            admitted: Arc::new(Semaphore::new(threads + queue)),
            dummy: hash_blocking(&format!("{random:?}")).into(),
            verified: Default::default(),
        }
    }

    /// One thread per core, and `queue` more waiting (four per core by default).
    pub fn for_this_machine(queue: Option<usize>) -> Hasher {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hasher::new(cores, queue.unwrap_or(cores * 4))
    }

    /// How many verifications have run.
    pub fn verifications(&self) -> u64 {
        self.verified.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_blocking(&password)).await
    }

    /// Verifies against `hash`, or against the dummy hash when there is no user (then
    /// always `false`, after the same work).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.to_string());
        let ok = self.run(move || verify_blocking(&password, &hash)).await?;
        self.verified
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(ok && known)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| {
            ApiError::too_many(
                "Too many sign-ins are being processed right now; try again in a moment.",
                1,
            )
        })?;
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::new(ErrorCode::InternalError))?;
        // The permits move into the thread: a request dropped mid-hash (timeout, hang-up)
        // still holds its place until the thread is done, keeping the bound true.
        tokio::task::spawn_blocking(move || {
            let _held = (admitted, worker);
            work()
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing thread failed");
            ApiError::new(ErrorCode::InternalError)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_blocking("correct horse");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking("correct horse", &hash));
        assert!(!verify_blocking("wrong horse", &hash));
        assert_ne!(hash, hash_blocking("correct horse"), "salted");
    }

    #[test]
    fn new_password_rules() {
        assert!(check_new("1234567").is_err());
        assert!(check_new("12345678").is_ok());
        assert!(check_new(&"é".repeat(128)).is_ok(), "characters, not bytes");
        assert!(check_new(&"x".repeat(129)).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once_and_unknown_users_never_match() {
        let hasher = Arc::new(Hasher::new(1, 1));
        let hash = hasher.hash("pw-12345".into()).await.unwrap();
        assert!(
            hasher
                .verify("pw-12345".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("pw-12345".into(), None).await.unwrap());
        // Occupy the only thread, so admitted calls wait: one running slot + one queued fit.
        let busy = hasher.workers.clone().acquire_owned().await.unwrap();
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let (h, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(async move { h.verify("x".into(), Some(hash)).await })
            })
            .collect();
        while hasher.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let started = std::time::Instant::now();
        let refused = hasher.verify("x".into(), Some(hash)).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyRequests);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(50),
            "refused without waiting"
        );
        drop(busy);
        for q in queued {
            assert!(
                !q.await.unwrap().unwrap(),
                "queued calls run once a thread is free"
            );
        }
    }
}
