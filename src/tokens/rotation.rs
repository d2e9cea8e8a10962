//! Refreshes read and rotated in groups (the pairs they make: [`super::pairs`]).
//!
//! A refresh is the hottest write an app makes (every app refreshes every hour for every
//! person): alone each was a read of its token and a write transaction of five statements
//! on SQLite's one writer. [`Refreshes`] reads and rotates the refreshes waiting at once in
//! one transaction (see [`crate::db::group`]): one `SELECT` of every presented token (with
//! what the asking layer reads beside it, [`Beside`]), one conditional `UPDATE` that spends
//! every one that is live, then the pairs of those that won, in two statements. A caller is
//! answered after the commit, as a rotation committed alone would be.
//!
//! The read is the writer's, not a reader's, on purpose: on SQLite a reader connection
//! that finds the database changed since its last read starts again from an empty page
//! cache, which under a stream of refreshes is every read, while the writer's cache holds
//! the token tables' pages the rotations touch anyway (BENCHMARKS.md).

use super::{TokenPair, pairs::push_tokens, refresh};
use crate::{
    db::{
        Db, Tx,
        group::{Group, GroupWrite},
        now_ms, with_tx,
    },
    error::ApiError,
    secret,
    users::store::refusal,
};
use sqlx::{FromRow, postgres::PgRow, sqlite::SqliteRow};
use std::marker::PhantomData;
use uuid::Uuid;

/// What a caller makes before asking for a refresh ([`Refresh::new`]).
pub use super::pairs::NewTokens;
use super::pairs::{NewPair, store};

/// Spends `spends` (each token live at `now`, the time the group judged that by) and stores
/// `pairs` (the pair of each spend, in order): on SQLite in one
/// round trip to the writer's thread (one `UPDATE` and two `INSERT`s sent together), where
/// the group's transaction has held the database's write lock since before it read the
/// tokens, so every token it found live is still live; on PostgreSQL, where another node
/// may have spent one since, as [`refresh::rotate_many`] and [`store`] for the winners. For
/// each spend, whether it won. Each token is spent once in `spends`.
async fn spend_and_store(
    tx: &mut Tx<'_>,
    spends: &[refresh::Spend<'_>],
    pairs: &[&NewPair],
    now: i64,
) -> Result<Vec<bool>, ApiError> {
    if spends.is_empty() {
        return Ok(Vec::new());
    }
    let Tx::Sqlite(t) = tx else {
        let won = refresh::rotate_many(tx, spends, now).await?;
        let stored: Vec<&NewPair> = pairs
            .iter()
            .zip(&won)
            .filter(|(_, won)| **won)
            .map(|(pair, _)| *pair)
            .collect();
        store(tx, &stored).await?;
        return Ok(won);
    };
    let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    refresh::push_rotation!(query, now, spends, "");
    query.push("; ");
    push_tokens!(query, pairs, false);
    query.push("; ");
    push_tokens!(query, pairs, true);
    let done = query.build().execute(&mut **t).await?;
    // Each spend updated its token and inserted two; anything else is a bug: the group
    // fails, nothing of it is kept.
    if done.rows_affected() != 3 * spends.len() as u64 {
        tracing::error!(
            spends = spends.len(),
            changed = done.rows_affected(),
            "a token found live under the write lock was not"
        );
        return Err(ApiError::new(crate::error::ErrorCode::InternalError));
    }
    Ok(vec![true; spends.len()])
}

/// What a refresh reads beside its token for the layer that asks (the OpenID Connect
/// refresh grant: the sign-in's grant, the person, the key that signs now), so that its
/// whole read is one statement of the group; and whether what the caller asks beside the
/// new pair (a narrower scope) is within what was read, decided before the token is spent.
pub trait Beside: Send + Sync + 'static {
    /// What is read.
    type Row: for<'r> FromRow<'r, SqliteRow>
        + for<'r> FromRow<'r, PgRow>
        + Clone
        + Send
        + Sync
        + 'static;
    /// What the caller asks.
    type Ask: Send + Sync + 'static;
    /// Columns, each after a `, `, of the token (`t`), its person (`u`) and what
    /// [`Beside::JOINS`] joins; `$1` is the time of the read (Unix ms).
    fn columns() -> &'static str;
    /// Joins after [`refresh::FROM`].
    const JOINS: &'static str;
    /// Whether the token may be spent for `ask`, given what was read.
    fn admits(ask: &Self::Ask, row: &Self::Row) -> bool;
}

