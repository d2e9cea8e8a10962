//! Write transactions: [`Tx`], begun on a connection from the pool ([`super::Db::begin`])
//! or on one held across several ([`Lease`]).

use super::{PgExec, Pooler};
use crate::error::ApiError;
use sqlx::{Postgres, Sqlite, Transaction};

/// How a SQLite write transaction begins: taking the write lock up front (the module
/// documentation of `db` says why; `users::store::lock_many` relies on it).
pub(super) const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// A write transaction: committed with [`Tx::commit`], rolled back when dropped (which is
/// what happens to a request that times out or whose caller disconnects).
///
/// While a `Tx` is open, run every query of that request on it: asking the pool for a
/// second connection while holding one can exhaust the pool under load (PostgreSQL).
///
/// `'c` is the connection's: `'static` for a transaction that took its connection from the
/// pool ([`super::Db::begin`]), shorter for one begun on a connection held across transactions
/// ([`Lease::begin`]).
pub enum Tx<'c> {
    Sqlite(Transaction<'c, Sqlite>),
    Postgres(PgTx<'c>),
}

/// A PostgreSQL transaction, and whether it runs through a transaction pooler.
pub struct PgTx<'c> {
    pub(super) tx: Transaction<'c, Postgres>,
    pub(super) pooler: Pooler,
}

/// The writer connection (SQLite) or one pooled connection (PostgreSQL), held across
/// several transactions by a task that writes one after another: a group-commit task
/// ([`super::group`]) keeps it while more groups wait, rather than giving it back to the pool and
/// taking it again between two groups (on SQLite the return is a task of its own, and the
/// next taking waits for it: 170 to 290 µs of a refresh group's 2.1 to 2.3 ms,
/// BENCHMARKS.md).
///
/// Only a task that is never dropped halfway may hold one: [`Lease::begin`] is not
/// protected as [`super::Db::begin`] is.
pub enum Lease {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>, Pooler),
}

impl Lease {
    /// Starts a write transaction on the held connection, as [`super::Db::begin`] does on one
    /// from the pool.
    pub async fn begin(&mut self) -> Result<Tx<'_>, ApiError> {
        use sqlx::Connection;
        Ok(match self {
            Lease::Sqlite(c) => Tx::Sqlite(c.begin_with(SQLITE_BEGIN_WRITE).await?),
            Lease::Postgres(c, pooler) => Tx::Postgres(PgTx {
                tx: c.begin().await?,
                pooler: *pooler,
            }),
        })
    }
}

impl PgTx<'_> {
    /// The transaction's connection, to run a query on.
    pub fn exec(&mut self) -> PgExec<'_> {
        match self.pooler {
            Pooler::None => PgExec::Conn(&mut self.tx),
            Pooler::Transaction => PgExec::Unnamed(&mut self.tx),
        }
    }
}

impl Tx<'_> {
    pub async fn commit(self) -> Result<(), ApiError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.tx.commit().await?,
        }
        Ok(())
    }
}
