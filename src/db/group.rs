//! Group commit: the hot inserts of many requests written in one transaction.
//!
//! A durable write costs a commit (SQLite: the WAL append under its single writer lock;
//! PostgreSQL: a WAL flush and two more round trips for `BEGIN` and `COMMIT`), and under
//! load that, not the statement, is most of a write's time (BENCHMARKS.md). So each kind
//! of hot write (refreshes, device saves, login starts) has one task per process that owns its
//! writes: it takes every job waiting (up to [`MAX_GROUP`]), writes them in one
//! transaction, as one multi-row statement where it can, commits once and answers each
//! caller. A caller is answered only after the commit, so an acknowledged write survives
//! a crash exactly as a write committed alone would.
//!
//! When a group fails (one bad row fails a multi-row statement; PostgreSQL then aborts the
//! whole transaction), nothing of it is kept and each of its jobs is written again alone,
//! so only the bad one fails. A group that could not even begin (the database locked by
//! another process past the busy timeout, a connection lost) is answered with that error.
//! A job whose caller has gone (deadline, hang-up) before its turn is skipped.
//!
//! On SQLite the task runs on a thread of its own. A group is a few round trips to the
//! writer connection's thread (`BEGIN`, its statements, `COMMIT`), and on the server's
//! runtime each answer waited for the task to be polled behind the requests queued there
//! (signing ID tokens, parsing, replying): timed during the refresh grant, `BEGIN` alone
//! took 1.1 ms of a 3 ms group there, 0.3 ms on a thread of its own (BENCHMARKS.md). (PostgreSQL's
//! connections belong to the runtime that opened them, so there it is a task like any other.)
//!
//! The task keeps the connection it writes on while more groups wait (up to
//! [`HELD_GROUPS`] in a row, then it queues for the pool again like any other write): each
//! group then costs its transaction, not also a return to the pool and a new taking. A
//! failed group's jobs are written alone each on a connection taken anew, so a stream of
//! failing groups holds the writer no longer than as many lone writes would.

use super::{Db, Lease, Tx};
use crate::error::{ApiError, ErrorCode};
use std::{future::Future, marker::PhantomData};
use tokio::sync::{mpsc, oneshot};

/// Jobs one group writes at most.
pub const MAX_GROUP: usize = 64;

/// One kind of write that can be grouped.
pub trait GroupWrite: Send + Sync + 'static {
    type Job: Send + Sync + 'static;
    type Done: Send + 'static;

    /// Writes `jobs` in `tx`, answering each, in order. An `Err` (or a job's own error,
    /// when there are several) fails the group, which is then retried one job at a time.
    fn write(
        tx: &mut Tx<'_>,
        jobs: &[Self::Job],
    ) -> impl Future<Output = Result<Vec<Result<Self::Done, ApiError>>, ApiError>> + Send;
}

/// The queue of one kind of grouped write; the task writing it ends when this is dropped.
pub struct Group<W: GroupWrite> {
    queue: mpsc::Sender<Waiting<W>>,
    kind: PhantomData<W>,
}

struct Waiting<W: GroupWrite> {
    job: W::Job,
    reply: ReplyTo<W>,
}

impl<W: GroupWrite> Group<W> {
    /// Starts the task that writes this kind's groups on `db`.
    pub fn start(db: &Db) -> Group<W> {
        let (queue, waiting) = mpsc::channel(MAX_GROUP * 16);
        let task = write_groups::<W>(db.clone(), waiting);
        match db {
            Db::Sqlite { .. } => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .expect("a runtime for a group-commit thread");
                std::thread::Builder::new()
                    .name("fypass-group".into())
                    .spawn(move || runtime.block_on(task))
                    .expect("a group-commit thread");
            }
            Db::Postgres(_) => {
                tokio::spawn(task);
            }
        }
        Group {
            queue,
            kind: PhantomData,
        }
    }

    /// Writes `job` with whatever else is waiting, once it is committed.
    pub async fn write(&self, job: W::Job) -> Result<W::Done, ApiError> {
        let (reply, answer) = oneshot::channel();
        let lost = || {
            tracing::error!(
                kind = std::any::type_name::<W>(),
                "a group-commit task is gone"
            );
            ApiError::new(ErrorCode::InternalError)
        };
        self.queue
            .send(Waiting { job, reply })
            .await
            .map_err(|_| lost())?;
        answer.await.map_err(|_| lost())?
    }
}

/// Groups one task may write in a row on the connection it holds before giving it back to
/// the pool, where other writes wait their turn (SQLite has one writer connection).
const HELD_GROUPS: usize = 8;

/// Where a job's caller waits for its answer.
type ReplyTo<W> = oneshot::Sender<Result<<W as GroupWrite>::Done, ApiError>>;

/// A group's jobs and their callers.
type Jobs<W> = (Vec<<W as GroupWrite>::Job>, Vec<ReplyTo<W>>);

