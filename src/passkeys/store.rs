//! The `passkeys` table, and passkey ceremonies.
//!
//! A passkey is stored as `webauthn-rs` serializes it (the source of truth), with copies of
//! what is looked up, compared or shown. Its sign counter only moves forward: a use is
//! recorded with a compare-and-set, so two nodes cannot both accept one counter value.
//!
//! A ceremony (one run of `navigator.credentials.create` or `get`) costs the server nothing
//! to start: its state travels in its id, signed ([`seal`]; HMAC-SHA-256 with this
//! deployment's key, which every node shares), so a page that starts one — every sign-in
//! page does, for autofill — writes no row, and a flood of starts fills no table. What
//! makes a ceremony single use is the row its *use* writes ([`spend`], in the transaction
//! that acts on it): a replayed one finds its row there. Only ceremonies that verified are
//! spent, so rows come from real passkeys, not from strangers.

use super::CEREMONY_SECS;
use crate::{
    db::{Db, Tx, db_row, now_ms, rfc3339, with_reader, with_tx, with_writer},
    error::ApiError,
    secret,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

const CEREMONY_PREFIX: &str = "fyw_";
/// The name of the ceremony key in `sealing_keys`.
const KEY_NAME: &str = "passkey-ceremony";

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// The key that signs ceremonies: made at the first start, read from the database by every
/// node after it.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    /// This server's key (kept in the app state's services).
    pub fn of(state: &crate::state::AppState) -> &SealKey {
        state.services.get()
    }

    /// This deployment's key (made now if there is none yet; of two nodes making one at once,
    /// the first one's is kept and both use it).
    pub async fn load(db: &Db) -> Result<SealKey, ApiError> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).expect("the operating system's random number generator failed");
        let insert = "INSERT INTO sealing_keys (name, key, created_at) VALUES ($1, $2, $3)
                      ON CONFLICT (name) DO NOTHING";
        with_writer!(db, |c| sqlx::query(insert)
            .bind(KEY_NAME)
            .bind(fresh.to_vec())
            .bind(now_ms())
            .execute(c)
            .await
            .map(drop))?;
        let (key,): (Vec<u8>,) = with_writer!(db, |c| sqlx::query_as(
            "SELECT key FROM sealing_keys WHERE name = $1"
        )
        .bind(KEY_NAME)
        .fetch_one(c)
        .await)?;
        let key: [u8; 32] = key.try_into().map_err(|_| {
            tracing::error!("the stored passkey ceremony key is not 32 bytes");
            ApiError::new(crate::error::ErrorCode::InternalError)
        })?;
        Ok(SealKey(key))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(payload);
        mac
    }
}

/// A ceremony: for `user_id` (adding a passkey) or `request_id` (completing a login
/// request), with the library's state, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
    /// `webauthn-rs`' ceremony state, as JSON (its challenge is new for every ceremony).
    pub state: String,
    pub expires_at: i64,
}

/// A new ceremony's id: the ceremony, signed, valid for [`CEREMONY_SECS`].
pub fn seal(
    key: &SealKey,
    kind: Kind,
    user_id: Option<Uuid>,
    request_id: Option<Uuid>,
    state: String,
) -> String {
    seal_ceremony(
        key,
        &Ceremony {
            kind,
            user_id,
            request_id,
            state,
            expires_at: now_ms() + CEREMONY_SECS as i64 * 1000,
        },
    )
}

/// The id that carries `ceremony` (`fyw_<payload>.<signature>`, base64url).
pub fn seal_ceremony(key: &SealKey, ceremony: &Ceremony) -> String {
    let payload = serde_json::to_vec(ceremony).expect("a ceremony serializes");
    let tag = key.mac(&payload).finalize().into_bytes();
    format!(
        "{CEREMONY_PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The ceremony `id` carries, if this deployment signed it for `kind` and it has not
/// expired (whether it was used already is [`spend`]'s to say).
pub fn open(key: &SealKey, id: &str, kind: Kind) -> Option<Ceremony> {
    let (payload, tag) = id.strip_prefix(CEREMONY_PREFIX)?.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    // Constant-time comparison.
    key.mac(&payload).verify_slice(&tag).ok()?;
    let ceremony: Ceremony = serde_json::from_slice(&payload).ok()?;
    (ceremony.kind == kind && ceremony.expires_at > now_ms()).then_some(ceremony)
}

/// Uses the ceremony `id` once, in the transaction that acts on it: `false` when it was used
/// already. Its row stays until the ceremony would have expired anyway.
pub async fn spend(tx: &mut Tx<'_>, id: &str, ceremony: &Ceremony) -> Result<bool, ApiError> {
    let sql = "INSERT INTO passkey_ceremonies (id, token_hash, kind, user_id, request_id, state, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, '', $6, $7)
               ON CONFLICT (token_hash) DO NOTHING";
    let inserted = with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(secret::hash(id))
        .bind(ceremony.kind.as_str())
        .bind(ceremony.user_id)
        .bind(ceremony.request_id)
        .bind(now_ms())
        .bind(ceremony.expires_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(inserted == 1)
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
pub async fn insert(tx: &mut Tx<'_>, new: New<'_>) -> Result<PasskeyRow, ApiError> {
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
    with_tx!(tx, |c| sqlx::query(sql)
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
    tx: &mut Tx<'_>,
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

/// Removes `user_id`'s passkey `id`, in `tx` (with the activity entry that records it);
/// `false` when they have no such passkey.
pub async fn remove_in(tx: &mut Tx<'_>, user_id: Uuid, id: Uuid) -> Result<bool, ApiError> {
    let sql = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2";
    let gone = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(gone == 1)
}

/// Removes every passkey of `user_id`: a password change that asks for it, a recovery
/// (`codes::recovery`). How many were removed. (The records of used ceremonies stay: they
/// keep a ceremony from being used twice, and no removed passkey can answer one anyway.)
pub async fn remove_all(tx: &mut Tx<'_>, user_id: Uuid) -> Result<u64, ApiError> {
    let sql = "DELETE FROM passkeys WHERE user_id = $1";
    Ok(with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Removes, at most `limit` at a time, the records of used ceremonies that expired.
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
