//! `/account/activity`'s forms (they work the same with JavaScript on: plain posts): end one
//! sign-in (a browser session or an app's), or every one. Each ends on the page again (or,
//! when the person ended this browser's own session, on the sign-in page). Also the
//! download of everything held about the person (`leaving`), and "this wasn't me", the link
//! of an alert (`activity::alerts`).

use crate::{
    activity::{Kind, alerts, record, record_sign_in, store},
    db::Tx,
    error::{ApiError, ErrorCode},
    login::{
        forms::{again, read, see_other},
        kit::FormEcho,
    },
    request::Caller,
    state::AppState,
    users::{
        identifier::Identifier,
        session,
        store::{self as users, UserRow},
    },
};
use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(crate::paths::ACTIVITY, post(activity))
        .route(crate::paths::EXPORT, get(export))
        .route(crate::paths::NOT_ME, post(not_me))
}

/// "This wasn't me" (the alert's link leads to its page, whose button posts here): everyone
/// is signed out, a recovery code goes to the alert's address, and the person lands on the
/// recovery page for it.
async fn not_me(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let token = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "token"))
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (parts, _) = read(req, &state).await;
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    match not_me_in(&state, &caller, &token).await {
        Ok(to) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("to", &to)
                .finish();
            see_other(
                &format!("{}?{query}", crate::paths::RECOVER),
                vec![session::clear_cookie(&state.config)],
            )
        }
        Err(error) => again(parts, FormEcho::error(error)).await,
    }
}

/// `GET /account/export`: the download of everything fypass holds about the person signed
/// in in this browser (a link on `/account`; from another site's page it is refused).
async fn export(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let caller = Caller::new(req.headers(), Some(peer), &state.config);
    match super::leaving::export(&state, &caller).await {
        Ok(document) => {
            let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"fypass-export.json\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn activity(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, fields) = read(req, &state).await;
    let fields = match fields {
        Ok(fields) => fields,
        Err(error) => {
            return again(parts, FormEcho::error(error)).await;
        }
    };
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    let outcome = match fields.intent.as_str() {
        "sign-out-everywhere" => super::flow::sign_out_everywhere(&state, &caller)
            .await
            .map(|cookie| see_other(crate::paths::SIGN_IN, vec![cookie])),
        _ => end_one(&state, &caller, &fields.target)
            .await
            .map(|ended_here| {
                if ended_here {
                    see_other(
                        crate::paths::SIGN_IN,
                        vec![session::clear_cookie(&state.config)],
                    )
                } else {
                    see_other(
                        &format!("{}?done=ended#signed-in", crate::paths::ACTIVITY),
                        Vec::new(),
                    )
                }
            }),
    };
    match outcome {
        Ok(res) => res,
        Err(error) => again(parts, FormEcho::error(error)).await,
    }
}

/// Ends the signed-in person's sign-in `target`; whether it was this browser's session.
pub async fn end_one(state: &AppState, caller: &Caller, target: &str) -> Result<bool, ApiError> {
    let user =
        session::require_change(state, caller, crate::tr!(account.msg.sign_in_first)).await?;
    let here = store::signed_in(state, caller, user.id)
        .await?
        .into_iter()
        .any(|s| s.current && s.id == target);
    let mut tx = state.db.begin().await?;
    store::end(&mut tx, user.id, target).await?;
    record(&mut tx, caller, user.id, Kind::SessionEnded, None).await?;
    tx.commit().await?;
    Ok(here)
}

/// How the entries of a "this wasn't me" link say it happened (`activity.how.not_me`).
const NOT_ME: &str = "not_me";

/// "This wasn't me": spends the link `token` and locks everyone out of its account — every
/// session signed out, every token revoked, every remembered browser forgotten — and sends a
/// recovery code to the address the alert went to, which it returns (for the recovery page).
/// The link only ever acts on the account it was made for.
///
/// When that address is no longer the account's (someone replaced it since the alert was
/// sent, or that was what the alert was about), it is the account's again, verified, and
/// whatever replaced it is gone: the code never goes to an address the intruder chose. When
/// another account holds it now, that account is left alone and no code goes anywhere: the
/// lock-out and the removal stand, and the answer (`DUPLICATE_KEY`) says so.
///
/// An identifier of the other kind verified since the link was made (the moment of the
/// alert) goes as well: through it whoever got in could recover the account again. So does
/// a second factor turned on since (`users::factor::remove_set_up_since`); one the person
/// had before stays.
async fn not_me_in(state: &AppState, caller: &Caller, token: &str) -> Result<String, ApiError> {
    session::check_origin(caller, &state.config)?;
    let mut tx = state.db.begin().await?;
    let Some(alerts::Spent { user, to, made_at }) = alerts::spend_link(&mut tx, token).await?
    else {
        return Err(ApiError::with_message(
            ErrorCode::CodeExpired,
            crate::tr!(activity.not_me.gone),
        ));
    };
    crate::tokens::revoke_for_user(&mut tx, user.id, None).await?;
    session::revoke_all(&mut tx, user.id).await?;
    session::forget_browsers(&mut tx, user.id).await?;
    record_sign_in(
        &mut tx,
        caller,
        user.id,
        Kind::SignedOutEverywhere,
        NOT_ME,
        None,
    )
    .await?;
    // An identifier verified since the link was made may be the intruder's, added to recover
    // the account through it later (the one of `to`'s kind is `give_back`'s).
    if users::remove_other_verified_since(&mut tx, user.id, &to, made_at).await? {
        record_sign_in(
            &mut tx,
            caller,
            user.id,
            Kind::IdentifierRemoved,
            NOT_ME,
            None,
        )
        .await?;
    }
    // So may a second factor: after recovering, the person would be stuck at a second step
    // someone else set up.
    if crate::users::factor::remove_set_up_since(&mut tx, user.id, made_at).await? {
        record_sign_in(&mut tx, caller, user.id, Kind::FactorRemoved, NOT_ME, None).await?;
    }
    if !user.claims(&to) && !give_back(&mut tx, caller, &user, &to).await? {
        tx.commit().await?;
        return Err(ApiError::with_message(
            ErrorCode::DuplicateKey,
            crate::tr!(activity.not_me.held, address = to.as_str()).to_string(),
        ));
    }
    crate::codes::flow::send_recovery_in(&mut tx, &to, &user).await?;
    tx.commit().await?;
    state.courier.wake();
    Ok(to.as_str().to_string())
}

/// Makes `to` `user`'s verified identifier of its kind again, in place of whatever replaced
/// it — unless another account holds it now (`false`): then only the one that replaced it
/// goes. `user`'s row is locked (`alerts::spend_link`).
async fn give_back(
    tx: &mut Tx<'_>,
    caller: &Caller,
    user: &UserRow,
    to: &Identifier,
) -> Result<bool, ApiError> {
    let held = users::find_by_identifier_in(tx, to)
        .await?
        .is_some_and(|holder| holder.id != user.id);
    if held {
        if user.of_kind(to).is_none() {
            return Ok(false);
        }
        users::remove_of_kind(tx, user.id, to).await?;
    } else {
        users::verify_identifier(tx, user.id, to, true).await?;
    }
    record_sign_in(tx, caller, user.id, Kind::IdentifierChanged, NOT_ME, None).await?;
    Ok(!held)
}
