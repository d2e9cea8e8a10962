//! Refresh tokens (`fyt_`): what an app trades for a new access token when the old one
//! runs out. Each trade *rotates* the refresh token: the presented one stops working and a
//! new one comes back. A rotated token presented again means two parties hold it — the
//! app and someone who copied it — so the whole family (every token of that sign-in) is
//! revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
//!
//! One exception, for an app whose two requests race (both found the access token expired
//! and refreshed at once): within [`GRACE_MS`] of the rotation, the same token presented
//! by the same app from the same device ([`device_of`]) gets the *same* new pair back, so
//! one trade still makes one pair, and the honest app gets no error. The new pair's
//! tokens are stored only as hashes, so the rotation keeps the pair itself sealed
//! ([`seal`]) with a key derived from the rotated token: only whoever presents that very
//! token can open it, and a copy of the database cannot. Anyone else presenting it in the
//! window, or anyone at all after it, is reuse.

use super::{Family, TokenPair};
use crate::{
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx, with_writer},
    error::ApiError,
    secret,
};
use ring::aead;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use uuid::Uuid;

pub const PREFIX: &str = "fyt_";

/// How long after its rotation a refresh token presented again by the same app and device
/// gets the same new pair back (its parallel request); after it, any presentation is reuse.
pub const GRACE_MS: i64 = super::GRACE_SECS * 1000;

/// Who presents a refresh token, as far as the grace window tells devices apart: the
/// caller's network (an IPv4 address, an IPv6 /64) and its `User-Agent`, hashed. (The
/// client is already known: a token is found only for the client it was issued to.)
pub fn device_of(ip: IpAddr, user_agent: Option<&str>) -> Vec<u8> {
    let network = crate::throttle::network(ip);
    Sha256::digest(format!("{network}\n{}", user_agent.unwrap_or_default()).as_bytes()).to_vec()
}

/// The key that seals the successor of refresh token `token` (row `id`): HKDF-SHA256 of
/// the token itself, so nothing but the token opens it.
fn successor_key(token: &str, id: Uuid) -> aead::LessSafeKey {
    use ring::hkdf;
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"fypass refresh successor v1");
    let info = [id.as_bytes().as_slice()];
    let prk = salt.extract(token.as_bytes());
    let okm = prk
        .expand(&info, &aead::AES_256_GCM)
        .expect("an AES-256 key is a valid HKDF output length");
    aead::LessSafeKey::new(aead::UnboundKey::from(okm))
}

/// `pair`, sealed for whoever presents `token` (row `id`) again from `device`: the nonce,
/// then the ciphertext and its tag.
pub fn seal(token: &str, id: Uuid, device: &[u8], pair: &TokenPair) -> Vec<u8> {
    let mut nonce = [0u8; aead::NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the operating system's random number generator failed");
    let mut sealed = serde_json::to_vec(pair).expect("a token pair serializes");
    successor_key(token, id)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(device),
            &mut sealed,
        )
        .expect("a token pair is far below AES-GCM's length limit");
    [nonce.as_slice(), &sealed].concat()
}

/// The pair [`seal`] sealed, if `token` and `device` are the ones it was sealed for.
pub fn open(sealed: &[u8], token: &str, id: Uuid, device: &[u8]) -> Option<TokenPair> {
    let (nonce, ciphertext) = sealed.split_at_checked(aead::NONCE_LEN)?;
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = ciphertext.to_vec();
    let plain = successor_key(token, id)
        .open_in_place(nonce, aead::Aad::from(device), &mut in_out)
        .ok()?;
    serde_json::from_slice(plain).ok()
}

db_row! {
    /// A refresh token as stored, with its person's status.
    #[derive(Clone, Debug)]
    pub struct RefreshRow {
        pub id: Uuid,
        pub family_id: Uuid,
        pub user_id: Uuid,
        pub client_id: Uuid,
        pub device_id: Option<Uuid>,
        pub expires_at: i64,
        pub rotated_at: Option<i64>,
        pub revoked_at: Option<i64>,
        // The device that rotated it (`device_of`).
        pub rotated_by: Option<Vec<u8>>,
        // The new pair its rotation issued (`seal`), during the grace window.
        pub successor: Option<Vec<u8>>,
        pub user_status: String,
    }
}