async fn write_groups<W: GroupWrite>(db: Db, mut waiting: mpsc::Receiver<Waiting<W>>) {
    let mut group: Vec<Waiting<W>> = Vec::with_capacity(MAX_GROUP);
    while waiting.recv_many(&mut group, MAX_GROUP).await > 0 {
        // The connection is held while groups keep coming (see `Lease`), up to HELD_GROUPS,
        // and given back before a failed group is written again job by job.
        let mut lease = match db.lease().await {
            Ok(lease) => lease,
            Err(e) => {
                for w in group.drain(..) {
                    let _ = w.reply.send(Err(e.clone()));
                }
                continue;
            }
        };
        let mut failed = None;
        for held in 1.. {
            failed = write_group::<W>(&mut lease, &mut group).await;
            if failed.is_some() || held == HELD_GROUPS || waiting.is_empty() {
                break;
            }
            waiting.recv_many(&mut group, MAX_GROUP).await;
        }
        drop(lease);
        if let Some((jobs, replies)) = failed {
            write_alone::<W>(&db, jobs, replies).await;
        }
    }
}

/// Writes and answers the jobs of `group` (left empty) on `lease`; those of a group that
/// failed by a job's fault (not at its start) are returned unanswered, to write alone.
async fn write_group<W: GroupWrite>(
    lease: &mut Lease,
    group: &mut Vec<Waiting<W>>,
) -> Option<Jobs<W>> {
    group.retain(|w| !w.reply.is_closed());
    if group.is_empty() {
        return None;
    }
    let (jobs, replies): (Vec<_>, Vec<_>) = group.drain(..).map(|w| (w.job, w.reply)).unzip();
    match write_once::<W>(lease, &jobs).await {
        Ok(done) => {
            for (reply, done) in replies.into_iter().zip(done) {
                let _ = reply.send(done);
            }
            None
        }
        // Nothing began (the database is locked or gone), or alone already: the error is
        // every job's.
        Err((began, e)) if !began || jobs.len() == 1 => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
            None
        }
        Err(_) => Some((jobs, replies)),
    }
}

/// Each of a failed group's jobs in a transaction of its own, so only the job that broke
/// the group fails; each on a connection taken from the pool anew, so that a group that
/// keeps failing holds the writer no longer than as many lone writes would.
async fn write_alone<W: GroupWrite>(db: &Db, jobs: Vec<W::Job>, replies: Vec<ReplyTo<W>>) {
    for (job, reply) in jobs.into_iter().zip(replies) {
        if reply.is_closed() {
            continue;
        }
        let done = match db.lease().await {
            Ok(mut lease) => match write_once::<W>(&mut lease, std::slice::from_ref(&job)).await {
                Ok(mut done) => done.pop().unwrap_or_else(|| Err(missing())),
                Err((_, e)) => Err(e),
            },
            Err(e) => Err(e),
        };
        let _ = reply.send(done);
    }
}

/// `jobs` in one transaction, committed only when every job succeeded; on failure, whether
/// the transaction had begun. A write that panics (a bug) fails as an error does: its
/// transaction is rolled back, and the task lives on to write the next group. Before, the
/// panic ended the task, and every later write of its kind failed until a restart.
async fn write_once<W: GroupWrite>(
    lease: &mut Lease,
    jobs: &[W::Job],
) -> Result<Vec<Result<W::Done, ApiError>>, (bool, ApiError)> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(write_in_tx::<W>(lease, jobs))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            tracing::error!(
                kind = std::any::type_name::<W>(),
                panic = crate::error::panic_message(&*panic),
                "a group write panicked: its jobs fail"
            );
            Err((true, ApiError::new(ErrorCode::InternalError)))
        })
}

async fn write_in_tx<W: GroupWrite>(
    lease: &mut Lease,
    jobs: &[W::Job],
) -> Result<Vec<Result<W::Done, ApiError>>, (bool, ApiError)> {
    let mut tx = lease.begin().await.map_err(|e| (false, e))?;
    let began = |e| (true, e);
    let done = W::write(&mut tx, jobs).await.map_err(began)?;
    if done.len() != jobs.len() {
        return Err(began(missing()));
    }
    if let Some(Err(e)) = done.iter().find(|d| d.is_err()) {
        return Err(began(e.clone()));
    }
    tx.commit().await.map_err(began)?;
    Ok(done)
}

