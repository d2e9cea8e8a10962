//! How a pair of tokens is made and stored, and refresh-token rotations committed in
//! groups.
//!
//! A pair is made in memory first ([`NewPair::make`]: two random secrets and their
//! hashes), so that storing it is only inserts, and many pairs are two multi-row
//! statements ([`store`]). A refresh is the hottest write an app makes (every app refreshes
//! every hour for every person), and alone each was a write transaction of five statements
//! on SQLite's one writer; [`Rotations`] writes the rotations waiting at once in one
//! transaction (see [`crate::db::group`]): one conditional `UPDATE` that spends every
//! presented token that is still live, then the pairs of those that won, in two statements. A caller is
//! answered after the commit, as a rotation committed alone would be.

use super::{Family, TokenPair, refresh};
use crate::{
    config::Config,
    db::{
        Db, Tx,
        group::{Group, GroupWrite},
        now_ms, rfc3339,
    },
    error::ApiError,
    secret,
};
use uuid::Uuid;

/// One token made, not stored yet.
pub struct NewToken {
    pub id: Uuid,
    pub secret: secret::Issued,
    pub expires_at: i64,
}

impl NewToken {
    fn make(prefix: &str, now: i64, ttl_secs: u64) -> NewToken {
        NewToken {
            id: Uuid::now_v7(),
            secret: secret::issue(prefix),
            expires_at: now + ttl_secs as i64 * 1000,
        }
    }
}

/// An access token and a refresh token made together for one family.
pub struct NewPair {
    pub family: Family,
    pub created_at: i64,
    pub access: NewToken,
    pub refresh: NewToken,
}

impl NewPair {
    pub fn make(config: &Config, family: Family) -> NewPair {
        let now = now_ms();
        NewPair {
            family,
            created_at: now,
            access: NewToken::make(super::access::PREFIX, now, config.token_ttl_secs),
            refresh: NewToken::make(refresh::PREFIX, now, config.refresh_ttl_secs),
        }
    }

    /// What the app is handed.
    pub fn pair(&self) -> TokenPair {
        TokenPair {
            access_token: self.access.secret.plaintext.clone(),
            access_token_expires_at: rfc3339(self.access.expires_at),
            refresh_token: self.refresh.secret.plaintext.clone(),
            refresh_token_expires_at: rfc3339(self.refresh.expires_at),
        }
    }
}

/// Stores `pairs`: one statement per token table, whatever their number.
pub async fn store(tx: &mut Tx, pairs: &[&NewPair]) -> Result<(), ApiError> {
    if pairs.is_empty() {
        return Ok(());
    }
    for (table, token) in [
        (
            "access_tokens",
            (|p: &NewPair| &p.access) as fn(&NewPair) -> &NewToken,
        ),
        ("refresh_tokens", |p: &NewPair| &p.refresh),
    ] {
        let insert = format!(
            "INSERT INTO {table} (id, token_hash, user_id, client_id, device_id, family_id, created_at, expires_at) "
        );
        macro_rules! insert_many {
            ($db:ty, $c:expr) => {{
                let mut query = sqlx::QueryBuilder::<$db>::new(&insert);
                query.push_values(pairs, |mut b, p| {
                    let t = token(p);
                    b.push_bind(t.id)
                        .push_bind(t.secret.hash.clone())
                        .push_bind(p.family.user_id)
                        .push_bind(p.family.client_id)
                        .push_bind(p.family.device_id)
                        .push_bind(p.family.id)
                        .push_bind(p.created_at)
                        .push_bind(t.expires_at);
                });
                query.build().execute($c).await.map(drop)
            }};
        }
        match tx {
            Tx::Sqlite(t) => insert_many!(sqlx::Sqlite, &mut **t),
            Tx::Postgres(t) => insert_many!(sqlx::Postgres, t.exec()),
        }?;
    }
    Ok(())
}

/// A rotation waiting to be written: the live refresh token `token_id`, spent by `device`
/// for `pair`, which its row keeps `sealed` for the grace window (`refresh::seal`).
pub struct Rotation {
    pub token_id: Uuid,
    pub device: Vec<u8>,
    pub sealed: Vec<u8>,
    pub pair: NewPair,
}

/// This process' queue of rotations (kept in the app state's services).
pub struct Rotations {
    group: Group<RotationWrites>,
}

impl Rotations {
    pub fn of(state: &crate::state::AppState) -> &Rotations {
        state.services.get()
    }

    /// Starts the group-commit task (it ends when the `Rotations` is dropped).
    pub fn new(db: &Db) -> Rotations {
        Rotations {
            group: Group::start(db),
        }
    }

    /// Spends the token and stores the pair, once committed; `false` when the token was no
    /// longer live (another request spent it first, or it was revoked): nothing is stored.
    pub async fn rotate(&self, rotation: Rotation) -> Result<bool, ApiError> {
        self.group.write(rotation).await
    }
}

pub struct RotationWrites;

impl GroupWrite for RotationWrites {
    type Job = Rotation;
    type Done = bool;

    async fn write(
        tx: &mut Tx,
        jobs: &[Rotation],
    ) -> Result<Vec<Result<bool, ApiError>>, ApiError> {
        // The people's rows first, in one order (two nodes' groups never wait for each
        // other in a circle), as a lone refresh locks its person's: a revocation of
        // everything of theirs either committed before (the rotation then finds the token
        // revoked) or waits for this transaction and revokes the pairs it stores too.
        let mut people: Vec<Uuid> = jobs.iter().map(|j| j.pair.family.user_id).collect();
        people.sort_unstable();
        people.dedup();
        crate::users::store::lock_many(tx, &people).await?;
        let spends: Vec<refresh::Spend> = jobs
            .iter()
            .map(|j| refresh::Spend {
                id: j.token_id,
                device: &j.device,
                sealed: &j.sealed,
            })
            .collect();
        let won = refresh::rotate_many(tx, &spends).await?;
        let stored: Vec<&NewPair> = jobs
            .iter()
            .zip(&won)
            .filter(|(_, won)| **won)
            .map(|(job, _)| &job.pair)
            .collect();
        store(tx, &stored).await?;
        Ok(won.into_iter().map(Ok).collect())
    }
}