/// Nothing read beside the token, nothing asked: `POST /api/v1/users/token`.
#[derive(Clone, Copy, Debug)]
pub struct Nothing;

impl<'r, R: sqlx::Row> FromRow<'r, R> for Nothing {
    fn from_row(_: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Nothing)
    }
}

impl Beside for Nothing {
    type Row = Nothing;
    type Ask = ();
    fn columns() -> &'static str {
        ""
    }
    const JOINS: &'static str = "";
    fn admits(_: &(), _: &Nothing) -> bool {
        true
    }
}

/// A refresh asked of [`Refreshes`]: the token as presented by `device` for `client_id`,
/// what is asked beside, and the tokens that replace it if it is spent.
pub struct Refresh<B: Beside> {
    pub token: String,
    pub client_id: Uuid,
    pub device: Vec<u8>,
    pub ask: B::Ask,
    pub new: NewTokens,
}

/// What became of a [`Refresh`].
pub enum Refreshed<B: Beside> {
    /// Spent: the token as it was read, what was read beside it, and its successor pair.
    Rotated {
        row: refresh::RefreshRow,
        beside: B::Row,
        pair: TokenPair,
    },
    /// Not spent: the token as found for its client (`None`: malformed, unknown or
    /// another client's). It was not live, its person may not get tokens, the ask was not
    /// admitted, or another request spent it first.
    Kept(Option<(refresh::RefreshRow, B::Row)>),
}

/// This process' queue of refreshes that read `B` beside their token (kept in the app
/// state's services).
pub struct Refreshes<B: Beside> {
    group: Group<RefreshWrites<B>>,
}

impl<B: Beside> Refreshes<B> {
    pub fn of(state: &crate::state::AppState) -> &Refreshes<B> {
        state.services.get()
    }

    /// Starts the group-commit task (it ends when the `Refreshes` is dropped).
    pub fn new(db: &Db) -> Refreshes<B> {
        Refreshes {
            group: Group::start(db),
        }
    }

    /// Reads the token and, if it is live, its person may get tokens and the ask is
    /// admitted, spends it and stores `refresh.new` in its family, once committed.
    /// A malformed token is answered at once: it costs the writer nothing.
    pub async fn refresh(&self, refresh: Refresh<B>) -> Result<Refreshed<B>, ApiError> {
        if !secret::well_formed(refresh::PREFIX, &refresh.token) {
            return Ok(Refreshed::Kept(None));
        }
        self.group.write(refresh).await
    }
}

pub struct RefreshWrites<B>(PhantomData<B>);

/// A job of a group whose token may be spent: the tokens that replace it, their pair as
/// the app gets it, and that pair sealed for the grace window ([`refresh::seal`]).
struct Spent {
    /// The job's place in the group.
    job: usize,
    token_id: Uuid,
    new: NewPair,
    pair: TokenPair,
    sealed: Vec<u8>,
}

/// What [`read_many`] read: each token's stored key, the token, what `B` reads beside it.
type Read<B> = Vec<(Vec<u8>, refresh::RefreshRow, <B as Beside>::Row)>;