fn missing() -> ApiError {
    tracing::error!("a group write answered fewer jobs than it was given");
    ApiError::new(ErrorCode::InternalError)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserts numbers into `t`, whose CHECK refuses negative ones: a group with one
    /// negative number fails as a whole.
    struct Numbers;

    impl GroupWrite for Numbers {
        type Job = i64;
        type Done = i64;

        async fn write(
            tx: &mut Tx<'_>,
            jobs: &[i64],
        ) -> Result<Vec<Result<i64, ApiError>>, ApiError> {
            let Tx::Sqlite(t) = tx else { unreachable!() };
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO t (x) ");
            q.push_values(jobs, |mut b, x| {
                b.push_bind(*x);
            });
            q.build().execute(&mut **t).await?;
            Ok(jobs.iter().map(|x| Ok(*x)).collect())
        }
    }

    /// As [`Numbers`], but a bug: it panics on 13, once the group's insert is sent.
    struct Unlucky;

    impl GroupWrite for Unlucky {
        type Job = i64;
        type Done = i64;

        async fn write(
            tx: &mut Tx<'_>,
            jobs: &[i64],
        ) -> Result<Vec<Result<i64, ApiError>>, ApiError> {
            let done = Numbers::write(tx, jobs).await?;
            assert!(!jobs.contains(&13), "unlucky, after its insert");
            Ok(done)
        }
    }

    /// An in-memory database of one connection with the table `t` of [`Numbers`], and that
    /// connection's pool.
    async fn numbers() -> (Db, sqlx::SqlitePool) {
        let db = Db::connect("sqlite::memory:", 1, crate::db::Pooler::None)
            .await
            .unwrap();
        let Db::Sqlite { writer, .. } = &db else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (x INTEGER NOT NULL CHECK (x >= 0))")
            .execute(writer)
            .await
            .unwrap();
        let writer = writer.clone();
        (db, writer)
    }

    /// Writes `xs` while the only connection is held, so that they queue up and are written
    /// in groups rather than each as it comes; each number with its answer.
    async fn written_in_groups<W: GroupWrite<Job = i64>>(
        group: &std::sync::Arc<Group<W>>,
        writer: &sqlx::SqlitePool,
        xs: impl IntoIterator<Item = i64>,
    ) -> Vec<(i64, Result<W::Done, ApiError>)> {
        let held = writer.acquire().await.unwrap();
        let answers = tokio::spawn(futures::future::join_all(xs.into_iter().map(|x| {
            let group = group.clone();
            async move { (x, group.write(x).await) }
        })));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        answers.await.unwrap()
    }

    async fn count(db: &Db) -> i64 {
        let Db::Sqlite { reader, .. } = db else {
            unreachable!()
        };
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(reader)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_job_fails_alone_and_the_rest_of_its_group_is_kept() {
        let (db, writer) = numbers().await;
        let group = std::sync::Arc::new(Group::<Numbers>::start(&db));
        for (x, answer) in written_in_groups(&group, &writer, (0..40).chain([-1])).await {
            match answer {
                Ok(done) => assert_eq!(done, x),
                Err(e) => assert!(x < 0, "{x} failed: {e:?}"),
            }
        }
        assert_eq!(
            count(&db).await,
            40,
            "every good number is kept, the bad one is not"
        );
    }

    /// The task keeps the connection while groups keep coming, but gives it back after
    /// `HELD_GROUPS`: a write waiting for the pool meanwhile gets its turn then, not only
    /// when the queue runs dry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_waiting_for_the_connection_gets_it_after_held_groups() {
        let (db, writer) = numbers().await;
        let group = std::sync::Arc::new(Group::<Numbers>::start(&db));
        let held = writer.acquire().await.unwrap();
        let jobs = (HELD_GROUPS + 2) * MAX_GROUP;
        let answers = tokio::spawn(futures::future::join_all((0..jobs as i64).map(|x| {
            let group = group.clone();
            async move { group.write(x).await }
        })));
        // Every job queued, and the task waiting for the connection with its first group;
        // then another write asks for the connection too.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let other = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut conn = writer.acquire().await.unwrap();
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM t")
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap()
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        let written = other.await.unwrap();
        assert!(
            written > 0 && written <= (HELD_GROUPS * MAX_GROUP) as i64,
            "the other write had the connection after at most the held groups \
             ({written} of {jobs} written), not after the queue ran dry"
        );
        assert!(answers.await.unwrap().iter().all(Result::is_ok));
        assert_eq!(count(&db).await, jobs as i64);
    }

    /// A write that panics fails its own job, and nothing of its transaction is kept; the
    /// task writes the next groups as before (it used to end, failing every later write).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_panics_fails_alone_and_the_task_lives_on() {
        let (db, writer) = numbers().await;
        let group = Group::<Unlucky>::start(&db);
        let failed = group.write(13).await.expect_err("the panicking job fails");
        assert_eq!(failed.code, ErrorCode::InternalError);
        for x in [1, 2, 3] {
            assert_eq!(group.write(x).await.expect("later writes succeed"), x);
        }
        assert_eq!(count(&db).await, 3, "nothing of the failed write was kept");
        // In a group with others (queued while the connection is held), it fails alone.
        let group = std::sync::Arc::new(group);
        for (x, answer) in written_in_groups(&group, &writer, [4, 13, 5]).await {
            assert_eq!(answer.is_ok(), x != 13, "{x}: {answer:?}");
        }
        assert_eq!(count(&db).await, 5, "the others of its group are kept");
    }
}
