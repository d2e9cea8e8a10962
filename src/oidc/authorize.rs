//! `/oauth/authorize`: the authorization code flow with PKCE (`S256` only, required of
//! every client), through the hosted sign-in pages.
//!
//! 1. The request is checked in the order RFC 6749 §4.1.2.1 needs: the client and its
//!    redirect URI first — if either is wrong, an error **page**, never a redirect (that
//!    would make fypass an open redirector) — then everything else, whose errors go back to
//!    the redirect URI with `error`, `state` and `iss` (RFC 9207, against mix-up attacks).
//! 2. A person signed in to fypass in this browser goes straight back with a code (single
//!    sign-on across apps), unless `prompt=login` or `max_age` asks for a fresher sign-in;
//!    `prompt=none` without one comes back with `login_required`.
//! 3. Anyone else is sent to the hosted sign-in page of a new login request (password,
//!    code, passkey, registration, the app's branding, the languages) whose redirect URL is
//!    [`resume`]. There, the browser that completed that request — and only it: its
//!    session must be the person who completed it — gets its code, once.
//!
//! A code is single use and lives 60 s (`token` exchanges it).

use super::{
    Scope,
    client::{self, admitted},
    errors::{Kind, OAuthError, Params},
    pages,
    session::{SessionFacts, signed_in},
};
use crate::{
    clients::{Grant, store::Client},
    db::{Tx, db_row, now_ms, with_reader, with_tx},
    error::{ApiError, ErrorCode},
    login::{LoginMode, StartLoginBody, requests},
    request::Caller,
    secret,
    state::AppState,
    throttle::network,
    users::identifier::Identifier,
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::net::SocketAddr;
use uuid::Uuid;

/// How long a code may wait for its exchange.
pub const CODE_TTL_MS: i64 = 60_000;
/// The prefix of an authorization code.
pub const CODE_PREFIX: &str = "fyo_";
/// Longest `state` and `nonce` kept (they come back verbatim).
const MAX_ECHO_CHARS: usize = 1024;

/// What an authorization request asks, once it is known to be valid.
#[derive(Clone, Debug)]
pub struct Request {
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scope: Scope,
    pub code_challenge: String,
    pub max_age: Option<i64>,
    /// `prompt=login`: a sign-in after the request, whatever session there is.
    pub fresh: bool,
    pub prompt_none: bool,
    pub ui_locale: Option<&'static str>,
    /// `acr_values` holds [`super::ACR_MFA`]: only a sign-in with two factors will do
    /// (step-up, RFC 9470) — a one-factor session is not reused, and the hosted sign-in asks
    /// for the second factor (or answers `MFA_REQUIRED` to a person without one).
    pub require_mfa: bool,
    /// `login_hint`, as sent (an email address or a number, at most 320 characters).
    pub login_hint: Option<String>,
}

/// Where the browser goes next: back to the app (a code or an error), or a page.
fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            res.headers_mut().insert(header::LOCATION, value);
            res
        }
        Err(_) => pages::error(&ApiError::new(ErrorCode::InvalidRedirectUri)),
    }
}

/// `redirect_uri` with `pairs` added to its query.
fn back_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return pages::error(&ApiError::new(ErrorCode::InvalidRedirectUri));
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    see_other(url.as_str())
}

/// An error sent back to the app: `error`, `error_description`, `state`, `iss`.
fn error_back(
    state: &AppState,
    redirect_uri: &str,
    app_state: Option<&str>,
    e: OAuthError,
) -> Response {
    let description = e.description();
    let issuer = super::issuer(state);
    let mut pairs = vec![
        ("error", e.kind.as_str()),
        ("error_description", description.as_str()),
    ];
    if let Some(s) = app_state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer.as_str()));
    let mut res = back_to(redirect_uri, &pairs);
    res.extensions_mut().insert(e.api.code);
    res
}

/// A code sent back to the app.
fn code_back(state: &AppState, request: &Request, code: &str) -> Response {
    let issuer = super::issuer(state);
    let mut pairs = vec![("code", code)];
    if let Some(s) = &request.state {
        pairs.push(("state", s.as_str()));
    }
    pairs.push(("iss", issuer.as_str()));
    back_to(&request.redirect_uri, &pairs)
}

