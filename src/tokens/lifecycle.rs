//! The rules of a token family's life: it starts at the login request's first poll, its
//! refresh token rotates at each refresh, and it ends at logout, on reuse, when its device
//! is removed, or when its person is shut out.

use super::{
    Introspection, LogoutBody, TokenPair, TokenType, access,
    pairs::{self, NewPair, NewTokens},
    refresh,
    rotation::{Nothing, Refresh, Refreshed, Refreshes},
};
use crate::{
    config::Config,
    db::{Tx, now_ms, rfc3339, with_tx},
    error::{ApiError, ErrorCode},
    state::AppState,
    status::Status,
    users::store::refusal,
};
use uuid::Uuid;

/// One sign-in of one person in one app: every token issued for it.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    pub id: Uuid,
    pub user_id: Uuid,
    pub client_id: Uuid,
    pub device_id: Option<Uuid>,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::with_message(ErrorCode::Unauthorized, message)
}

pub fn no_bearer() -> ApiError {
    unauthorized("This route needs `Authorization: Bearer <accessToken>`.")
}

/// A new pair of tokens for `family`.
async fn issue_pair(
    tx: &mut Tx<'_>,
    config: &Config,
    family: Family,
) -> Result<TokenPair, ApiError> {
    let new = NewPair::make(config, family);
    pairs::store(tx, &[&new]).await?;
    Ok(new.pair())
}

/// The first pair of a new sign-in of `user_id` in `client_id` (on `device_id`).
pub async fn start_family(
    tx: &mut Tx<'_>,
    config: &Config,
    user_id: Uuid,
    client_id: Uuid,
    device_id: Option<Uuid>,
) -> Result<TokenPair, ApiError> {
    let family = Family {
        id: Uuid::now_v7(),
        user_id,
        client_id,
        device_id,
    };
    issue_pair(tx, config, family).await
}

/// Trades the refresh token `token` of `client_id`, presented from `device`
/// ([`refresh::device_of`]), for a new pair.
pub async fn refresh(
    state: &AppState,
    client_id: Uuid,
    token: &str,
    device: &[u8],
) -> Result<TokenPair, ApiError> {
    let refresh = Refresh::<Nothing> {
        token: token.to_string(),
        client_id,
        device: device.to_vec(),
        ask: (),
        new: NewTokens::make(&state.config),
    };
    match Refreshes::of(state).refresh(refresh).await? {
        Refreshed::Rotated { pair, .. } => Ok(pair),
        Refreshed::Kept(found) => {
            refresh_kept(state, client_id, token, device, found.map(|f| f.0)).await
        }
    }
}

/// The answer to a refresh whose token [`Refreshes`] did not spend (`found` as it read it,
/// `None` when it found nothing).
///
/// One token makes one pair: the rotation is one conditional `UPDATE`, in the transaction
/// that stores the pair and keeps it sealed for [`refresh::GRACE_MS`], so a family is never
/// left half-rotated. A token not spent there is read again and answered as a later
/// presentation: within the grace window, from the device that rotated it, the same pair;
/// anything else revokes the family.
pub async fn refresh_kept(
    state: &AppState,
    client_id: Uuid,
    token: &str,
    device: &[u8],
    found: Option<refresh::RefreshRow>,
) -> Result<TokenPair, ApiError> {
    let not_found = || unauthorized("The refresh token is malformed, unknown, or another app's.");
    let row = found.ok_or_else(not_found)?;
    if let Some(code) = refusal(row.status()) {
        return Err(ApiError::new(code));
    }
    // Spent, revoked or expired, or another request rotated it first: what is it now?
    let mut tx = state.db.begin().await?;
    let row = refresh::find_in(&mut tx, token, client_id)
        .await?
        .ok_or_else(not_found)?;
    let now = now_ms();
    let Some(rotated_at) = row.rotated_at else {
        return Err(unauthorized(
            "The refresh token is expired or revoked. Sign the person in again.",
        ));
    };
    let same_device = row.rotated_by.as_deref() == Some(device);
    if now - rotated_at <= refresh::GRACE_MS
        && row.revoked_at.is_none()
        && same_device
        && let Some(pair) = row
            .successor
            .as_deref()
            .and_then(|sealed| refresh::open(sealed, token, row.id, device))
    {
        return Ok(pair);
    }
    if row.revoked_at.is_none() {
        revoke_family(&mut tx, row.user_id, row.family_id).await?;
        tx.commit().await?;
        tracing::warn!(
            family = %row.family_id,
            client = %client_id,
            within_grace = now - rotated_at <= refresh::GRACE_MS,
            same_device,
            "a rotated refresh token was presented again: its sign-in is revoked"
        );
    }
    Err(unauthorized(
        "This refresh token was already used. Sign the person in again.",
    ))
}

