//! The rules of the login flow. The server functions (JSON) and the plain-HTML form
//! handlers (`forms`) both call these, so each rule is written once.

use super::{
    Completion, ConfirmBody, FypassUrl, LoginBody, LoginMode, LoginStatus, LoginStatusReply,
    MAX_LOCALE_CHARS, MAX_NAME_CHARS, MAX_URL_CHARS, PageContext, RegisterBody, RequestView,
    StartLoginBody,
    requests::{self, LoginRequestRow},
    throttle,
};
use crate::{
    clients::store::Client,
    config::{Config, Verification},
    db::{now_ms, rfc3339},
    devices::check_text,
    error::{ApiError, ErrorCode},
    factors::Proof,
    password,
    request::Caller,
    state::AppState,
    status::Status,
    throttle::{network, take},
    users::{
        identifier::{Email, Identifier, WhatsappNumber},
        session,
        store::{self as users, NewUser, UserRow},
    },
};
use axum::http::HeaderValue;

/// A completed login or registration: the reply, and the cookies to set (the browser
/// session, and the browser cookie that remembers a successful sign-in).
pub(crate) struct Done {
    pub completion: Completion,
    pub cookies: Vec<HeaderValue>,
}

/// The account if `password` is its password: one check (or one against a dummy hash when
/// there is no account, so an unknown identifier costs the same).
async fn check_password(
    state: &AppState,
    account: Option<&UserRow>,
    password: String,
) -> Result<Option<UserRow>, ApiError> {
    let hash = account.map(|u| u.password_hash.clone());
    let right = state.passwords.verify(password, hash).await?;
    Ok(account.filter(|_| right).cloned())
}

pub(crate) fn record(outcome: &'static str) {
    metrics::counter!("fypass_logins_total", "outcome" => outcome).increment(1);
}

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
        interval: super::POLL_INTERVAL_SECS,
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
fn confirmed(
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
fn needs_confirmation(state: &AppState, caller: &Caller, request: &LoginRequestRow) -> bool {
    let held = caller.cookie(confirmation_cookie(&state.config));
    request.needs_confirmation(&network(caller.ip), held)
}

/// The cookie in which a browser holds its confirmation of a user code
/// ([`LoginRequestRow::confirmation`]).
fn confirmation_cookie(config: &Config) -> &'static str {
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

fn page_url(config: &Config, mode: LoginMode, token: &str) -> String {
    let page = match mode {
        LoginMode::Login => "/fypass",
        LoginMode::Register => "/fypass/register",
    };
    format!("{}{page}?reqToken={token}", config.public_origin())
}

/// A redirect URL must start with one of the client's, and not merely share a prefix
/// with it: `https://app.example.com` does not admit `https://app.example.com.evil.net`.
fn check_redirect(url: &str, allowed: &[String]) -> Result<(), String> {
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

/// The hosted login: reqToken, then input, then the brute-force budget, then the person
/// and their password, then their status (the order `/docs/api` gives for this route).
pub async fn login(state: &AppState, caller: &Caller, body: LoginBody) -> Result<Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = match body.req_token.as_deref() {
        Some(token) => Some(open_for(state, caller, token).await?),
        None => None,
    };
    let identifier = Identifier::parse(&body.identifier, state.config.default_country_code)
        .map_err(|m| ApiError::invalid("identifier", m))?;
    if body.password.is_empty() {
        return Err(ApiError::invalid(
            "password",
            crate::tr!(common.field.required),
        ));
    }
    if body.password.chars().count() > password::MAX_CHARS {
        return Err(ApiError::invalid(
            "password",
            crate::tr!(common.field.at_most_chars, n = password::MAX_CHARS),
        ));
    }

    // The one account that has the identifier (verified or not).
    let holder = users::find_by_identifier(&state.db, &identifier).await?;
    // One counter per person, whichever of their identifiers was typed.
    let (account, trusted) = match &holder {
        Some(one) => (
            format!("user:{}", one.id),
            session::trusted_browser(state, caller, one.id).await?,
        ),
        None => (format!("identifier:{identifier}"), None),
    };
    let network = network(caller.ip);
    let counters = throttle::sign_in(
        &throttle::Attempt {
            account: &account,
            network: &network,
            trusted_browser: trusted.as_deref(),
        },
        &state.config.limits,
    );
    let attempt = take(&state.db, &counters).await.inspect_err(|e| {
        if e.is(ErrorCode::TooManyRequests) {
            record("throttled");
        }
    })?;
    let user = match check_password(state, holder.as_ref(), body.password).await {
        Ok(user) => user,
        Err(busy) => {
            // Refused before any evaluation: the attempt must not count.
            attempt.give_back(&state.db).await?;
            return Err(busy);
        }
    };
    let user = match user {
        Some(user) => user,
        None if holder.is_none() => {
            record("user_not_found");
            return Err(if state.config.hide_user_existence {
                ApiError::new(ErrorCode::InvalidPassword)
            } else {
                ApiError::new(ErrorCode::UserNotFound)
            });
        }
        None => {
            record("invalid_password");
            if let Some(holder) = &holder {
                crate::activity::store::record_alone(
                    &state.db,
                    caller,
                    holder.id,
                    crate::activity::Kind::SignInFailed,
                    "password",
                    request.as_ref(),
                )
                .await?;
            }
            return Err(ApiError::new(ErrorCode::InvalidPassword));
        }
    };
    // The right password is not a guess: give the attempt back before anything else.
    let mut tx = state.db.begin().await?;
    attempt.refund(&mut tx).await?;
    if let Some(code) = users::refusal(user.status()) {
        tx.commit().await?;
        record("user_not_active");
        return Err(ApiError::new(code));
    }
    finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::LoggedIn,
        "logged_in",
        Proof::Password,
    )
    .await
}