/// The client and redirect URI of a request: any problem is a page, not a redirect.
async fn client_and_redirect(
    state: &AppState,
    params: &Params,
) -> Result<(Client, String), ApiError> {
    let unknown = || ApiError::new(ErrorCode::UnknownClientKey);
    let id = params
        .get("client_id")
        .and_then(client::parse_id)
        .ok_or_else(unknown)?;
    let client = client::find(&state.db, id).await?.ok_or_else(unknown)?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRedirectUri))?;
    if !client::redirect_allowed(redirect_uri, &client.redirect_urls) {
        return Err(ApiError::new(ErrorCode::InvalidRedirectUri));
    }
    let redirect_uri = redirect_uri.to_string();
    // A client that may not sign people in right now is not sent anyone back either.
    let client = admitted(std::sync::Arc::new(client), Grant::OauthCode).map_err(|e| e.api)?;
    Ok((Client::clone(&client), redirect_uri))
}

fn echo(params: &Params, name: &str) -> Result<Option<String>, OAuthError> {
    match params.get(name) {
        Some(v) if v.chars().count() > MAX_ECHO_CHARS => Err(OAuthError::invalid_request(format!(
            "{name} is longer than {MAX_ECHO_CHARS} characters."
        ))),
        v => Ok(v.map(str::to_owned)),
    }
}

/// Whether `challenge` is an S256 challenge: the base64url of a SHA-256 (43 characters).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The rest of the request, once the redirect URI can be trusted.
fn parse(client: &Client, redirect_uri: String, params: &Params) -> Result<Request, OAuthError> {
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(OAuthError::invalid_request(
                "The parameter response_type is missing.",
            ));
        }
        Some(_) => {
            return Err(OAuthError::of(
                Kind::UnsupportedResponseType,
                ErrorCode::UnsupportedGrantType,
            ));
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(OAuthError::invalid_request(
            "Only response_mode=query is supported.",
        ));
    }
    if params.get("request").is_some() || params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "Request objects (request, request_uri) are not supported.",
        ));
    }
    let scope = Scope::parse(params.get("scope").unwrap_or("openid"))
        .ok_or_else(|| OAuthError::of(Kind::InvalidScope, ErrorCode::InvalidScope))?;
    // PKCE: S256, for every client (RFC 9700 §2.1.1); `plain` would hand the verifier to
    // whoever reads the authorization request.
    let code_challenge = params.require("code_challenge")?.to_string();
    match params.get("code_challenge_method") {
        Some("S256") => {}
        _ => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256.",
            ));
        }
    }
    if !is_s256_challenge(&code_challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters).",
        ));
    }
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if prompts
        .iter()
        .any(|p| !matches!(*p, "none" | "login" | "consent" | "select_account"))
    {
        return Err(OAuthError::invalid_request(
            "prompt takes none, login, consent or select_account.",
        ));
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with another prompt.",
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<u32>()
                .map_err(|_| OAuthError::invalid_request("max_age must be a number of seconds."))?
                as i64,
        ),
    };
    let ui_locale = params.get("ui_locales").and_then(|tags| {
        tags.split(' ')
            .filter_map(crate::locale::from_tag)
            .next()
            .map(crate::locale::code)
    });
    Ok(Request {
        client_id: client.id,
        redirect_uri,
        state: echo(params, "state")?,
        nonce: echo(params, "nonce")?,
        scope,
        code_challenge,
        max_age,
        fresh: prompts.contains(&"login"),
        prompt_none,
        ui_locale,
        require_mfa: params
            .get("acr_values")
            .is_some_and(|values| values.split(' ').any(|v| v == super::ACR_MFA)),
        login_hint: params
            .get("login_hint")
            .map(str::trim)
            .filter(|h| h.chars().count() <= 320)
            .map(str::to_owned),
    })
}

/// Whether a sign-in at `auth_time` is fresh enough for `request` made at `asked_at`.
fn fresh_enough(request: &Request, auth_time: i64, asked_at: i64, now: i64) -> bool {
    let after_request = !request.fresh || auth_time >= asked_at;
    let within_max_age = request
        .max_age
        .is_none_or(|secs| now - auth_time <= secs * 1000);
    after_request && within_max_age
}

/// Whether `session` may answer `request` without a sign-in: fresh enough, and with two
/// factors when the request asks for them.
fn reusable(request: &Request, session: &SessionFacts, now: i64) -> bool {
    fresh_enough(request, session.auth_time(), now, now)
        && (!request.require_mfa || session.strong_at.is_some())
}

