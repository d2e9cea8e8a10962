//! What an app's login request goes through before and after its person: starting it,
//! opening it in a browser (and confirming its user code there when the browser is on
//! another network), and its status as the app polls it.

use crate::login::{
    ConfirmBody, FypassUrl, LoginMode, LoginStatus, LoginStatusReply, MAX_LOCALE_CHARS,
    MAX_URL_CHARS, StartLoginBody,
    requests::{self, LoginRequestRow},
};
use crate::{
    clients::store::Client,
    config::Config,
    db::{now_ms, rfc3339},
    devices::check_text,
    error::{ApiError, ErrorCode},
    request::Caller,
    state::AppState,
    status::Status,
    throttle::network,
    users::{
        session,
        store::{self as users},
    },
};
use axum::http::HeaderValue;

/// Starts a login request for `client`, called by `caller` (whose network is where the
/// request was started).
pub async fn start(
    state: &AppState,
    caller: &Caller,
    client: &Client,
    body: StartLoginBody,
) -> Result<FypassUrl, ApiError> {
    let mut problems: Vec<(String, String)> = Vec::new();
    if let Some(url) = &body.redirect_url
        && let Err(m) = check_redirect(url, &client.redirect_urls)
    {
        problems.push(("redirectUrl".into(), m));
    }
    if let Some(locale) = &body.locale
        && let Err(m) = check_text(locale, MAX_LOCALE_CHARS)
    {
        problems.push(("locale".into(), m));
    }
    if let Some(Err(e)) = body.device_info.as_ref().map(|d| d.validate("deviceInfo.")) {
        problems.extend(e.details.into_iter().map(|d| (d.field, d.message)));
    }
    ApiError::check_fields(problems)?;
    let mode = body.mode.unwrap_or_default();
    let created = requests::create(
        requests::LoginStarts::of(state),
        client.id,
        &body,
        &network(caller.ip),
        state.config.login_ttl_secs,
    )
    .await?;
    Ok(FypassUrl {
        url: page_url(&state.config, mode, &created.token),
        req_token: created.token,
        user_code: requests::display_user_code(&created.user_code),
        expires_at: rfc3339(created.expires_at),
        interval: crate::login::POLL_INTERVAL_SECS,
    })
}

/// The request `token`, open for completion by this caller: pending, its app active, and
/// its user code confirmed in this browser when the caller is not where the request was
/// started. Every path that completes a request (or sends a code for one) opens it here.
pub(crate) async fn open_for(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<LoginRequestRow, ApiError> {
    confirmed(state, caller, requests::open(&state.db, token).await?)
}

/// As [`open_for`], for the request with row id `id` (a passkey ceremony remembers it).
pub(crate) async fn open_for_id(
    state: &AppState,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<LoginRequestRow, ApiError> {
    confirmed(state, caller, requests::open_id(&state.db, id).await?)
}

/// `request`, unless `caller` must first confirm its user code.
pub(super) fn confirmed(
    state: &AppState,
    caller: &Caller,
    request: LoginRequestRow,
) -> Result<LoginRequestRow, ApiError> {
    if needs_confirmation(state, caller, &request) {
        return Err(ApiError::with_message(
            ErrorCode::InvalidCode,
            crate::tr!(login.msg.confirm_first),
        ));
    }
    Ok(request)
}

/// The one rule: whether `caller`'s browser must confirm `request`'s user code (it is on
/// another network than the one that started it, and holds no confirmation of its own).
pub(super) fn needs_confirmation(
    state: &AppState,
    caller: &Caller,
    request: &LoginRequestRow,
) -> bool {
    let held = caller.cookie(confirmation_cookie(&state.config));
    request.needs_confirmation(&network(caller.ip), held)
}

/// The cookie in which a browser holds its confirmation of a user code
/// ([`LoginRequestRow::confirmation`]).
pub(super) fn confirmation_cookie(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-fypass_confirm"
    } else {
        "fypass_confirm"
    }
}

/// The person confirms, in their browser, that the device that asked shows the request's
/// user code: the `Set-Cookie` of that browser's confirmation, for as long as the request
/// is open. Confirming counts for the browser that did it, never for the request as such.
pub async fn confirm(
    state: &AppState,
    caller: &Caller,
    body: &ConfirmBody,
) -> Result<HeaderValue, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = requests::open(&state.db, &body.req_token).await?;
    if !requests::confirm(&state.db, request.id, &body.user_code).await? {
        return Err(ApiError::with_message(
            ErrorCode::InvalidCode,
            crate::tr!(login.msg.wrong_code),
        ));
    }
    let lifetime_secs = ((request.expires_at - now_ms()) / 1000).max(1);
    Ok(session::cookie(
        confirmation_cookie(&state.config),
        &state.config,
        &request.confirmation(),
        lifetime_secs,
    ))
}

