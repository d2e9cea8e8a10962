//! `POST /oauth/token`: a code for tokens (`authorization_code`), a refresh token for new
//! ones (`refresh_token`, §14's rotation and reuse detection), and the device grant's poll
//! (`device`). Replies carry `Cache-Control: no-store` (the server's default) and
//! `Pragma: no-cache` (RFC 6749 §5.1).
//!
//! What each grant issues (the reply, the ID token) is [`super::grant`]'s.

use super::{
    Scope, client, device,
    errors::{Kind, OAuthError, Params, form},
    grant::{GrantRow, Granted, Reply, id_token, person, reply, start},
    keys,
};
use crate::{
    clients::{Grant, store::Client},
    db::{Tx, db_row, now_ms, with_tx},
    error::ErrorCode,
    request::Caller,
    secret,
    state::AppState,
    tokens::{TokenPair, refresh, rotation},
    users::store::{self as users, UserRow},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use std::{
    net::SocketAddr,
    sync::{Arc, LazyLock},
};
use uuid::Uuid;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    let res = match exchange(&state, &caller, &headers, &body).await {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    };
    super::endpoints::with_cors(&state, &headers, res).await
}

async fn exchange(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, OAuthError> {
    let params = form(headers, body)?;
    let grant_type = params.require("grant_type")?;
    match grant_type {
        "authorization_code" => {
            let client = client::authenticate(state, headers, &params, Grant::OauthCode).await?;
            code_grant(state, &client, &params).await
        }
        "refresh_token" => {
            // A sign-in by code or by device refreshes alike.
            let client = client::authenticate_any(state, headers, &params).await?;
            refresh_grant(state, caller, &client, &params).await
        }
        DEVICE_CODE_GRANT => {
            let client = client::authenticate(state, headers, &params, Grant::OauthDevice).await?;
            device::poll(state, &client, &params).await
        }
        _ => Err(OAuthError::of(
            Kind::UnsupportedGrantType,
            ErrorCode::UnsupportedGrantType,
        )),
    }
}

db_row! {
    struct CodeRow {
        client_id: Uuid,
        user_id: Uuid,
        redirect_uri: String,
        scope: String,
        nonce: Option<String>,
        code_challenge: String,
        session_id: Option<Uuid>,
        auth_time: i64,
        amr: Option<String>,
        created_at: i64,
        expires_at: i64,
        family_id: Option<Uuid>,
    }
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `authorization_code`: the code, once, by the client it was issued to, with the redirect
/// URI and PKCE verifier of its request.
async fn code_grant(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<Reply, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier")?;
    if !verifier_well_formed(verifier) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.",
        ));
    }
    let unknown = || OAuthError::invalid_grant("The code is unknown, expired, or already used.");
    if !secret::well_formed(super::authorize::CODE_PREFIX, code) {
        return Err(unknown());
    }
    let hash = secret::hash(code);
    let mut tx = state.db.begin().await?;
    let sql = "SELECT client_id, user_id, redirect_uri, scope, nonce, code_challenge, session_id,
                      auth_time, amr, created_at, expires_at, family_id
               FROM oidc_codes WHERE code_hash = $1";
    let row: CodeRow = with_tx!(&mut tx, |c| sqlx::query_as(sql)
        .bind(&hash)
        .fetch_optional(c)
        .await)?
    .ok_or_else(unknown)?;
    // Another client's code: not this client's to spend, nor to burn.
    if row.client_id != client.id {
        return Err(unknown());
    }
    let now = now_ms();
    let sql = "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL";
    let first = with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(&hash)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?
        == 1;
    if !first {
        // Presented again: whoever holds it besides the app, what the first use issued is
        // theirs too (RFC 6749 §4.1.2). It ends here.
        if let Some(family) = row.family_id {
            crate::tokens::revoke_family(&mut tx, row.user_id, family).await?;
            tx.commit().await?;
            tracing::warn!(family = %family, client = %client.id, "an authorization code was presented again: its tokens are revoked");
        }
        return Err(unknown());
    }
    // The code is spent from here on, whatever comes next.
    let (pair, user, scope) =
        match redeem(&mut tx, state, client, &row, &hash, redirect_uri, verifier).await {
            Ok(done) => done,
            Err(e) => {
                tx.commit().await?;
                return Err(e);
            }
        };
    tx.commit().await?;
    let id_token = match scope.has("openid") {
        true => Some(
            id_token(
                state,
                client.id,
                None,
                &user,
                &scope,
                &Granted {
                    session_id: row.session_id,
                    auth_time: row.auth_time,
                    amr: row.amr.as_deref(),
                },
                row.nonce.as_deref(),
                &pair.access_token,
            )
            .await?,
        ),
        false => None,
    };
    Ok(reply(state, pair, &scope, id_token))
}