/// Stores a new code for `user`, signed in through `session`.
async fn issue_code(
    tx: &mut Tx<'_>,
    request: &Request,
    user_id: Uuid,
    session: &SessionFacts,
) -> Result<String, ApiError> {
    let code = secret::issue(CODE_PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO oidc_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce,
                   code_challenge, session_id, auth_time, amr, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(&code.hash)
        .bind(request.client_id)
        .bind(user_id)
        .bind(&request.redirect_uri)
        .bind(request.scope.to_string())
        .bind(&request.nonce)
        .bind(&request.code_challenge)
        .bind(session.id)
        .bind(session.auth_time())
        .bind(&session.amr)
        .bind(now)
        .bind(now + CODE_TTL_MS)
        .execute(c)
        .await
        .map(drop))?;
    Ok(code.plaintext)
}

/// `GET /oauth/authorize`.
pub async fn authorize_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    authorize(&state, &caller, query.unwrap_or_default().as_bytes()).await
}

/// `POST /oauth/authorize` (a form; OpenID Connect Core §3.1.2.1 allows both).
pub async fn authorize_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    authorize(&state, &caller, &body).await
}

async fn authorize(state: &AppState, caller: &Caller, input: &[u8]) -> Response {
    // A repeated parameter may be a repeated redirect_uri: no redirect can be trusted.
    let params = match Params::parse(input) {
        Ok(p) => p,
        Err(e) => return pages::error(&e.api),
    };
    let (client, redirect_uri) = match client_and_redirect(state, &params).await {
        Ok(found) => found,
        Err(e) => return pages::error(&e),
    };
    let app_state = params.get("state").map(str::to_owned);
    let request = match parse(&client, redirect_uri.clone(), &params) {
        Ok(r) => r,
        Err(e) => return error_back(state, &redirect_uri, app_state.as_deref(), e),
    };
    match start(state, caller, &client, &request).await {
        Ok(res) => res,
        Err(e) => error_back(state, &redirect_uri, app_state.as_deref(), e),
    }
}

/// Sends the person back with a code, or to the sign-in page.
async fn start(
    state: &AppState,
    caller: &Caller,
    client: &Client,
    request: &Request,
) -> Result<Response, OAuthError> {
    let now = now_ms();
    // `login_hint` names who should sign in: it fills the page's identifier, and a browser
    // signed in as someone else is not sent straight back as them.
    let hint = request
        .login_hint
        .as_deref()
        .and_then(|h| Identifier::parse(h, state.config.default_country_code).ok());
    if let Some((user, session)) = signed_in(state, caller).await?
        && reusable(request, &session, now)
        && hint.as_ref().is_none_or(|h| {
            [user.email.as_deref(), user.whatsapp.as_deref()].contains(&Some(h.as_str()))
        })
    {
        let mut tx = state.db.begin().await?;
        let code = issue_code(&mut tx, request, user.id, &session).await?;
        tx.commit().await?;
        return Ok(code_back(state, request, &code));
    }
    if request.prompt_none {
        return Err(OAuthError::of(
            Kind::LoginRequired,
            ErrorCode::LoginRequired,
        ));
    }
    // The hosted sign-in, on a login request of this client that comes back here.
    super::start_allowed(state, caller).await?;
    let id = Uuid::now_v7();
    let resume = format!("{}/oauth/authorize/resume?id={id}", super::issuer(state));
    let body = StartLoginBody {
        redirect_url: Some(resume),
        mode: Some(LoginMode::Login),
        locale: request.ui_locale.map(str::to_owned),
        device_info: None,
        require: request.require_mfa.then_some(crate::login::Require::Mfa),
    };
    let created = requests::create(
        crate::login::requests::LoginStarts::of(state),
        client.id,
        &body,
        &network(caller.ip),
        state.config.login_ttl_secs,
    )
    .await?;
    let login = requests::find(&state.db, &created.token)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError))?;
    let sql =
        "INSERT INTO oidc_authorizations (id, client_id, login_request_id, redirect_uri, state,
                   nonce, scope, code_challenge, max_age, fresh, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    let mut tx = state.db.begin().await?;
    with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(client.id)
        .bind(login.id)
        .bind(&request.redirect_uri)
        .bind(&request.state)
        .bind(&request.nonce)
        .bind(request.scope.to_string())
        .bind(&request.code_challenge)
        .bind(request.max_age)
        .bind(request.fresh)
        .bind(now)
        .bind(created.expires_at)
        .execute(c)
        .await
        .map(drop))?;
    tx.commit().await?;
    // The page speaks `ui_locales` through the login request's locale.
    let mut page = form_urlencoded::Serializer::new(String::new());
    page.append_pair("reqToken", &created.token);
    if let Some(hint) = &hint {
        page.append_pair("login_hint", hint.as_str());
    }
    Ok(see_other(&format!(
        "{}?{}",
        crate::paths::SIGN_IN,
        page.finish()
    )))
}

