//! One database handle over SQLite (the default, embedded) or PostgreSQL (for several app
//! nodes sharing one database).
//!
//! Query text is written once, with `$1`-style parameters that both backends accept, and
//! run on whichever backend is configured through [`with_reader!`], [`with_writer!`] and
//! [`with_tx!`]:
//! the macro expands the same expression once per backend, so each query is type-checked
//! against both drivers at compile time. Values use types both drivers store natively:
//! `Uuid` (BLOB / UUID), `i64` Unix milliseconds for times (so comparisons in SQL are
//! integer comparisons on both), `Vec<u8>` for hashes, `String`, `bool`.
//!
//! ## Writes on SQLite
//! SQLite allows one writer at a time and answers a second one with "database is locked"
//! once its busy timeout runs out. So fypass gives SQLite **one writer connection**
//! (`writer`, a pool of size 1) and a separate pool of read-only connections (`reader`),
//! which WAL lets run beside the writer. Concurrent writes from requests queue for the
//! writer connection inside the process instead of racing for the file lock, and every
//! write transaction starts with `BEGIN IMMEDIATE`, taking the lock up front, so a
//! transaction that reads and then writes can never deadlock against another process (the
//! admin commands) halfway through; the busy timeout covers those short cross-process
//! waits. On PostgreSQL both roles use one pool.
//!
//! ## PostgreSQL through a transaction pooler
//! Deployments with many app nodes put PgBouncer (`pool_mode = transaction`) between the
//! nodes and the database: each transaction may run on another server connection. sqlx
//! names a prepared statement per query text and keeps it on its connection, which such a
//! pooler hands to others, so with [`Pooler::Transaction`] every statement is *unnamed*
//! ([`PgExec`]) and runs inside a transaction (sqlx sends Parse and Bind in two round
//! trips, with a Sync between them, and outside a transaction the pooler may give the Bind
//! to another server connection than the Parse). Migrations, which hold a session-level
//! advisory lock, then run over a direct connection (`FYPASS_DATABASE_MIGRATE_URL`).

pub mod group;
mod migrations;
mod tx;

use crate::error::ApiError;
use sqlx::{
    Postgres, Transaction,
    postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};
use std::{future::Future, pin::Pin, str::FromStr, time::Duration};

pub use crate::config::Pooler;
pub use tx::{Lease, PgTx, Tx};

/// How long a request waits for a connection before it is answered `SERVICE_UNAVAILABLE`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a PostgreSQL connection may sit unused before the pool closes it.
const PG_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How many pages SQLite's write-ahead log holds before the commit that passes it copies
/// them into the database file (a checkpoint, with two fsyncs, while every writer waits).
/// SQLite's default, 1,000 pages, came due every few dozen refreshes under load, as each
/// new token's index entries dirty pages of their own; at 10,000 (about 40 MB of log) a
/// page written again and again between checkpoints is copied once, and the writer stops
/// far less often (the refresh grant: about 1.3× the requests per second, BENCHMARKS.md).
const SQLITE_WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;
/// How long SQLite waits for another process (an admin command) to release the write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Where SQLite keeps temporary data while the server runs: in memory. A statement that
/// changes many rows inside a transaction (a refresh group's `UPDATE` and `INSERT`s) keeps
/// a journal of its own, to undo just itself if it fails; past 64 KiB SQLite spilled it to
/// a new file in /var/tmp, created, written, closed and unlinked each time: under the
/// refresh grant about one group in ten (`strace`: 65 files in 2 s). The server's
/// statements are bounded (a group, a page of results, a purge batch), so in memory it
/// costs a few pages; migrations, which may sort or rewrite whole tables, run with files.
const SQLITE_TEMP_STORE: &str = "MEMORY";

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(Pg),
}

/// A PostgreSQL pool, and whether it reaches the server through a transaction pooler.
#[derive(Clone, Debug)]
pub struct Pg {
    pub pool: PgPool,
    pooler: Pooler,
}

impl Pg {
    /// Where one statement outside a transaction runs: on the pool directly, or (through a
    /// transaction pooler) in a transaction of its own.
    #[doc(hidden)]
    pub async fn statement(&self) -> Result<Statement<'_>, sqlx::Error> {
        Ok(match self.pooler {
            Pooler::None => Statement::Pool(&self.pool),
            Pooler::Transaction => Statement::Tx(self.pool.begin().await?),
        })
    }
}