/// The checks of a code being spent (its first presentation), and the tokens it gives.
async fn redeem(
    tx: &mut Tx<'_>,
    state: &AppState,
    client: &Client,
    row: &CodeRow,
    hash: &[u8],
    redirect_uri: &str,
    verifier: &str,
) -> Result<(TokenPair, UserRow, Scope), OAuthError> {
    if row.expires_at <= now_ms() {
        return Err(OAuthError::invalid_grant(
            "The code is unknown, expired, or already used.",
        ));
    }
    if row.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's.",
        ));
    }
    if s256(verifier) != row.code_challenge {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge.",
        ));
    }
    let user = person(tx, row.user_id, row.created_at).await?;
    let scope = Scope::parse(&row.scope).unwrap_or_else(|| Scope(Vec::new()));
    let (pair, family) = start(
        tx,
        state,
        client,
        &user,
        &scope,
        Granted {
            session_id: row.session_id,
            auth_time: row.auth_time,
            amr: row.amr.as_deref(),
        },
    )
    .await?;
    let sql = "UPDATE oidc_codes SET family_id = $2 WHERE code_hash = $1";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(hash)
        .bind(family)
        .execute(c)
        .await
        .map(drop))?;
    Ok((pair, user, scope))
}

/// What the OpenID Connect refresh grant reads beside its token, in the statement that
/// reads every waiting refresh's token (`tokens::rotation::Refreshes`): what its sign-in
/// was granted (if it was an OAuth one), its person as they are now, and how its app's ID
/// tokens are signed (the key that signs now included, so signing reads nothing more). A
/// refresh makes no read of its own: under load each was a round trip to a database
/// thread, on a reader connection whose page cache every write had emptied (BENCHMARKS.md).
#[derive(Clone)]
pub struct GrantRead {
    grant: Option<GrantRow>,
    user: UserRow,
    signing: keys::Signing,
}

/// The scope the sign-in of a token was granted (`None`: no token found); a sign-in that
/// was not an OAuth one has only `offline_access`.
fn granted_scope(found: Option<&GrantRead>) -> Scope {
    found
        .and_then(|b| b.grant.as_ref())
        .and_then(|g| Scope::parse(&g.scope))
        .unwrap_or_else(|| Scope(vec!["offline_access"]))
}

/// [`GrantRead`] from a row of either backend (`user_id` is the token's person).
macro_rules! beside_from_row {
    ($($row:ty),*) => {$(
        impl<'r> sqlx::FromRow<'r, $row> for GrantRead {
            fn from_row(r: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                // The row's `id` is the token's: the person's is the token's `user_id`.
                let user = UserRow {
                    id: r.try_get("user_id")?,
                    ..UserRow::from_row(r)?
                };
                let grant = match r.try_get::<Option<String>, _>("scope")? {
                    Some(_) => Some(GrantRow::from_row(r)?),
                    None => None,
                };
                let alg = keys::SigningAlg::of_client(r.try_get("id_token_alg")?);
                let kid = r.try_get::<Option<String>, _>("signing_kid")?;
                Ok(GrantRead {
                    grant,
                    user,
                    signing: keys::Signing { alg, kid },
                })
            }
        }
    )*};
}
beside_from_row!(sqlx::sqlite::SqliteRow, sqlx::postgres::PgRow);

impl rotation::Beside for GrantRead {
    type Row = GrantRead;
    /// A narrower scope, if asked: it must be within the granted one.
    type Ask = Option<Scope>;