/// Completes the login request (if any) for `user`, who just proved who they are in this
/// browser (`proof`): starts their session and remembers the browser. A registration also
/// sends a verification code to each identifier (unless verification is off); with
/// verification required, a person without a verified identifier gets codes and a `PENDING`
/// reply, and the request waits until they verify one (then "Continue as" completes it).
///
/// One factor is not enough for a person who has a second one: they get no session yet, but
/// a waiting second step (`factors::step`) and a reply that asks for it. Nor for a request
/// that asks for a strong sign-in (`"require": "mfa"`) when the person has no second
/// factor: `MFA_REQUIRED`, after `tx` is committed (what the proof already did stands: a
/// recovery's new password, a counter's place given back).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish(
    state: &AppState,
    caller: &Caller,
    mut tx: crate::db::Tx,
    request: Option<&LoginRequestRow>,
    user: &UserRow,
    outcome: LoginStatus,
    metric: &'static str,
    proof: Proof,
) -> Result<Done, ApiError> {
    // `user` as read when they proved who they are: nothing may start for them if they
    // were signed out everywhere since (a recovery of the account, say).
    users::hold(&mut tx, user).await?;
    if !proof.is_strong() {
        if crate::factors::store::has_factor(&mut tx, user.id).await? {
            let cookie = crate::factors::step::begin(
                &mut tx,
                &state.config,
                user.id,
                request.map(|r| r.id),
                proof,
            )
            .await?;
            tx.commit().await?;
            record("second_factor_asked");
            return Ok(Done {
                completion: Completion {
                    status: LoginStatus::Pending,
                    redirect_url: None,
                    verify: Vec::new(),
                    second_factor: true,
                },
                cookies: vec![cookie],
            });
        }
        if request.is_some_and(|r| r.require_mfa) {
            tx.commit().await?;
            record("mfa_required");
            return Err(ApiError::new(ErrorCode::MfaRequired));
        }
    }
    let completion = complete_verified(state, &mut tx, request, user, outcome).await?;
    // How the person proved who they are, for an ID token of this session (RFC 8176).
    let amr = match metric {
        "code" | "recovered" => "otp",
        "passkey" => "hwk",
        _ => "pwd",
    };
    // A sign-in from a browser that never signed in to this account before: tell the person.
    if proof != Proof::Registration
        && session::trusted_browser(state, caller, user.id)
            .await?
            .is_none()
    {
        crate::activity::alerts::send(
            &mut tx,
            &state.config,
            caller,
            user,
            crate::activity::alerts::Alert::NewBrowser,
        )
        .await?;
    }
    let cookies = vec![
        session::start_by(
            &mut tx,
            &state.config,
            user.id,
            request.map(|r| r.client_id),
            Some(amr),
            proof.is_strong(),
        )
        .await?,
        session::remember_browser(&mut tx, &state.config, caller, user.id).await?,
    ];
    crate::activity::record_sign_in(
        &mut tx,
        caller,
        user.id,
        crate::activity::Kind::SignedIn,
        proof.as_str(),
        request,
    )
    .await?;
    commit(state, tx, metric).await?;
    Ok(Done {
        completion,
        cookies,
    })
}