/// One statement's place to run (see [`Pg::statement`]); used by the query macros.
#[doc(hidden)]
pub enum Statement<'p> {
    Pool(&'p PgPool),
    Tx(Transaction<'static, Postgres>),
}

impl Statement<'_> {
    pub fn exec(&mut self) -> PgExec<'_> {
        match self {
            Statement::Pool(pool) => PgExec::Pool(pool),
            Statement::Tx(tx) => PgExec::Unnamed(tx),
        }
    }

    /// Ends the statement's transaction, if it has one: committed when `out` is a success.
    pub async fn end<T, E: From<sqlx::Error>>(self, out: Result<T, E>) -> Result<T, E> {
        match (self, out) {
            (Statement::Tx(tx), Ok(value)) => {
                tx.commit().await?;
                Ok(value)
            }
            (_, out) => out,
        }
    }
}

/// What a PostgreSQL query runs on: the pool, a connection, or a connection on which no
/// statement is ever named (through a transaction pooler). One type, so each query is
/// compiled once for PostgreSQL whichever the mode.
#[derive(Debug)]
pub enum PgExec<'c> {
    Pool(&'c PgPool),
    Conn(&'c mut PgConnection),
    Unnamed(&'c mut PgConnection),
}

/// A query that asks not to be kept as a named prepared statement: sqlx then uses the
/// unnamed statement (sqlx-postgres `connection/executor.rs`).
struct NotPersistent<E>(E);

impl<'q, E: sqlx::Execute<'q, Postgres>> sqlx::Execute<'q, Postgres> for NotPersistent<E> {
    fn sql(&self) -> &'q str {
        self.0.sql()
    }
    fn statement(&self) -> Option<&sqlx::postgres::PgStatement<'q>> {
        self.0.statement()
    }
    fn take_arguments(
        &mut self,
    ) -> Result<Option<sqlx::postgres::PgArguments>, sqlx::error::BoxDynError> {
        self.0.take_arguments()
    }
    fn persistent(&self) -> bool {
        false
    }
}

type BoxFuture<'e, T> = Pin<Box<dyn Future<Output = T> + Send + 'e>>;
type BoxStream<'e, T> = Pin<Box<dyn futures::Stream<Item = T> + Send + 'e>>;

impl<'c> sqlx::Executor<'c> for PgExec<'c> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<
        'e,
        Result<sqlx::Either<sqlx::postgres::PgQueryResult, sqlx::postgres::PgRow>, sqlx::Error>,
    >
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Postgres>,
    {
        match self {
            PgExec::Pool(pool) => pool.fetch_many(query),
            PgExec::Conn(conn) => conn.fetch_many(query),
            PgExec::Unnamed(conn) => conn.fetch_many(NotPersistent(query)),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<sqlx::postgres::PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Postgres>,
    {
        match self {
            PgExec::Pool(pool) => pool.fetch_optional(query),
            PgExec::Conn(conn) => conn.fetch_optional(query),
            PgExec::Unnamed(conn) => conn.fetch_optional(NotPersistent(query)),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::postgres::PgTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::postgres::PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            PgExec::Pool(pool) => pool.prepare_with(sql, parameters),
            PgExec::Conn(conn) | PgExec::Unnamed(conn) => conn.prepare_with(sql, parameters),
        }
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            PgExec::Pool(pool) => pool.describe(sql),
            PgExec::Conn(conn) | PgExec::Unnamed(conn) => conn.describe(sql),
        }
    }
}

/// Runs `$body` with `$c` bound to a pool for reading.
macro_rules! with_reader {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { reader: $c, .. } => $body,
            $crate::db::Db::Postgres(pg) => $crate::db::on_postgres!(pg, |$c| $body),
        }
    };
}

/// Runs `$body` with `$c` bound to a pool for one write statement (autocommit).
macro_rules! with_writer {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { writer: $c, .. } => $body,
            $crate::db::Db::Postgres(pg) => $crate::db::on_postgres!(pg, |$c| $body),
        }
    };
}

/// One statement outside a transaction on PostgreSQL (see [`Pg::statement`]).
macro_rules! on_postgres {
    ($pg:expr, |$c:ident| $body:expr) => {
        match $pg.statement().await {
            Err(e) => Err(e.into()),
            Ok(mut statement) => {
                let out = {
                    let $c = statement.exec();
                    $body
                };
                statement.end(out).await
            }
        }
    };
}