impl RefreshRow {
    pub fn family(&self) -> Family {
        Family {
            id: self.family_id,
            user_id: self.user_id,
            client_id: self.client_id,
            device_id: self.device_id,
        }
    }

    /// Its person's status; one this build does not know refuses, as a deleted person's.
    pub fn status(&self) -> crate::status::Status {
        self.user_status
            .parse()
            .unwrap_or(crate::status::Status::Deleted)
    }

    /// Whether it can still be traded: not rotated, not revoked, not expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.rotated_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

/// [`RefreshRow`]'s columns, read [`FROM`] the token and its person.
pub const COLUMNS: &str = "t.id, t.family_id, t.user_id, t.client_id, t.device_id, t.expires_at,
                           t.rotated_at, t.revoked_at, t.rotated_by, t.successor,
                           u.status AS user_status";
pub const FROM: &str = "FROM refresh_tokens t JOIN users u ON u.id = t.user_id";
/// The condition on [`FROM`] that finds a token by one of its [`keys_of`] (`$1`) for its
/// client (`$2`).
pub const WHERE: &str = "WHERE t.token_hash = $1 AND t.client_id = $2";

/// The stored keys `token` may be found by, if it is a refresh token at all.
pub fn keys_of(token: &str) -> Option<secret::Keys> {
    secret::Keys::of(PREFIX, token, crate::db::now_ms())
}

/// The row of `$token` for `$client_id` ([`find`]), read through `$with!($on, …)`: a
/// reader, or a transaction.
macro_rules! find_on {
    ($with:ident, $on:expr, $token:expr, $client_id:expr) => {{
        let Some(keys) = keys_of($token) else {
            return Ok(None);
        };
        let sql = format!("SELECT {COLUMNS} {FROM} {WHERE}");
        Ok(secret::first_found!(keys, |key| $with!($on, |c| {
            sqlx::query_as(&sql)
                .bind(&key)
                .bind($client_id)
                .fetch_optional(c)
                .await
        }))?)
    }};
}

/// The refresh token `token` of `client_id`, in whatever state; `None` when malformed,
/// unknown or another client's.
pub async fn find(db: &Db, token: &str, client_id: Uuid) -> Result<Option<RefreshRow>, ApiError> {
    find_on!(with_reader, db, token, client_id)
}

/// As [`find`], read on `tx`, so what it says holds for the transaction.
pub async fn find_in(
    tx: &mut Tx<'_>,
    token: &str,
    client_id: Uuid,
) -> Result<Option<RefreshRow>, ApiError> {
    find_on!(with_tx, tx, token, client_id)
}

/// One rotation asked of [`rotate_many`]: the refresh token `id`, spent by `device`, keeping
/// for the grace window the pair that replaces it (`sealed` for that device, [`seal`]).
pub struct Spend<'a> {
    pub id: Uuid,
    pub device: &'a [u8],
    pub sealed: &'a [u8],
}