pub(super) fn page_url(config: &Config, mode: LoginMode, token: &str) -> String {
    let page = match mode {
        LoginMode::Login => crate::paths::SIGN_IN,
        LoginMode::Register => crate::paths::REGISTER,
    };
    format!("{}{page}?reqToken={token}", config.public_origin())
}

/// A redirect URL must start with one of the client's, and not merely share a prefix
/// with it: `https://app.example.com` does not admit `https://app.example.com.evil.net`.
pub(super) fn check_redirect(url: &str, allowed: &[String]) -> Result<(), String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(crate::tr!(common.field.at_most_chars, n = MAX_URL_CHARS));
    }
    let fits = allowed.iter().any(|prefix| {
        url.strip_prefix(prefix.as_str()).is_some_and(|rest| {
            rest.is_empty() || prefix.ends_with('/') || rest.starts_with(['/', '?', '#'])
        })
    });
    if fits {
        Ok(())
    } else if allowed.is_empty() {
        Err(crate::tr!(api.no_redirect_urls).into())
    } else {
        Err(crate::tr!(
            api.redirect_prefix,
            allowed = allowed.join(", ")
        ))
    }
}

/// The status of a request for the app that created it; hands out the access token on the
/// first poll after completion, exactly once even to concurrent polls.
pub async fn status(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<LoginStatusReply, ApiError> {
    let unknown = || {
        ApiError::with_message(
            ErrorCode::InvalidObjectId,
            crate::tr!(api.req_token_unknown),
        )
    };
    let request = requests::find(&state.db, token)
        .await?
        .filter(|r| r.client_id == client.id)
        .ok_or_else(unknown)?;
    let status = request.status(now_ms());
    let mut reply = LoginStatusReply {
        status,
        expires_at: rfc3339(request.expires_at),
        user: None,
        access_token: None,
        access_token_expires_at: None,
        refresh_token: None,
        refresh_token_expires_at: None,
    };
    let (true, None, Some(user_id)) = (status.is_done(), request.delivered_at, request.user_id)
    else {
        return Ok(reply);
    };
    // Read before the transaction: holding its connection while asking the pool for
    // another could exhaust the pool under concurrent polls.
    let user = users::find(&state.db, user_id).await?;
    let mut tx = state.db.begin().await?;
    // Signed out everywhere since (a new password, a recovery, a status change): this
    // sign-in is void, as if never collected in time.
    let completed_at = request.completed_at.unwrap_or_default();
    if !crate::tokens::collectable(&mut tx, user_id, completed_at).await? {
        reply.status = LoginStatus::Expired;
        return Ok(reply);
    }
    if !requests::mark_delivered(&mut tx, request.id).await? {
        return Ok(reply); // another poll took it
    }
    if let Some(user) = user.filter(|u| u.status() == Status::Active) {
        let pair = crate::tokens::start_family(
            &mut tx,
            &state.config,
            user.id,
            client.id,
            request.device_id,
        )
        .await?;
        reply.user = Some(user.view());
        reply.access_token = Some(pair.access_token);
        reply.access_token_expires_at = Some(pair.access_token_expires_at);
        reply.refresh_token = Some(pair.refresh_token);
        reply.refresh_token_expires_at = Some(pair.refresh_token_expires_at);
    }
    tx.commit().await?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::check_redirect;

    #[test]
    fn redirect_urls_must_extend_a_registered_one_at_a_boundary() {
        let allowed = vec![
            "https://app.example.com".to_string(),
            "com.example.app:/".to_string(),
        ];
        for ok in [
            "https://app.example.com",
            "https://app.example.com/done",
            "https://app.example.com?x=1",
            "com.example.app:/callback",
        ] {
            assert!(check_redirect(ok, &allowed).is_ok(), "{ok}");
        }
        for bad in [
            "https://app.example.com.evil.net/",
            "https://app.example.comx",
            "https://evil.net/https://app.example.com",
        ] {
            assert!(check_redirect(bad, &allowed).is_err(), "{bad}");
        }
        assert!(check_redirect("https://x.example", &[]).is_err());
    }
}