/// What `token` is for `client_id` (RFC 7662): never an error about the token itself.
pub async fn introspect(
    state: &AppState,
    client_id: Uuid,
    token: &str,
) -> Result<Introspection, ApiError> {
    let now = now_ms();
    let inactive = Introspection::default();
    if token.starts_with(access::PREFIX) {
        let Some(row) = access::find(&state.db, token, client_id).await? else {
            return Ok(inactive);
        };
        if !row.is_live(now) {
            return Ok(inactive);
        }
        return Ok(Introspection {
            active: true,
            token_type: Some(TokenType::Access),
            user_id: Some(row.user_id.to_string()),
            client_id: Some(row.client_id.to_string()),
            device_id: row.device_id.map(|d| d.to_string()),
            expires_at: Some(rfc3339(row.expires_at)),
        });
    }
    let Some(row) = refresh::find(&state.db, token, client_id).await? else {
        return Ok(inactive);
    };
    if !row.is_live(now) || row.user_status != Status::Active.as_str() {
        return Ok(inactive);
    }
    Ok(Introspection {
        active: true,
        token_type: Some(TokenType::Refresh),
        user_id: Some(row.user_id.to_string()),
        client_id: Some(row.client_id.to_string()),
        device_id: row.device_id.map(|d| d.to_string()),
        expires_at: Some(rfc3339(row.expires_at)),
    })
}

/// Ends the sign-in of the access token `bearer` (whatever state it is in, as long as it
/// is this app's), the sign-in of `body.refreshToken` when it is the same person's, or
/// with `everywhere` every sign-in of the person in this app.
pub async fn logout(
    state: &AppState,
    client_id: Uuid,
    bearer: &str,
    body: &LogoutBody,
) -> Result<(), ApiError> {
    let row = access::find(&state.db, bearer, client_id)
        .await?
        .ok_or_else(|| unauthorized("The access token is malformed, unknown, or another app's."))?;
    let mut tx = state.db.begin().await?;
    // As a refresh does, so a refresh in flight cannot issue a pair that outlives this.
    crate::users::store::lock(&mut tx, row.user_id).await?;
    if body.everywhere == Some(true) {
        revoke_for_user(&mut tx, row.user_id, Some(client_id)).await?;
    } else {
        match row.family_id {
            Some(family) => revoke_family(&mut tx, row.user_id, family).await?,
            None => revoke_access(&mut tx, row.id).await?,
        }
        if let Some(token) = &body.refresh_token
            && let Some(other) = refresh::find_in(&mut tx, token, client_id).await?
            && other.user_id == row.user_id
        {
            revoke_family(&mut tx, other.user_id, other.family_id).await?;
        }
    }
    tx.commit().await
}