/// Runs `$body` with `$c` bound to the connection of a [`Tx`].
macro_rules! with_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $c = t.exec();
                $body
            }
        }
    };
}

/// Declares a row struct readable from both backends by column name (the fields' names).
macro_rules! db_row {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])* $vis struct $name { $($fvis $field: $ty),* }
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $name {
            fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $name {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}

pub(crate) use {db_row, on_postgres, with_reader, with_tx, with_writer};

impl Db {
    /// The database `config` names, connected (with at most `max_connections`) and
    /// migrated: what the server and the admin commands both start with. The error is a
    /// sentence for the operator, without the URL's password.
    pub async fn open(config: &crate::config::Config, max_connections: u32) -> Result<Db, String> {
        let url = &config.database_url;
        let db = Db::connect(url, max_connections, config.database_pooler)
            .await
            .map_err(|e| format!("cannot open the database {}: {e}", redact(url)))?;
        db.migrate(config.database_migrate_url.as_deref())
            .await
            .map_err(|e| format!("cannot migrate the database: {e}"))?;
        Ok(db)
    }

    /// Connects to `url` (`sqlite://path`, `sqlite::memory:` or `postgres://...`), creating an
    /// SQLite file and its directory if missing. `max_connections` bounds the reader pool
    /// (SQLite) or the whole pool (PostgreSQL).
    ///
    /// With [`Pooler::Transaction`], `url` is a transaction pooler in front of PostgreSQL:
    /// see the module docs.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        pooler: Pooler,
    ) -> Result<Db, sqlx::Error> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // No ping before each use (sqlx's default): it is a round trip to the server
            // before every query, doubling a read's. A connection the server dropped
            // (restart, failover) fails its next query instead, which sqlx then closes; the
            // request is answered SERVICE_UNAVAILABLE and the next one gets a new connection.
            // Idle connections are closed after PG_IDLE_TIMEOUT, before most proxies and
            // firewalls would drop them silently.
            let mut options = PgConnectOptions::from_str(url)?;
            if pooler == Pooler::Transaction {
                // PgBouncer refuses startup parameters it does not track, as this one
                // (fypass stores no floating-point numbers, which is all it changes).
                options = options.extra_float_digits(None);
            }
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .test_before_acquire(false)
                .idle_timeout(PG_IDLE_TIMEOUT)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            return Ok(Db::Postgres(Pg { pool, pooler }));
        }
        if pooler == Pooler::Transaction {
            return Err(sqlx::Error::Configuration(
                "a transaction pooler (FYPASS_DATABASE_POOLER) needs a postgres:// database URL"
                    .into(),
            ));
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            // No memory map (`mmap_size` stays 0): a reader that finds the database changed
            // since its last read drops its map, so under writes every read paid an munmap
            // (a TLB flush on every core) and its page faults again; read() calls cost less.
            .pragma(
                "wal_autocheckpoint",
                SQLITE_WAL_AUTOCHECKPOINT_PAGES.to_string(),
            )
            .pragma("temp_store", SQLITE_TEMP_STORE);
        let file = opts.get_filename().to_owned();
        let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
        if !in_memory && let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // No ping before each use: these connections are to a local file and cannot go
        // stale, and the ping is one more round trip to the connection's worker thread on
        // every query (about a fifth of a write's time under load).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT * 3)
            .connect_with(opts.clone())
            .await?;
        // An in-memory database exists per connection: it cannot have separate readers.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(max_connections)
                .test_before_acquire(false)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts.read_only(true))
                .await?
        };
        Ok(Db::Sqlite { writer, reader })
    }

    /// Brings the schema up to date (the backend's own migration set). On PostgreSQL they
    /// run over `direct_url` when given: sqlx's migrator holds a session-level advisory lock,
    /// which a transaction pooler cannot keep (required with [`Pooler::Transaction`]).
    ///
    /// On SQLite the migrations run with foreign keys off, on one connection: changing a
    /// column's constraints means rebuilding its table (SQLite's documented twelve-step
    /// `ALTER TABLE` procedure), which dropping a table other tables refer to would refuse.
    /// The keys are checked once all migrations ran, and switched back on.
    pub async fn migrate(
        &self,
        direct_url: Option<&str>,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        self.migrate_until(i64::MAX, direct_url).await
    }

    /// [`Db::migrate`], up to migration `version` only: how a test builds a database as an
    /// older release left it, to try the next migration on its rows.
    #[doc(hidden)]
    pub async fn migrate_until(
        &self,
        version: i64,
        direct_url: Option<&str>,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        let until = |mut migrator: sqlx::migrate::Migrator| {
            let kept: Vec<_> = migrator
                .migrations
                .iter()
                .filter(|m| m.version <= version)
                .cloned()
                .collect();
            migrator.migrations = kept.into();
            migrator
        };
        match self {
            Db::Sqlite { writer, .. } => {
                let mut conn = writer.acquire().await?;
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut *conn)
                    .await?;
                // A migration may build an index over every token (a sort of every row) or
                // rewrite a whole table: that may spill to files, not fill memory.
                sqlx::query("PRAGMA temp_store = FILE")
                    .execute(&mut *conn)
                    .await?;
                let ran = until(migrations::sqlite().await?).run(&mut *conn).await;
                sqlx::query(&format!("PRAGMA temp_store = {SQLITE_TEMP_STORE}"))
                    .execute(&mut *conn)
                    .await?;
                let broken: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap_or_default();
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
                ran?;
                if let Some((table,)) = broken.first() {
                    return Err(sqlx::migrate::MigrateError::Execute(sqlx::Error::Protocol(
                        format!("a migration broke a foreign key of table {table}"),
                    )));
                }
                Ok(())
            }
            Db::Postgres(pg) => match (direct_url, pg.pooler) {
                (Some(url), _) => {
                    use sqlx::Connection;
                    let mut conn = PgConnection::connect(url).await?;
                    let ran = until(migrations::postgres().await?).run(&mut conn).await;
                    let _ = conn.close().await;
                    ran
                }
                (None, Pooler::None) => until(migrations::postgres().await?).run(&pg.pool).await,
                (None, Pooler::Transaction) => Err(sqlx::migrate::MigrateError::Execute(
                    sqlx::Error::Configuration(
                        "migrations through a transaction pooler need a direct URL \
                         (FYPASS_DATABASE_MIGRATE_URL)"
                            .into(),
                    ),
                )),
            },
        }
    }

    /// Starts a write transaction (see the module docs for SQLite's `BEGIN IMMEDIATE`).
    ///
    /// The start runs as a task of its own, which a caller that stops waiting (a request
    /// past its deadline, a client gone) cannot interrupt halfway. sqlx 0.8.6's SQLite
    /// driver, after running a custom `BEGIN`, waits once more (to check the connection is
    /// in a transaction) before the `Transaction` that would roll it back exists: a caller
    /// dropped in that wait left the one writer connection inside an open transaction, and
    /// every later `BEGIN IMMEDIATE` on it failed until a restart. Run to the end, the
    /// transaction exists, and dropping it unused rolls it back.
    pub async fn begin(&self) -> Result<Tx<'static>, ApiError> {
        let db = self.clone();
        let started = tokio::spawn(async move {
            Ok::<_, sqlx::Error>(match db {
                Db::Sqlite { writer, .. } => {
                    Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
                }
                Db::Postgres(pg) => Tx::Postgres(PgTx {
                    tx: pg.pool.begin().await?,
                    pooler: pg.pooler,
                }),
            })
        });
        match started.await {
            Ok(tx) => Ok(tx?),
            Err(failed) => {
                tracing::error!(error = %failed, "starting a transaction");
                Err(ApiError::new(crate::error::ErrorCode::InternalError))
            }
        }
    }

    /// The writer connection (SQLite) or a pooled one (PostgreSQL), to hold across
    /// transactions (see [`Lease`]).
    pub async fn lease(&self) -> Result<Lease, ApiError> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Lease::Sqlite(writer.acquire().await?),
            Db::Postgres(pg) => Lease::Postgres(pg.pool.acquire().await?, pg.pooler),
        })
    }

    /// A round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_reader!(self, |c| sqlx::query("SELECT 1").execute(c).await.map(drop))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes the pools, letting SQLite checkpoint its WAL.
    pub async fn close(&self) {
        match self {
            Db::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(pg) => pg.pool.close().await,
        }
    }
}

/// A database URL fit for logs: without its password.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Now, as stored: Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A stored time as the API shows it: RFC 3339 in UTC, millisecond precision.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(FORMAT).unwrap_or_default()
}

#[cfg(test)]
mod tests;