    fn columns() -> &'static str {
        static COLUMNS: LazyLock<String> = LazyLock::new(|| {
            format!(
                ", {}, g.scope, g.session_id, g.auth_time, g.amr, c.id_token_alg, {} AS signing_kid",
                users::U_COLUMNS_BUT_ID,
                keys::current_kid_sql(
                    &format!(
                        "COALESCE(c.id_token_alg, '{}')",
                        keys::SigningAlg::default().as_str()
                    ),
                    "$1"
                ),
            )
        });
        &COLUMNS
    }

    const JOINS: &'static str = "JOIN clients c ON c.id = t.client_id
                                 LEFT JOIN oidc_grants g ON g.family_id = t.family_id";

    fn admits(ask: &Option<Scope>, row: &GrantRead) -> bool {
        ask.as_ref()
            .is_none_or(|a| a.within(&granted_scope(Some(row))))
    }
}

/// `refresh_token`: §14's rotation (`tokens::rotation::Refreshes`, then
/// `tokens::refresh_kept`), then a new ID token for an OpenID Connect sign-in (same
/// `auth_time`, `amr` and `sid`; no `nonce`).
async fn refresh_grant(
    state: &AppState,
    caller: &Caller,
    client: &Arc<Client>,
    params: &Params,
) -> Result<Reply, OAuthError> {
    let token = params.require("refresh_token")?;
    let asked = params
        .get("scope")
        .map(|s| {
            Scope::parse(s)
                .ok_or_else(|| OAuthError::of(Kind::InvalidScope, ErrorCode::InvalidScope))
        })
        .transpose()?;
    let device = refresh::device_of(caller.ip, caller.user_agent().as_deref());
    let refresh = rotation::Refresh::<GrantRead> {
        token: token.to_string(),
        client_id: client.id,
        device: device.clone(),
        ask: asked.clone(),
        new: rotation::NewTokens::make(&state.config),
    };
    let (pair, beside) = match rotation::Refreshes::of(state).refresh(refresh).await? {
        rotation::Refreshed::Rotated { pair, beside, .. } => (pair, Some(beside)),
        rotation::Refreshed::Kept(found) => {
            // A narrower scope is refused before anything else (the token was not spent
            // for it).
            if let Some(asked) = &asked
                && !asked.within(&granted_scope(found.as_ref().map(|(_, b)| b)))
            {
                return Err(OAuthError::of(Kind::InvalidScope, ErrorCode::InvalidScope));
            }
            let (row, beside) = found.unzip();
            let pair = crate::tokens::refresh_kept(state, client.id, token, &device, row)
                .await
                .map_err(|e| match e.code {
                    ErrorCode::Unauthorized => OAuthError::invalid_grant(e.message),
                    ErrorCode::UserNotActive
                    | ErrorCode::UserSuspended
                    | ErrorCode::UserDeleted => OAuthError::new(Kind::InvalidGrant, e),
                    _ => OAuthError::from(e),
                })?;
            (pair, beside)
        }
    };
    // A refresh keeps the sign-in's scope (narrowed if asked), and with it offline_access.
    let mut scope = asked.unwrap_or_else(|| granted_scope(beside.as_ref()));
    if !scope.has("offline_access") {
        scope.0.push("offline_access");
    }
    let id_token = match beside {
        Some(GrantRead {
            grant: Some(grant),
            user,
            signing,
        }) if scope.has("openid") => Some(
            id_token(
                state,
                client.id,
                Some(signing),
                &user,
                &scope,
                &Granted {
                    session_id: grant.session_id,
                    auth_time: grant.auth_time,
                    amr: grant.amr.as_deref(),
                },
                None,
                &pair.access_token,
            )
            .await?,
        ),
        _ => None,
    };
    Ok(reply(state, pair, &scope, id_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_of_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verifier_well_formed(verifier));
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!verifier_well_formed("short"));
        assert!(!verifier_well_formed(&"a".repeat(129)));
        assert!(!verifier_well_formed(&format!("{}+", "a".repeat(50))));
    }
}