/// Revokes the tokens matching `condition` in both token tables: `$1` is the time, `$2`…
/// are `ids`, in order.
async fn revoke_where(tx: &mut Tx<'_>, condition: &str, ids: &[Uuid]) -> Result<(), ApiError> {
    let now = now_ms();
    for table in ["access_tokens", "refresh_tokens"] {
        let sql =
            format!("UPDATE {table} SET revoked_at = $1 WHERE {condition} AND revoked_at IS NULL");
        with_tx!(tx, |c| {
            let mut query = sqlx::query(&sql).bind(now);
            for id in ids {
                query = query.bind(*id);
            }
            query.execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// Revokes every token of one sign-in, of `user_id`.
///
/// The person's row is locked first, as a rotation locks it (`rotation::Refreshes`): a
/// rotation in flight either committed before, and the pair it stored is revoked here, or
/// waits, and then finds its token revoked. (On PostgreSQL, without the lock, a rotation
/// committing while this ran could store a pair this missed.)
pub async fn revoke_family(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    family_id: Uuid,
) -> Result<(), ApiError> {
    crate::users::store::lock(tx, user_id).await?;
    revoke_where(tx, "user_id = $2 AND family_id = $3", &[user_id, family_id]).await
}

/// Revokes every token bound to `device_id` (the device was removed).
pub async fn revoke_for_device(tx: &mut Tx<'_>, device_id: Uuid) -> Result<(), ApiError> {
    revoke_where(tx, "device_id = $2", &[device_id]).await
}

/// Revokes every token of `user_id` (in `client_id` only, when given), every sign-in of
/// theirs that an app has not collected yet — a login request completed before now hands
/// out no token ([`collectable`]; the app sees it `EXPIRED`) — and unlinks their devices (of
/// that app): a device is nobody's once its person signed out there, so whoever signs in on
/// it next may take it, and an app no longer lists it as theirs (`/docs#devices`).
///
/// The person's row is locked first (`users::store::lock`), and only then is the time
/// taken: a refresh or a sign-in in flight (which lock it too) either committed before —
/// and the updates below revoke what it issued, its completion stamped no later than this
/// — or waits, and then finds the revocation. For all apps the person's `revoked_before` is
/// set to that time, and moves forward by at least a millisecond at each revocation, so a
/// sign-in that read it before (`users::store::hold`) always sees that it changed. For one
/// app, that app's uncollected completions are voided instead (their collection deadline
/// set to now).
pub async fn revoke_for_user(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    client_id: Option<Uuid>,
) -> Result<(), ApiError> {
    crate::users::store::lock(tx, user_id).await?;
    let now = now_ms();
    match client_id {
        None => {
            let sql = "UPDATE users SET revoked_before =
                         CASE WHEN revoked_before >= $2 THEN revoked_before + 1 ELSE $2 END
                       WHERE id = $1";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(user_id)
                .bind(now)
                .execute(c)
                .await
                .map(drop))?;
        }
        Some(client) => {
            let sql = "UPDATE login_requests SET collect_by = $3
                       WHERE user_id = $1 AND client_id = $2 AND completed_at IS NOT NULL
                         AND delivered_at IS NULL AND collect_by > $3";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(user_id)
                .bind(client)
                .bind(now)
                .execute(c)
                .await
                .map(drop))?;
        }
    }
    match client_id {
        None => revoke_where(tx, "user_id = $2", &[user_id]).await?,
        Some(client) => {
            revoke_where(tx, "user_id = $2 AND client_id = $3", &[user_id, client]).await?
        }
    }
    unlink_devices(tx, user_id, client_id).await
}

/// Unlinks every device of `user_id` (of `client_id` only, when given) from them: the
/// devices stay their apps', and are nobody's until someone signs in on them again. Written
/// here, beside the revocation it belongs to, because only a revocation does it.
async fn unlink_devices(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    client_id: Option<Uuid>,
) -> Result<(), ApiError> {
    let sql = "UPDATE devices SET user_id = NULL, updated_at = $2
               WHERE user_id = $1 AND ($3 IS NULL OR client_id = $3)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(now_ms())
        .bind(client_id)
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Whether a sign-in of `user_id` completed at `completed_at` may still be handed to its app:
/// not if everything of theirs was revoked since ([`revoke_for_user`]) — or in the same
/// millisecond, which cannot tell which came first. Locks the person's row until `tx` ends
/// (an update that changes nothing), so a revocation cannot slip in between this answer and
/// the tokens it lets `tx` issue.
pub async fn collectable(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    completed_at: i64,
) -> Result<bool, ApiError> {
    let sql = "UPDATE users SET revoked_before = revoked_before
               WHERE id = $1 AND (revoked_before IS NULL OR revoked_before < $2)";
    let alive = with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(completed_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(alive == 1)
}

/// Revokes one access token (one issued before families existed).
async fn revoke_access(tx: &mut Tx<'_>, id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE access_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Sets a user's status. Any status but `active` revokes their tokens and browser sessions
/// in the same transaction, so they stop working on the next request.
pub async fn set_user_status(tx: &mut Tx<'_>, id: Uuid, status: Status) -> Result<bool, ApiError> {
    if !crate::users::store::write_status(tx, id, status).await? {
        return Ok(false);
    }
    if status != Status::Active {
        revoke_for_user(tx, id, None).await?;
        crate::users::session::revoke_all(tx, id).await?;
    }
    Ok(true)
}