db_row! {
    struct Pending {
        client_id: Uuid,
        login_request_id: Uuid,
        redirect_uri: String,
        state: Option<String>,
        nonce: Option<String>,
        scope: String,
        code_challenge: String,
        max_age: Option<i64>,
        fresh: bool,
        created_at: i64,
        expires_at: i64,
        resumed_at: Option<i64>,
        user_id: Option<Uuid>,
        completed_at: Option<i64>,
    }
}

/// `GET /oauth/authorize/resume?id=`: where the hosted sign-in sends the browser once the
/// person completed it.
pub async fn resume(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    let stale = || ApiError::new(ErrorCode::FailedUpdateUserToken);
    let id = Params::parse(query.unwrap_or_default().as_bytes())
        .ok()
        .and_then(|p| p.get("id").and_then(|v| Uuid::parse_str(v).ok()));
    let Some(id) = id else {
        return pages::error(&stale());
    };
    let sql = "SELECT a.client_id, a.login_request_id, a.redirect_uri, a.state, a.nonce, a.scope,
                      a.code_challenge, a.max_age, a.fresh, a.created_at, a.expires_at, a.resumed_at,
                      r.user_id, r.completed_at
               FROM oidc_authorizations a JOIN login_requests r ON r.id = a.login_request_id
               WHERE a.id = $1";
    let pending: Option<Pending> = match with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(c)
        .await)
    {
        Ok(p) => p,
        Err(e) => return pages::error(&ApiError::from(e)),
    };
    let now = now_ms();
    let Some(p) = pending.filter(|p| p.resumed_at.is_none() && p.expires_at > now) else {
        return pages::error(&stale());
    };
    let request = Request {
        client_id: p.client_id,
        redirect_uri: p.redirect_uri.clone(),
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        scope: Scope::parse(&p.scope).unwrap_or(Scope(Vec::new())),
        code_challenge: p.code_challenge.clone(),
        max_age: p.max_age,
        fresh: p.fresh,
        prompt_none: false,
        ui_locale: None,
        // The login request enforced it: only a two-factor sign-in completed it.
        require_mfa: false,
        login_hint: None,
    };
    match finish(&state, &caller, id, &p, &request).await {
        Ok(res) => res,
        Err(e) if e.kind == Kind::InvalidClient => pages::error(&e.api),
        Err(e) => error_back(&state, &request.redirect_uri, request.state.as_deref(), e),
    }
}

async fn finish(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    p: &Pending,
    request: &Request,
) -> Result<Response, OAuthError> {
    // The client may have been suspended meanwhile.
    let client = client::find(&state.db, p.client_id)
        .await?
        .ok_or_else(|| OAuthError::of(Kind::InvalidClient, ErrorCode::UnknownClientKey))?;
    admitted(std::sync::Arc::new(client), Grant::OauthCode)
        .map_err(|e| OAuthError::new(Kind::InvalidClient, e.api))?;
    let (Some(completed_by), Some(completed_at)) = (p.user_id, p.completed_at) else {
        return Err(OAuthError::of(
            Kind::AccessDenied,
            ErrorCode::FailedUpdateUserToken,
        ));
    };
    // This browser, signed in as the person who completed the sign-in.
    let (user, session) = signed_in(state, caller)
        .await?
        .filter(|(u, _)| u.id == completed_by)
        .ok_or_else(|| OAuthError::of(Kind::LoginRequired, ErrorCode::LoginRequired))?;
    let now = now_ms();
    if !fresh_enough(request, session.auth_time(), p.created_at, now) {
        return Err(OAuthError::of(
            Kind::LoginRequired,
            ErrorCode::LoginRequired,
        ));
    }
    let mut tx = state.db.begin().await?;
    // Once: the login request's result is taken, as an app's poll takes it.
    let sql = "UPDATE oidc_authorizations SET resumed_at = $2 WHERE id = $1 AND resumed_at IS NULL";
    let won = with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if won != 1
        || !requests::mark_delivered(&mut tx, p.login_request_id).await?
        || !crate::tokens::collectable(&mut tx, user.id, completed_at).await?
    {
        return Err(OAuthError::of(
            Kind::AccessDenied,
            ErrorCode::FailedUpdateUserToken,
        ));
    }
    let code = issue_code(&mut tx, request, user.id, &session).await?;
    tx.commit().await?;
    Ok(code_back(state, request, &code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_s256_shaped_challenge_passes() {
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("short"));
        assert!(!is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }
}