/// Pushes onto a `QueryBuilder` the `UPDATE` that marks each live token of `$spends` (a
/// slice of [`Spend`], each token once) rotated at `$now`. By id (`IN`, so both databases
/// look each row up by its key), each row's values chosen by a `CASE` on its id;
/// PostgreSQL must be told the values' types (`$bytes`: `"::bytea"`), SQLite must not (its
/// CAST would convert them: `""`).
macro_rules! push_rotation {
    ($query:expr, $now:expr, $spends:expr, $bytes:expr) => {{
        $query.push("UPDATE refresh_tokens SET rotated_at = ");
        $query.push_bind($now);
        for (column, value) in [
            (
                "rotated_by",
                (|s: &$crate::tokens::refresh::Spend<'_>| s.device)
                    as for<'s> fn(&$crate::tokens::refresh::Spend<'s>) -> &'s [u8],
            ),
            ("successor", |s: &$crate::tokens::refresh::Spend<'_>| {
                s.sealed
            }),
        ] {
            $query.push(format!(", {column} = CASE id"));
            for spend in $spends {
                $query.push(" WHEN ");
                $query.push_bind(spend.id);
                $query.push(" THEN ");
                $query.push_bind(value(spend));
                $query.push($bytes);
            }
            $query.push(" END");
        }
        $query.push(" WHERE id IN (");
        let mut ids = $query.separated(", ");
        for spend in $spends {
            ids.push_bind(spend.id);
        }
        $query.push(") AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > ");
        $query.push_bind($now);
    }};
}
pub(crate) use push_rotation;

/// Marks each refresh token of `spends` (each token once) that is live at `now` rotated, in
/// one statement; for each, whether it was (exactly one of concurrent callers wins a token).
pub async fn rotate_many(
    tx: &mut Tx<'_>,
    spends: &[Spend<'_>],
    now: i64,
) -> Result<Vec<bool>, ApiError> {
    if spends.is_empty() {
        return Ok(Vec::new());
    }
    macro_rules! rotate {
        ($db:ty, $c:expr, $bytes:expr) => {{
            let mut query = sqlx::QueryBuilder::<$db>::new("");
            push_rotation!(query, now, spends, $bytes);
            query.push(" RETURNING id");
            query.build_query_scalar::<Uuid>().fetch_all($c).await
        }};
    }
    let won: Vec<Uuid> = match tx {
        Tx::Sqlite(t) => rotate!(sqlx::Sqlite, &mut **t, ""),
        Tx::Postgres(t) => rotate!(sqlx::Postgres, t.exec(), "::bytea"),
    }?;
    Ok(spends.iter().map(|spend| won.contains(&spend.id)).collect())
}

/// Removes, at most `limit` at a time, refresh tokens expired for over `grace_ms` (a
/// rotated one is kept until then: presenting it must still be recognised as reuse), and
/// forgets the sealed successors whose grace window is over.
pub async fn purge(db: &Db, grace_ms: i64, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM refresh_tokens WHERE id IN
                 (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)";
    let deleted = with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms() - grace_ms)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let sql = "UPDATE refresh_tokens SET successor = NULL WHERE id IN
                 (SELECT id FROM refresh_tokens WHERE successor IS NOT NULL AND rotated_at < $1 LIMIT $2)";
    let forgotten = with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms() - GRACE_MS)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(deleted + forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_successor_opens_only_with_its_token_and_device() {
        let token = crate::secret::issue(PREFIX).plaintext;
        let other = crate::secret::issue(PREFIX).plaintext;
        let id = Uuid::now_v7();
        let phone = device_of("203.0.113.9".parse().unwrap(), Some("App/1.0"));
        let pair = TokenPair {
            access_token: "fyp_a".into(),
            access_token_expires_at: "2030-01-01T00:00:00.000Z".into(),
            refresh_token: "fyt_b".into(),
            refresh_token_expires_at: "2030-01-31T00:00:00.000Z".into(),
        };
        let sealed = seal(&token, id, &phone, &pair);
        assert_eq!(open(&sealed, &token, id, &phone), Some(pair));
        assert_eq!(open(&sealed, &other, id, &phone), None);
        assert_eq!(open(&sealed, &token, Uuid::now_v7(), &phone), None);
        let elsewhere = device_of("198.51.100.1".parse().unwrap(), Some("App/1.0"));
        assert_eq!(open(&sealed, &token, id, &elsewhere), None);
        assert_eq!(open(&sealed[..10], &token, id, &phone), None);
        // One IPv6 subscriber is one device's network.
        assert_eq!(
            device_of("2001:db8::1".parse().unwrap(), None),
            device_of("2001:db8::2".parse().unwrap(), None)
        );
    }
}
