//! The `passkeys` and `passkey_ceremonies` tables.
//!
//! A passkey is stored as `webauthn-rs` serializes it (the source of truth), with copies of
//! what is looked up, compared or shown. Its sign counter only moves forward: a use is
//! recorded with a compare-and-set, so two nodes cannot both accept one counter value.
//!
//! A ceremony (one run of `navigator.credentials.create` or `get`) is taken with
//! `DELETE … RETURNING`: exactly one finisher gets it, whatever happens next.

use super::CEREMONY_SECS;
use crate::{
    db::{Db, Tx, db_row, now_ms, rfc3339, with_reader, with_tx, with_writer},
    error::ApiError,
    secret,
};
use uuid::Uuid;

const CEREMONY_PREFIX: &str = "fyw_";

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Register,
    Login,
}

impl Kind {
    const fn as_str(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Login => "login",
        }
    }
}

/// A new ceremony: for `user_id` (adding a passkey) or `request_id` (completing a login
/// request), with the library's state. Returns its id (a secret, handed to the page).
pub async fn start_ceremony(
    db: &Db,
    kind: Kind,
    user_id: Option<Uuid>,
    request_id: Option<Uuid>,
    state: &str,
) -> Result<String, ApiError> {
    let issued = secret::issue(CEREMONY_PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO passkey_ceremonies (id, token_hash, kind, user_id, request_id, state, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    with_writer!(db, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(kind.as_str())
        .bind(user_id)
        .bind(request_id)
        .bind(state)
        .bind(now)
        .bind(now + CEREMONY_SECS as i64 * 1000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(issued.plaintext)
}

db_row! {
    pub struct Ceremony {
        pub user_id: Option<Uuid>,
        pub request_id: Option<Uuid>,
        pub state: String,
        pub expires_at: i64,
    }
}

/// Takes the ceremony `id` of `kind` (single use): `None` when unknown, used, expired or of
/// another kind.
pub async fn take_ceremony(db: &Db, id: &str, kind: Kind) -> Result<Option<Ceremony>, ApiError> {
    if !secret::well_formed(CEREMONY_PREFIX, id) {
        return Ok(None);
    }
    let sql = "DELETE FROM passkey_ceremonies WHERE token_hash = $1 AND kind = $2
               RETURNING user_id, request_id, state, expires_at";
    let row: Option<Ceremony> = with_writer!(db, |c| sqlx::query_as(sql)
        .bind(secret::hash(id))
        .bind(kind.as_str())
        .fetch_optional(c)
        .await)?;
    Ok(row.filter(|c| c.expires_at > now_ms()))
}

db_row! {
    #[derive(Clone, Debug)]
    pub struct PasskeyRow {
        pub id: Uuid,
        pub user_id: Uuid,
        pub passkey: String,
        pub sign_count: i64,
        pub backup_state: bool,
        pub name: String,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
    }
}

const COLUMNS: &str =
    "id, user_id, passkey, sign_count, backup_state, name, created_at, last_used_at";

impl PasskeyRow {
    pub fn view(&self) -> super::PasskeyView {
        super::PasskeyView {
            id: self.id.to_string(),
            name: self.name.clone(),
            created_at: rfc3339(self.created_at),
            last_used_at: self.last_used_at.map(rfc3339),
            synced: self.backup_state,
        }
    }
}

/// A passkey to store.
pub struct New<'a> {
    pub user_id: Uuid,
    pub cred_id: &'a [u8],
    pub passkey: &'a str,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub transports: Option<&'a str>,
    pub name: &'a str,
}

/// Stores a passkey; a credential registered already (to anyone) is `DUPLICATE_KEY`.
pub async fn insert(db: &Db, new: New<'_>) -> Result<PasskeyRow, ApiError> {
    let row = PasskeyRow {
        id: Uuid::now_v7(),
        user_id: new.user_id,
        passkey: new.passkey.to_string(),
        sign_count: new.sign_count,
        backup_state: new.backup_state,
        name: new.name.to_string(),
        created_at: now_ms(),
        last_used_at: None,
    };
    let sql = "INSERT INTO passkeys (id, user_id, cred_id, passkey, sign_count, backup_eligible, backup_state,
                   transports, name, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    with_writer!(db, |c| sqlx::query(sql)
        .bind(row.id)
        .bind(row.user_id)
        .bind(new.cred_id)
        .bind(&row.passkey)
        .bind(row.sign_count)
        .bind(new.backup_eligible)
        .bind(new.backup_state)
        .bind(new.transports)
        .bind(&row.name)
        .bind(row.created_at)
        .execute(c)
        .await
        .map(drop))?;
    Ok(row)
}

/// The passkey with credential id `cred_id`.
pub async fn by_cred_id(db: &Db, cred_id: &[u8]) -> Result<Option<PasskeyRow>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE cred_id = $1");
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(cred_id)
        .fetch_optional(c)
        .await)?)
}

