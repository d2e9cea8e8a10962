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

pub mod group;
mod migrations;

use crate::error::ApiError;
use sqlx::{
    Postgres, Sqlite, Transaction,
    postgres::{PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};
use std::{str::FromStr, time::Duration};

/// How long a request waits for a connection before it is answered `SERVICE_UNAVAILABLE`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a PostgreSQL connection may sit unused before the pool closes it.
const PG_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How much of the database file SQLite reads through a memory map (address space, not
/// memory: only pages read are resident, and the OS may drop them).
const SQLITE_MMAP_BYTES: u64 = 1 << 30;
/// How long SQLite waits for another process (an admin command) to release the write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// A write transaction: committed with [`Tx::commit`], rolled back when dropped (which is
/// what happens to a request that times out or whose caller disconnects).
///
/// While a `Tx` is open, run every query of that request on it: asking the pool for a
/// second connection while holding one can exhaust the pool under load (PostgreSQL).
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to a pool for reading.
macro_rules! with_reader {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { reader: $c, .. } => $body,
            $crate::db::Db::Postgres($c) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to a pool for one write statement (autocommit).
macro_rules! with_writer {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { writer: $c, .. } => $body,
            $crate::db::Db::Postgres($c) => $body,
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
                let $c = &mut **t;
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

pub(crate) use {db_row, with_reader, with_tx, with_writer};

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:` or `postgres://...`), creating an
    /// SQLite file and its directory if missing. `max_connections` bounds the reader pool
    /// (SQLite) or the whole pool (PostgreSQL).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // No ping before each use (sqlx's default): it is a round trip to the server
            // before every query, doubling a read's. A connection the server dropped
            // (restart, failover) fails its next query instead, which sqlx then closes; the
            // request is answered SERVICE_UNAVAILABLE and the next one gets a new connection.
            // Idle connections are closed after PG_IDLE_TIMEOUT, before most proxies and
            // firewalls would drop them silently.
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .test_before_acquire(false)
                .idle_timeout(PG_IDLE_TIMEOUT)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect(url)
                .await?;
            return Ok(Db::Postgres(pool));
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            // Read pages through a memory map rather than a read() call each: the OS page
            // cache is then the one cache every connection shares, instead of each keeping
            // its own 2 MB (SQLite's default) and missing on a large table.
            .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string());
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

    /// Brings the schema up to date (the backend's own migration set).
    ///
    /// On SQLite the migrations run with foreign keys off, on one connection: changing a
    /// column's constraints means rebuilding its table (SQLite's documented twelve-step
    /// `ALTER TABLE` procedure), which dropping a table other tables refer to would refuse.
    /// The keys are checked once all migrations ran, and switched back on.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        self.migrate_until(i64::MAX).await
    }

    /// [`Db::migrate`], up to migration `version` only: how a test builds a database as an
    /// older release left it, to try the next migration on its rows.
    #[doc(hidden)]
    pub async fn migrate_until(&self, version: i64) -> Result<(), sqlx::migrate::MigrateError> {
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
                let ran = until(migrations::sqlite().await?).run(&mut *conn).await;
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
            Db::Postgres(pool) => until(migrations::postgres().await?).run(pool).await,
        }
    }

    /// Starts a write transaction (see the module docs for SQLite's `BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<Tx, ApiError> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
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
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), ApiError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
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
mod tests {
    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::rfc3339(1_764_000_000_123),
            "2025-11-24T16:00:00.123Z"
        );
    }
}
