//! A pair of tokens: made in memory first ([`NewTokens::make`]: two random secrets and
//! their keys), so that storing it is only inserts, and many pairs are two multi-row
//! statements ([`store`]).

use super::{Family, TokenPair, refresh};
use crate::{
    config::Config,
    db::{Tx, now_ms, rfc3339},
    error::ApiError,
    secret,
};
use uuid::Uuid;

/// One token made, not stored yet.
#[derive(Clone)]
pub struct NewToken {
    pub id: Uuid,
    pub secret: secret::Issued,
    pub expires_at: i64,
}

impl NewToken {
    fn make(prefix: &str, now: i64, ttl_secs: u64) -> NewToken {
        NewToken {
            id: Uuid::now_v7(),
            secret: secret::issue_ordered(prefix, now),
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

/// The two tokens of a pair, made before it is known which family they join.
#[derive(Clone)]
pub struct NewTokens {
    pub created_at: i64,
    pub access: NewToken,
    pub refresh: NewToken,
}

impl NewTokens {
    pub fn make(config: &Config) -> NewTokens {
        let now = now_ms();
        NewTokens {
            created_at: now,
            access: NewToken::make(super::access::PREFIX, now, config.token_ttl_secs),
            refresh: NewToken::make(refresh::PREFIX, now, config.refresh_ttl_secs),
        }
    }

    /// The pair these tokens make in `family`.
    pub fn of(self, family: Family) -> NewPair {
        NewPair {
            family,
            created_at: self.created_at,
            access: self.access,
            refresh: self.refresh,
        }
    }
}

impl NewPair {
    pub fn make(config: &Config, family: Family) -> NewPair {
        NewTokens::make(config).of(family)
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

/// Pushes onto a `QueryBuilder` the `INSERT` of `$pairs`' tokens of one table: their
/// access tokens (`$refresh` false) or their refresh tokens (true).
macro_rules! push_tokens {
    ($query:expr, $pairs:expr, $refresh:expr) => {{
        use $crate::tokens::pairs::{NewPair, NewToken};
        let (table, token): (&str, fn(&NewPair) -> &NewToken) = if $refresh {
            ("refresh_tokens", |p| &p.refresh)
        } else {
            ("access_tokens", |p| &p.access)
        };
        $query.push(format!(
            "INSERT INTO {table} (id, token_hash, user_id, client_id, device_id, family_id, created_at, expires_at) "
        ));
        $query.push_values($pairs, |mut b, p| {
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
    }};
}

/// Stores `pairs`: one statement per token table, whatever their number.
pub async fn store(tx: &mut Tx<'_>, pairs: &[&NewPair]) -> Result<(), ApiError> {
    if pairs.is_empty() {
        return Ok(());
    }
    for refresh in [false, true] {
        macro_rules! insert_many {
            ($db:ty, $c:expr) => {{
                let mut query = sqlx::QueryBuilder::<$db>::new("");
                push_tokens!(query, pairs, refresh);
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

pub(super) use push_tokens;