/// Commits a completion and counts it under `metric` (`fypass_logins_total`); verification
/// codes and alerts written with it are sent now rather than at the courier's next round.
async fn commit(state: &AppState, tx: crate::db::Tx, metric: &'static str) -> Result<(), ApiError> {
    tx.commit().await?;
    // Verification codes or an alert may wait in the outbox.
    state.courier.wake();
    record(metric);
    Ok(())
}

/// Completes the login request (if any) for `user`, as far as verification allows.
async fn complete_verified(
    state: &AppState,
    tx: &mut crate::db::Tx,
    request: Option<&LoginRequestRow>,
    user: &UserRow,
    outcome: LoginStatus,
) -> Result<Completion, ApiError> {
    let mode = state.config.verification();
    let must_verify = mode == Verification::Required && !user.has_verified();
    let verify = if must_verify || (outcome == LoginStatus::Registered && mode != Verification::Off)
    {
        crate::onetime::send_verification(tx, user, &state.config.limits).await?
    } else {
        Vec::new()
    };
    if must_verify {
        return Ok(Completion {
            status: LoginStatus::Pending,
            redirect_url: None,
            verify,
            second_factor: false,
        });
    }
    let mut completion = complete(state, tx, request, user, outcome).await?;
    completion.verify = verify;
    Ok(completion)
}

/// Completes the login request (if any) for `user`.
async fn complete(
    state: &AppState,
    tx: &mut crate::db::Tx,
    request: Option<&LoginRequestRow>,
    user: &UserRow,
    outcome: LoginStatus,
) -> Result<Completion, ApiError> {
    let Some(request) = request else {
        return Ok(Completion {
            status: outcome,
            redirect_url: None,
            verify: Vec::new(),
            second_factor: false,
        });
    };
    let device_id = match &request.device() {
        Some(info) => {
            crate::devices::store::save_for_login(tx, request.client_id, user.id, info).await?
        }
        None => None,
    };
    requests::complete(
        tx,
        request.id,
        user.id,
        outcome,
        device_id,
        state.config.login_ttl_secs,
    )
    .await?;
    Ok(Completion {
        status: outcome,
        redirect_url: request.redirect_url.clone(),
        verify: Vec::new(),
        second_factor: false,
    })
}