/// The tokens stored under `keys` (in any state, for any client), each with its key and
/// what `B` reads beside it, read in `tx` at `now`.
async fn read_many<B: Beside>(
    tx: &mut Tx<'_>,
    now: i64,
    keys: &[&[u8]],
) -> Result<Read<B>, ApiError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let listed = (2..keys.len() + 2)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT t.token_hash, {}{} {} {} WHERE t.token_hash IN ({listed})",
        refresh::COLUMNS,
        B::columns(),
        refresh::FROM,
        B::JOINS,
    );
    Ok(with_tx!(tx, |c| {
        use sqlx::Row;
        let mut query = sqlx::query(&sql).bind(now);
        for key in keys {
            query = query.bind(*key);
        }
        query.fetch_all(c).await.and_then(|rows| {
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get("token_hash")?,
                        refresh::RefreshRow::from_row(r)?,
                        B::Row::from_row(r)?,
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
    })?)
}

impl<B: Beside> GroupWrite for RefreshWrites<B> {
    type Job = Refresh<B>;
    type Done = Refreshed<B>;

    async fn write(
        tx: &mut Tx<'_>,
        jobs: &[Refresh<B>],
    ) -> Result<Vec<Result<Refreshed<B>, ApiError>>, ApiError> {
        Self::write_at(tx, now_ms(), jobs).await
    }
}

impl<B: Beside> RefreshWrites<B> {
    /// [`GroupWrite::write`], every token judged live or not at `now`, and spent only if it
    /// is still live at that same time.
    async fn write_at(
        tx: &mut Tx<'_>,
        now: i64,
        jobs: &[Refresh<B>],
    ) -> Result<Vec<Result<Refreshed<B>, ApiError>>, ApiError> {
        // Each job's keys in the order they are tried (`secret::first_found`): one read of
        // every job's first key, and one more, when any is left, of the second key of each
        // job its first did not find (a token issued before ordered keys, or none at all).
        let keys: Vec<Vec<Vec<u8>>> = jobs
            .iter()
            .map(|j| {
                secret::Keys::of(refresh::PREFIX, &j.token, now)
                    .map_or_else(Vec::new, |keys| keys.in_order().collect())
            })
            .collect();
        let mut found: Vec<Option<(refresh::RefreshRow, B::Row)>> = vec![None; jobs.len()];
        for round in 0..2 {
            let tried: Vec<usize> = (0..jobs.len())
                .filter(|&i| found[i].is_none() && keys[i].len() > round)
                .collect();
            if tried.is_empty() {
                break;
            }
            let listed: Vec<&[u8]> = tried.iter().map(|&i| &keys[i][round][..]).collect();
            let read = read_many::<B>(tx, now, &listed).await?;
            for i in tried {
                // Each job's token as found for its own client only.
                found[i] = read
                    .iter()
                    .find(|(k, row, _)| *k == keys[i][round] && row.client_id == jobs[i].client_id)
                    .map(|(_, row, beside)| (row.clone(), beside.clone()));
            }
        }
        // Those that may be spent, each with what replaces it. A token presented twice in
        // the group is spent by the first (and only its successor sealed); the second is
        // then answered as a later presentation (`refresh_kept`).
        let mut seen = std::collections::HashSet::new();
        let spent: Vec<Spent> = jobs
            .iter()
            .zip(&found)
            .enumerate()
            .filter_map(|(i, (job, found))| {
                let (row, beside) = found.as_ref()?;
                let spendable = refusal(row.status()).is_none()
                    && row.is_live(now)
                    && B::admits(&job.ask, beside);
                (spendable && seen.insert(row.id)).then(|| {
                    let new = job.new.clone().of(row.family());
                    let pair = new.pair();
                    let sealed = refresh::seal(&job.token, row.id, &job.device, &pair);
                    Spent {
                        job: i,
                        token_id: row.id,
                        new,
                        pair,
                        sealed,
                    }
                })
            })
            .collect();
        // The people's rows first, in one order (two nodes' groups never wait for each
        // other in a circle), as a lone refresh locks its person's: a revocation of
        // everything of theirs either committed before (the rotation then finds the token
        // revoked) or waits for this transaction and revokes the pairs it stores too.
        let mut people: Vec<Uuid> = spent.iter().map(|s| s.new.family.user_id).collect();
        people.sort_unstable();
        people.dedup();
        crate::users::store::lock_many(tx, &people).await?;
        let spends: Vec<refresh::Spend> = spent
            .iter()
            .map(|s| refresh::Spend {
                id: s.token_id,
                device: &jobs[s.job].device,
                sealed: &s.sealed,
            })
            .collect();
        let pairs: Vec<&NewPair> = spent.iter().map(|s| &s.new).collect();
        let won = spend_and_store(tx, &spends, &pairs, now).await?;
        let mut done: Vec<Option<TokenPair>> = vec![None; jobs.len()];
        for (s, won) in spent.into_iter().zip(won) {
            if won {
                done[s.job] = Some(s.pair);
            }
        }
        Ok(found
            .into_iter()
            .zip(done)
            .map(|(found, pair)| {
                Ok(match (found, pair) {
                    (Some((row, beside)), Some(pair)) => Refreshed::Rotated { row, beside, pair },
                    (found, _) => Refreshed::Kept(found),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        clients::store as clients,
        config::Config,
        db::Pooler,
        tokens::Family,
        users::store::{self as users, NewUser},
    };

    /// A migrated in-memory database with one client, one person and a refresh token of
    /// theirs that expires at `expires_at`; the token.
    async fn one_token(expires_at: i64) -> (Db, Uuid, String) {
        let db = Db::connect("sqlite::memory:", 1, Pooler::None)
            .await
            .unwrap();
        db.migrate(None).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let client = clients::create(&mut tx, "app", &[], &[])
            .await
            .unwrap()
            .client;
        let user = users::insert(
            &mut tx,
            NewUser {
                name: "Ana",
                email: Some("ana@example.com"),
                whatsapp: None,
                password_hash: "x",
            },
        )
        .await
        .unwrap();
        let family = Family {
            id: Uuid::now_v7(),
            user_id: user.id,
            client_id: client.id,
            device_id: None,
        };
        let mut pair = NewPair::make(&Config::defaults(), family);
        pair.refresh.expires_at = expires_at;
        store(&mut tx, &[&pair]).await.unwrap();
        tx.commit().await.unwrap();
        (db, client.id, pair.refresh.secret.plaintext)
    }

    fn job(token: &str, client_id: Uuid) -> Refresh<Nothing> {
        Refresh {
            token: token.to_string(),
            client_id,
            device: vec![1],
            ask: (),
            new: NewTokens::make(&Config::defaults()),
        }
    }

    /// A token that expires between the group's judging it live and its `UPDATE` is still
    /// spent: both use the group's one time (with two clocks the count came out short, and
    /// the whole group failed).
    #[tokio::test]
    async fn a_token_live_when_the_group_judged_it_is_spent_at_that_time() {
        let expires_at = now_ms() + 5;
        let (db, client_id, token) = one_token(expires_at).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut tx = db.begin().await.unwrap();
        let done =
            RefreshWrites::<Nothing>::write_at(&mut tx, expires_at - 1, &[job(&token, client_id)])
                .await
                .expect("the group is written");
        tx.commit().await.unwrap();
        assert!(matches!(done[0], Ok(Refreshed::Rotated { .. })));
    }

    /// A token presented twice in one group is spent by the first presentation; the second
    /// is answered as a later one (had both been spent, the group's count of its writes
    /// would fail it as a whole).
    #[tokio::test]
    async fn a_token_presented_twice_in_a_group_is_spent_by_the_first() {
        let (db, client_id, token) = one_token(now_ms() + 60_000).await;
        let mut tx = db.begin().await.unwrap();
        let twice = [job(&token, client_id), job(&token, client_id)];
        let done = RefreshWrites::<Nothing>::write_at(&mut tx, now_ms(), &twice)
            .await
            .expect("the group is written");
        tx.commit().await.unwrap();
        assert!(matches!(done[0], Ok(Refreshed::Rotated { .. })));
        assert!(matches!(done[1], Ok(Refreshed::Kept(Some(_)))));
    }

    /// One group finds and spends tokens stored under their hash (by a release before
    /// ordered keys) beside one stored under its ordered key: one whose first bytes are no
    /// recent time (found by its hash at once), and one whose first bytes happen to be
    /// (found by its hash in the group's second read).
    #[tokio::test]
    async fn a_group_spends_tokens_of_earlier_releases_beside_ordered_ones() {
        let (db, client_id, ordered) = one_token(now_ms() + 60_000).await;
        let Db::Sqlite { writer, .. } = &db else {
            unreachable!()
        };
        let earlier = [
            secret::issue(refresh::PREFIX).plaintext,
            secret::issue_ordered(refresh::PREFIX, now_ms()).plaintext,
        ];
        let sql = "INSERT INTO refresh_tokens (id, token_hash, user_id, client_id, family_id,
                                               created_at, expires_at)
                   SELECT $1, $2, user_id, client_id, $3, created_at, expires_at
                     FROM refresh_tokens LIMIT 1";
        for token in &earlier {
            sqlx::query(sql)
                .bind(Uuid::now_v7())
                .bind(secret::hash(token))
                .bind(Uuid::now_v7())
                .execute(writer)
                .await
                .unwrap();
        }
        let jobs = [
            job(&earlier[0], client_id),
            job(&ordered, client_id),
            job(&earlier[1], client_id),
        ];
        let mut tx = db.begin().await.unwrap();
        let done = RefreshWrites::<Nothing>::write_at(&mut tx, now_ms(), &jobs)
            .await
            .expect("the group is written");
        tx.commit().await.unwrap();
        assert!(
            done.iter()
                .all(|d| matches!(d, Ok(Refreshed::Rotated { .. })))
        );
    }

    /// A malformed token never waits for the writer (here held by someone else).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_token_is_answered_without_the_writer() {
        let (db, client_id, _) = one_token(now_ms() + 60_000).await;
        let refreshes = Refreshes::<Nothing>::new(&db);
        let Db::Sqlite { writer, .. } = &db else {
            unreachable!()
        };
        let _held = writer.acquire().await.unwrap();
        let answer = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            refreshes.refresh(job("fyt_not-a-token", client_id)),
        )
        .await
        .expect("answered without waiting for the writer");
        assert!(matches!(answer, Ok(Refreshed::Kept(None))));
    }
}
