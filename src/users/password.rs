//! Passwords: Argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing is deliberately slow, so it never runs on the async runtime: [`Hasher`] runs it
//! on its own threads, one per core, so requests that do not hash are never starved. Past a short queue it refuses at once with `TOO_MANY_REQUESTS` instead of
//! letting sign-ins wait for seconds. Verifying against an unknown user runs one verify
//! against a dummy hash, so "no such user" costs the same time as "wrong password".

use crate::error::{ApiError, ErrorCode};
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version,
    password_hash::{Output, SaltString},
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

thread_local! {
    /// Argon2's working memory (19 MiB with the parameters above), kept by each hashing
    /// thread for its life: a verify neither maps nor zeroes fresh pages, and the process
    /// holds this memory once per thread instead of leaving it in malloc's arenas.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC string `hash`. Blocking.
///
/// The parameters, salt and algorithm come from the stored hash, so hashes made with
/// other parameters (older settings) still verify.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let checked = (|| -> Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(hash)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(argon2::password_hash::Error::PhcStringField);
        };
        let params = Params::try_from(&parsed)?;
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let mut salt_bytes = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes)?;
        let mut out = vec![0u8; expected.len()];
        MEMORY.with_borrow_mut(|blocks| {
            blocks.resize(params.block_count(), Block::default());
            Argon2::new(algorithm, version, params).hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut blocks[..],
            )
        })?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out)? == expected)
    })();
    checked.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a stored password hash cannot be checked");
        false
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// The bounded pool that hashes and verifies passwords.
///
/// It owns its threads (one per core by default) rather than borrowing tokio's blocking
/// pool: that pool grows to hundreds of threads, and each thread that once ran Argon2
/// keeps its own malloc arena holding the 19 MiB it used, so a login storm left the
/// process at over a gigabyte. With its own threads, hashing memory stays at about
/// `threads × 19 MiB` whatever the load, and file reads and other blocking work never
/// queue behind password hashes.
pub struct Hasher {
    /// Work for the hashing threads; they exit when the `Hasher` (this sender) is dropped.
    jobs: std::sync::mpsc::Sender<Job>,
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
        let (jobs, waiting) = std::sync::mpsc::channel::<Job>();
        let waiting = Arc::new(std::sync::Mutex::new(waiting));
        for i in 0..threads {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("fypass-hash-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match waiting.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        job();
                    }
                })
                .expect("the operating system starts a hashing thread");
        }
        let mut random = [0u8; 24];
        getrandom::fill(&mut random)
            .expect("the operating system's random number generator failed");
        Hasher {
            jobs,
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
        metrics::counter!("fypass_password_verifications_total").increment(1);
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
        let (reply, result) = tokio::sync::oneshot::channel();
        // The permit moves into the job: a request dropped while its hash runs (timeout,
        // hang-up) still holds its place until the thread is done, keeping the bound true.
        // One dropped while still queued is skipped when its turn comes.
        let job: Job = Box::new(move || {
            if reply.is_closed() {
                return;
            }
            // A panic fails this request (its reply is dropped unsent), not the thread.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            // The place is free before the reply leaves, so a caller that sends its next
            // sign-in as soon as it has the answer finds it free.
            drop(admitted);
            if let Ok(out) = out {
                let _ = reply.send(out);
            }
        });
        let internal = |what: &str| {
            tracing::error!("password hashing failed: {what}");
            ApiError::new(ErrorCode::InternalError)
        };
        self.jobs
            .send(job)
            .map_err(|_| internal("no hashing thread is running"))?;
        result
            .await
            .map_err(|_| internal("the hashing thread panicked"))
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
    fn hashes_with_other_parameters_still_verify_and_garbage_never_does() {
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"older pw 123", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking("older pw 123", &older));
        assert!(!verify_blocking("older pw 124", &older));
        assert!(!verify_blocking("older pw 123", "not a PHC string"));
        assert!(!verify_blocking(
            "older pw 123",
            &older.replace("argon2id", "argon2x")
        ));
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
        // Occupy the only thread until `gate` opens, and queue one verify behind it: the
        // one running slot and the one queued slot are taken.
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let busy = {
            let h = hasher.clone();
            tokio::spawn(async move { h.run(move || wait.recv()).await })
        };
        while hasher.admitted.available_permits() > 1 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let (h, hash) = (hasher.clone(), hash.clone());
            tokio::spawn(async move { h.verify("x".into(), Some(hash)).await })
        };
        while hasher.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.verify("x".into(), Some(hash)).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyRequests);
        gate.send(()).unwrap();
        busy.await.unwrap().unwrap().unwrap();
        assert!(
            !queued.await.unwrap().unwrap(),
            "the queued call runs once the thread is free"
        );
        assert_eq!(
            hasher.admitted.available_permits(),
            2,
            "every place is given back"
        );
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_request_and_the_thread_lives_on() {
        let hasher = Hasher::new(1, 0);
        let failed = hasher.run(|| panic!("boom")).await.unwrap_err();
        assert_eq!(failed.code, ErrorCode::InternalError);
        assert_eq!(hasher.run(|| 7).await.unwrap(), 7);
    }
}
