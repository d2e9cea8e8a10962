//! Passwords: Argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing is deliberately slow, so it never runs on the async runtime: [`Hasher`] runs it
//! on its own threads, one per core, so requests that do not hash are never starved. Past
//! a short queue it refuses at once with `TOO_MANY_REQUESTS` instead of letting sign-ins
//! wait for seconds, and sign-ins keep a share of it that registrations cannot take
//! ([`Lane`]). Verifying against an unknown user runs one verify
//! against a dummy hash, so "no such user" costs the same time as "wrong password".

use crate::error::{ApiError, ErrorCode};
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version,
    password_hash::{Output, SaltString},
};
use std::{
    collections::VecDeque,
    sync::{Arc, Condvar, Mutex, MutexGuard},
};
use tokio::sync::Semaphore;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The rules for a new password, in the words the form shows.
pub fn check_new(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        Err(crate::tr!(common.field.at_least_chars, n = MIN_CHARS))
    } else if chars > MAX_CHARS {
        Err(crate::tr!(common.field.at_most_chars, n = MAX_CHARS))
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

/// Which work a hash is for. Sign-ins come first: registrations (and, later, password
/// changes) are work a stranger can ask for without any password, so they wait behind
/// sign-ins, may never take every hashing thread, and are admitted to a smaller share of
/// the queue. A flood of registrations slows registrations, not other people's sign-ins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    SignIn,
    Other,
}

/// The work waiting for a hashing thread, by lane.
#[derive(Default)]
struct Queue {
    sign_ins: VecDeque<Job>,
    others: VecDeque<Job>,
    /// `Other` jobs running now.
    running_others: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The bounded pool that hashes and verifies passwords.
///
/// It owns its threads (one per core by default) rather than borrowing tokio's blocking
/// pool: that pool grows to hundreds of threads, and each thread that once ran Argon2
/// keeps its own malloc arena holding the 19 MiB it used, so a login storm left the
/// process at over a gigabyte. With its own threads, hashing memory stays at about
/// `threads × 19 MiB` whatever the load, and file reads and other blocking work never
/// queue behind password hashes.
pub struct Hasher {
    shared: Arc<Shared>,
    /// Places (running plus waiting) per lane; when none is left, refuse at once.
    sign_ins: Arc<Semaphore>,
    others: Arc<Semaphore>,
    /// A hash of a random password: what an unknown user is verified against.
    dummy: Arc<str>,
    /// Verifications run so far (observable proof that unknown users cost one verify).
    verified: std::sync::atomic::AtomicU64,
}

impl Drop for Hasher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

impl Hasher {
    /// `threads` hashing at once, `queue` more sign-ins waiting (and half as many others).
    pub fn new(threads: usize, queue: usize) -> Hasher {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
        });
        // `Other` work may take every thread but one (when there are two or more): a
        // sign-in never waits for a registration's hash to finish.
        let max_running_others = threads.saturating_sub(1).max(1);
        for i in 0..threads {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("fypass-hash-{i}"))
                .spawn(move || work(&shared, max_running_others))
                .expect("the operating system starts a hashing thread");
        }
        let mut random = [0u8; 24];
        getrandom::fill(&mut random)
            .expect("the operating system's random number generator failed");
        Hasher {
            shared,
            sign_ins: Arc::new(Semaphore::new(threads + queue)),
            others: Arc::new(Semaphore::new(((threads + queue) / 2).max(1))),
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

    /// Hashes a new password (a registration, a password change): the `Other` lane.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(Lane::Other, move || hash_blocking(&password))
            .await
    }

    /// Verifies a sign-in against `hash`, or against the dummy hash when there is no user
    /// (then always `false`, after the same work).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.to_string());
        let ok = self
            .run(Lane::SignIn, move || verify_blocking(&password, &hash))
            .await?;
        self.verified
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("fypass_password_verifications_total").increment(1);
        Ok(ok && known)
    }

    async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let places = match lane {
            Lane::SignIn => &self.sign_ins,
            Lane::Other => &self.others,
        };
        let admitted = places
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::too_many(crate::tr!(common.throttle.busy), 1))?;
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
        {
            let mut queue = self.shared.lock();
            match lane {
                Lane::SignIn => queue.sign_ins.push_back(job),
                Lane::Other => queue.others.push_back(job),
            }
        }
        // Every thread may be waiting for a different reason (an `Other` job cannot start
        // while the others' share is in use): wake them all to look.
        self.shared.ready.notify_all();
        result.await.map_err(|_| {
            tracing::error!("password hashing failed: the hashing thread panicked");
            ApiError::new(ErrorCode::InternalError)
        })
    }
}

/// A hashing thread: sign-ins first, then other work while its share allows, until the
/// `Hasher` is dropped.
fn work(shared: &Shared, max_running_others: usize) {
    let mut queue = shared.lock();
    loop {
        if let Some(job) = queue.sign_ins.pop_front() {
            drop(queue);
            job();
            queue = shared.lock();
            continue;
        }
        if queue.running_others < max_running_others
            && let Some(job) = queue.others.pop_front()
        {
            queue.running_others += 1;
            drop(queue);
            job();
            queue = shared.lock();
            queue.running_others -= 1;
            // Another thread may be waiting for this share to free up.
            shared.ready.notify_all();
            continue;
        }
        if queue.closed {
            return;
        }
        queue = shared.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
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
            tokio::spawn(async move { h.run(Lane::SignIn, move || wait.recv()).await })
        };
        while hasher.sign_ins.available_permits() > 1 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let (h, hash) = (hasher.clone(), hash.clone());
            tokio::spawn(async move { h.verify("x".into(), Some(hash)).await })
        };
        while hasher.sign_ins.available_permits() > 0 {
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
            hasher.sign_ins.available_permits(),
            2,
            "every place is given back"
        );
    }

    /// With registrations' hashes filling their share of the threads and queue, a sign-in
    /// still gets a thread at once, and further registrations are refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registrations_cannot_take_the_sign_ins_share() {
        let hasher = Arc::new(Hasher::new(2, 2));
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        // Two places for others (half of 2 + 2); only one may run (two threads, one kept).
        let mut blocked = Vec::new();
        for _ in 0..2 {
            let (h, wait) = (hasher.clone(), wait.clone());
            blocked.push(tokio::spawn(async move {
                h.run(Lane::Other, move || wait.lock().unwrap().recv())
                    .await
            }));
        }
        while hasher.others.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.hash("another one".into()).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyRequests);
        // The sign-in runs while both registrations are still held at the gate.
        let signed_in = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            hasher.verify("pw".into(), None),
        )
        .await
        .expect("a sign-in is not stuck behind registrations");
        assert!(!signed_in.unwrap());
        gate.send(()).unwrap();
        gate.send(()).unwrap();
        for b in blocked {
            b.await.unwrap().unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_request_and_the_thread_lives_on() {
        let hasher = Hasher::new(1, 0);
        let failed = hasher
            .run(Lane::SignIn, || panic!("boom"))
            .await
            .unwrap_err();
        assert_eq!(failed.code, ErrorCode::InternalError);
        assert_eq!(hasher.run(Lane::Other, || 7).await.unwrap(), 7);
    }
}