/// The hosted registration: reqToken, then every field checked at once, then the
/// registration budget, then whether the email address or number is taken (after the
/// budget, so one network cannot test any number of addresses for accounts), then the
/// account.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    body: RegisterBody,
) -> Result<Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = match body.req_token.as_deref() {
        Some(token) => Some(open_for(state, caller, token).await?),
        None => None,
    };
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (email, whatsapp) = (present(&body.email), present(&body.whatsapp));
    let mut invalid: Vec<(&str, String)> = Vec::new();
    let name = body.name.trim();
    if let Err(m) = check_text(name, MAX_NAME_CHARS) {
        invalid.push((
            "name",
            if name.is_empty() {
                "is required".into()
            } else {
                m
            },
        ));
    }
    let email = email
        .map(|e| Email::parse(&e))
        .transpose()
        .unwrap_or_else(|m| {
            invalid.push(("email", m));
            None
        });
    let whatsapp = whatsapp
        .map(|w| WhatsappNumber::parse(&w, state.config.default_country_code))
        .transpose()
        .unwrap_or_else(|m| {
            invalid.push(("whatsapp", m));
            None
        });
    if present(&body.email).is_none() && present(&body.whatsapp).is_none() {
        invalid.push(("email", "give an email address or a WhatsApp number".into()));
        invalid.push((
            "whatsapp",
            "give a WhatsApp number or an email address".into(),
        ));
    }
    if let Err(m) = password::check_new(&body.password) {
        invalid.push(("password", m));
    }
    ApiError::check_fields(invalid)?;
    let new = NewUser {
        name,
        email: email.as_ref().map(Email::as_str),
        whatsapp: whatsapp.as_ref().map(WhatsappNumber::as_str),
        password_hash: "",
    };
    let identifiers: Vec<&str> = [new.email, new.whatsapp].into_iter().flatten().collect();
    let counters = throttle::registration(
        &network(caller.ip),
        state.config.registrations_per_hour,
        &state.config.limits,
        &identifiers,
    );
    // A refused attempt keeps its place: asking whether an address is taken is what the
    // budget is for.
    let attempt = take(&state.db, &counters).await?;
    // Taken identifiers are refused before any hashing (the insert checks again).
    users::check_free(&state.db, &new).await?;
    // Hash before the transaction: it is slow, and the transaction holds the write lock.
    let password_hash = match state.passwords.hash(body.password).await {
        Ok(hash) => hash,
        Err(busy) => {
            attempt.give_back(&state.db).await?;
            return Err(busy);
        }
    };
    let mut tx = state.db.begin().await?;
    let user = users::insert(
        &mut tx,
        NewUser {
            password_hash: &password_hash,
            ..new
        },
    )
    .await?;
    finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::Registered,
        "registered",
        Proof::Registration,
    )
    .await
}

/// "Continue as …": completes the request as the person signed in in this browser.
pub async fn continue_as(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<Completion, ApiError> {
    let user = session::require_change(
        state,
        caller,
        "Sign in first: this browser has no fypass session.",
    )
    .await?;
    let request = open_for(state, caller, token).await?;
    if request.require_mfa && !session::is_strong(state, caller).await? {
        return Err(ApiError::new(ErrorCode::MfaRequired));
    }
    let mut tx = state.db.begin().await?;
    // The session was live when read; not if it was ended since with everything else.
    users::hold(&mut tx, &user).await?;
    let completion =
        complete_verified(state, &mut tx, Some(&request), &user, LoginStatus::LoggedIn).await?;
    commit(state, tx, "continued").await?;
    Ok(completion)
}

/// What the login / register page shows for `token` (which must be pending, its app
/// active).
pub async fn page_context(
    state: &AppState,
    caller: &Caller,
    token: Option<&str>,
) -> Result<PageContext, ApiError> {
    let signed_in = session::current(state, caller).await?.map(|u| u.view());
    let request = match token {
        Some(token) => {
            let row = requests::open(&state.db, token).await?;
            Some(view_of(state, Some(caller), &row, token))
        }
        None => None,
    };
    Ok(PageContext {
        request,
        signed_in,
        passkeys: state.webauthn.is_some(),
    })
}

/// A request as its person may see it; an unknown token is `FAILED_UPDATE_USER_TOKEN`.
pub async fn request_view(state: &AppState, token: &str) -> Result<RequestView, ApiError> {
    let request = requests::find(&state.db, token)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::FailedUpdateUserToken))?;
    Ok(view_of(state, None, &request, token))
}

/// `request` as `caller` (when known) may see it.
pub(crate) fn view_of(
    state: &AppState,
    caller: Option<&Caller>,
    request: &LoginRequestRow,
    token: &str,
) -> RequestView {
    let status = request.status(now_ms());
    let device_name = request.device().map(|d| {
        d.device_name
            .or(d.model)
            .unwrap_or_else(|| d.platform.name().to_string())
    });
    RequestView {
        client_name: request.client_name.clone(),
        device_name,
        user_code: request.user_code_display(),
        needs_confirmation: caller.is_some_and(|c| needs_confirmation(state, c, request)),
        mode: request.mode(),
        status,
        redirect_url: request.redirect_url.clone().filter(|_| status.is_done()),
        fypass_url: page_url(&state.config, request.mode(), token),
    }
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