/// The credential ids of `user_id`'s passkeys (so an authenticator does not make a second).
pub async fn cred_ids(db: &Db, user_id: Uuid) -> Result<Vec<Vec<u8>>, ApiError> {
    let sql = "SELECT cred_id FROM passkeys WHERE user_id = $1";
    let rows: Vec<(Vec<u8>,)> =
        with_reader!(db, |c| sqlx::query_as(sql).bind(user_id).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// `user_id`'s passkeys, newest first.
pub async fn list(db: &Db, user_id: Uuid) -> Result<Vec<PasskeyRow>, ApiError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    );
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(user_id)
        .fetch_all(c)
        .await)?)
}

/// Records a sign-in with passkey `id`: its new state and counter, only if the counter moved
/// forward since it was read (or both are 0: authenticators that keep no counter). `false`
/// when another sign-in got there first with this or a later counter.
pub async fn record_use(
    tx: &mut Tx,
    id: Uuid,
    passkey: &str,
    counter: i64,
    backup_state: bool,
) -> Result<bool, ApiError> {
    let sql =
        "UPDATE passkeys SET passkey = $2, sign_count = $3, backup_state = $4, last_used_at = $5
               WHERE id = $1 AND (sign_count < $6 OR (sign_count = 0 AND $7 = 0))";
    let changed = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(passkey)
        .bind(counter)
        .bind(backup_state)
        .bind(now_ms())
        .bind(counter)
        .bind(counter)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Renames `user_id`'s passkey `id`; `None` when they have no such passkey.
pub async fn rename(
    db: &Db,
    user_id: Uuid,
    id: Uuid,
    name: &str,
) -> Result<Option<PasskeyRow>, ApiError> {
    let sql =
        format!("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}");
    Ok(with_writer!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(user_id)
        .bind(name)
        .fetch_optional(c)
        .await)?)
}

/// Removes `user_id`'s passkey `id`; `false` when they have no such passkey.
pub async fn remove(db: &Db, user_id: Uuid, id: Uuid) -> Result<bool, ApiError> {
    let sql = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2";
    let gone = with_writer!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(gone == 1)
}

/// Removes every passkey of `user_id`, and the passkey ceremonies they started (a recovery:
/// `users::recovery`).
pub async fn remove_all(tx: &mut Tx, user_id: Uuid) -> Result<(), ApiError> {
    for sql in [
        "DELETE FROM passkeys WHERE user_id = $1",
        "DELETE FROM passkey_ceremonies WHERE user_id = $1",
    ] {
        with_tx!(tx, |c| sqlx::query(sql)
            .bind(user_id)
            .execute(c)
            .await
            .map(drop))?;
    }
    Ok(())
}

/// Removes, at most `limit` at a time, ceremonies that expired.
pub async fn purge(db: &Db, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM passkey_ceremonies WHERE id IN
                 (SELECT id FROM passkey_ceremonies WHERE expires_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms())
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
