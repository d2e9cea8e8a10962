//! The `activity` table, and the person's live sign-ins (browser sessions and app token
//! families) as the security centre lists and ends them.

use super::{Entry, ForApp, KEEP_DAYS, Kind, PAGE_SIZE, SignedIn};
use crate::{
    db::{Db, Tx, now_ms, rfc3339, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    request::Caller,
    secret,
    state::AppState,
    throttle::network,
};
use uuid::Uuid;

/// Records `kind` for `user_id`, from `caller`, in `tx` (the transaction of the change it
/// records). `client_id`: the app it was for, if any.
pub async fn record(
    tx: &mut Tx<'_>,
    caller: &Caller,
    user_id: Uuid,
    kind: Kind,
    client_id: Option<Uuid>,
) -> Result<(), ApiError> {
    insert(tx, caller, user_id, kind, None, client_id, None).await
}

/// Records `kind` for `user_id`, from `caller`, in `tx`, with what else the change did
/// (`detail`: the second factor turned on `others_signed_out`, say).
pub async fn record_with(
    tx: &mut Tx<'_>,
    caller: &Caller,
    user_id: Uuid,
    kind: Kind,
    detail: &str,
) -> Result<(), ApiError> {
    insert(tx, caller, user_id, kind, Some(detail), None, None).await
}

/// Records a sign-in (or a failed one, or a code sent) proven `how`, for `app` when it was
/// for an app — or another entry with how it came about (`not_me`: a "this wasn't me" link).
pub async fn record_sign_in(
    tx: &mut Tx<'_>,
    caller: &Caller,
    user_id: Uuid,
    kind: Kind,
    how: &str,
    app: Option<&ForApp>,
) -> Result<(), ApiError> {
    insert(
        tx,
        caller,
        user_id,
        kind,
        Some(how),
        app.map(|a| a.client_id),
        app.and_then(|a| a.device.as_deref()),
    )
    .await
}

async fn insert(
    tx: &mut Tx<'_>,
    caller: &Caller,
    user_id: Uuid,
    kind: Kind,
    detail: Option<&str>,
    client_id: Option<Uuid>,
    device: Option<&str>,
) -> Result<(), ApiError> {
    let sql = "INSERT INTO activity (id, user_id, kind, detail, client_id, device, network, browser, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let browser = caller.user_agent();
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(kind.as_str())
        .bind(detail)
        .bind(client_id)
        .bind(device)
        .bind(network(caller.ip))
        .bind(browser.as_deref())
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Records `kind` for `user_id` outside any other change (a failed sign-in: nothing else is
/// written).
pub async fn record_alone(
    db: &Db,
    caller: &Caller,
    user_id: Uuid,
    kind: Kind,
    how: &str,
    app: Option<&ForApp>,
) -> Result<(), ApiError> {
    let mut tx = db.begin().await?;
    record_sign_in(&mut tx, caller, user_id, kind, how, app).await?;
    tx.commit().await
}

type EntryRow = (
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// `user_id`'s latest entries (the page's [`PAGE_SIZE`]), newest first.
pub async fn list(db: &Db, user_id: Uuid) -> Result<Vec<Entry>, ApiError> {
    entries(db, user_id, PAGE_SIZE).await
}

/// All of `user_id`'s entries (at most 180 days of them), newest first: for the export.
pub async fn list_all(db: &Db, user_id: Uuid) -> Result<Vec<Entry>, ApiError> {
    entries(db, user_id, i64::MAX).await
}

async fn entries(db: &Db, user_id: Uuid, limit: i64) -> Result<Vec<Entry>, ApiError> {
    let sql = "SELECT a.kind, a.detail, a.created_at, c.name, a.device, a.network, a.browser
               FROM activity a LEFT JOIN clients c ON c.id = a.client_id
               WHERE a.user_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2";
    let rows: Vec<EntryRow> = with_reader!(db, |c| sqlx::query_as(sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, detail, at, app, device, network, browser)| {
            Some(Entry {
                kind: Kind::parse(&kind)?,
                detail,
                at: rfc3339(at),
                app,
                device,
                network,
                browser,
            })
        })
        .collect())
}

/// A browser session as listed: id, token hash, started, proven with two factors at, app,
/// User-Agent, network.
type SessionRow = (
    Uuid,
    Vec<u8>,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Where `user_id` is signed in: live browser sessions (this one marked), and the apps
/// holding live tokens (one entry per sign-in: a token family), newest first.
pub async fn signed_in(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
) -> Result<Vec<SignedIn>, ApiError> {
    let now = now_ms();
    let this = crate::users::session::secret_of(caller, &state.config).map(secret::hash);
    let sql =
        "SELECT s.id, s.token_hash, s.created_at, s.strong_at, c.name, s.user_agent, s.network
               FROM sessions s LEFT JOIN clients c ON c.id = s.client_id
               WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2";
    let sessions: Vec<SessionRow> = with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(user_id)
        .bind(now)
        .fetch_all(c)
        .await)?;
    let mut all: Vec<(i64, SignedIn)> = sessions
        .into_iter()
        .map(|(id, hash, created, strong, app, user_agent, network)| {
            let agent = super::agent::parse(user_agent.as_deref().unwrap_or_default());
            (
                created,
                SignedIn {
                    id: format!("session:{id}"),
                    app,
                    device: None,
                    browser: agent.browser.map(str::to_owned),
                    os: agent.os.map(str::to_owned),
                    user_agent,
                    network,
                    since: rfc3339(created),
                    current: this.as_deref() == Some(hash.as_slice()),
                    strong: strong.is_some(),
                },
            )
        })
        .collect();
    // A family is live while it has a live access token or an unrotated refresh token.
    let sql = "SELECT f.family, MIN(f.created_at), c.name, d.device_name FROM (
                   SELECT COALESCE(family_id, id) AS family, client_id, device_id, created_at
                     FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                   UNION ALL
                   SELECT family_id, client_id, device_id, created_at
                     FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > $2
               ) f JOIN clients c ON c.id = f.client_id LEFT JOIN devices d ON d.id = f.device_id
               GROUP BY f.family, c.name, d.device_name";
    let apps: Vec<(Uuid, i64, String, Option<String>)> =
        with_reader!(&state.db, |c| sqlx::query_as(sql)
            .bind(user_id)
            .bind(now)
            .fetch_all(c)
            .await)?;
    all.extend(apps.into_iter().map(|(family, created, app, device)| {
        (
            created,
            SignedIn {
                id: format!("app:{family}"),
                app: Some(app),
                device,
                browser: None,
                os: None,
                user_agent: None,
                network: None,
                since: rfc3339(created),
                current: false,
                strong: false,
            },
        )
    }));
    all.sort_by_key(|a| std::cmp::Reverse(a.0));
    Ok(all.into_iter().map(|(_, s)| s).collect())
}

/// Ends one of `user_id`'s sign-ins (`session:<id>` or `app:<family>`), in `tx`; `NOT_FOUND`
/// when they have no such live sign-in (another person's id included).
pub async fn end(tx: &mut Tx<'_>, user_id: Uuid, id: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound);
    let (what, uuid) = id.split_once(':').ok_or_else(not_found)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| ApiError::new(ErrorCode::InvalidObjectId))?;
    let now = now_ms();
    let ended = match what {
        "session" => {
            let sql = "UPDATE sessions SET revoked_at = $3
                       WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(uuid)
                .bind(user_id)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?
        }
        "app" => {
            let access = "UPDATE access_tokens SET revoked_at = $3
                          WHERE (family_id = $1 OR id = $1) AND user_id = $2 AND revoked_at IS NULL";
            let a = with_tx!(tx, |c| sqlx::query(access)
                .bind(uuid)
                .bind(user_id)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            let refresh = "UPDATE refresh_tokens SET revoked_at = $3
                           WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL";
            let r = with_tx!(tx, |c| sqlx::query(refresh)
                .bind(uuid)
                .bind(user_id)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            a + r
        }
        _ => 0,
    };
    if ended == 0 {
        return Err(not_found());
    }
    Ok(())
}

/// Removes, at most `limit` at a time, entries older than [`KEEP_DAYS`].
pub async fn purge(db: &Db, limit: i64) -> Result<u64, ApiError> {
    let before = now_ms() - KEEP_DAYS * 24 * 3600 * 1000;
    let sql = "DELETE FROM activity WHERE id IN
                 (SELECT id FROM activity WHERE created_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(before)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
