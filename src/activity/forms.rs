//! `/account/activity`'s forms (they work the same with JavaScript on: plain posts): end one
//! sign-in (a browser session or an app's), or every one. Each ends on the page again (or,
//! when the person ended this browser's own session, on the sign-in page).

use crate::{
    login::{
        forms::{again, read, see_other},
        kit::FormEcho,
    },
    request::Caller,
    state::AppState,
    users::session,
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
        .route("/account/activity", post(activity))
        .route("/account/export", get(export))
        .route("/fypass/not-me", post(not_me))
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
    match super::alerts::not_me(&state, &caller, &token).await {
        Ok(to) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("to", &to)
                .finish();
            see_other(
                &format!("/fypass/recover?{query}"),
                vec![session::clear_cookie(&state.config)],
            )
        }
        Err(error) => {
            let echo = FormEcho {
                error: Some(error),
                ..Default::default()
            };
            again(parts, echo).await
        }
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
            let echo = FormEcho {
                error: Some(error),
                ..Default::default()
            };
            return again(parts, echo).await;
        }
    };
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    let outcome = match fields.intent.as_str() {
        "sign-out-everywhere" => crate::account::flow::sign_out_everywhere(&state, &caller)
            .await
            .map(|cookie| see_other("/fypass", vec![cookie])),
        _ => end_one(&state, &caller, &fields.target)
            .await
            .map(|ended_here| {
                if ended_here {
                    see_other("/fypass", vec![session::clear_cookie(&state.config)])
                } else {
                    see_other("/account/activity?done=ended#signed-in", Vec::new())
                }
            }),
    };
    match outcome {
        Ok(res) => res,
        Err(error) => {
            let echo = FormEcho {
                error: Some(error),
                ..Default::default()
            };
            again(parts, echo).await
        }
    }
}

/// Ends the signed-in person's sign-in `target`; whether it was this browser's session.
pub async fn end_one(
    state: &AppState,
    caller: &Caller,
    target: &str,
) -> Result<bool, crate::error::ApiError> {
    let user =
        session::require_change(state, caller, crate::tr!(account.msg.sign_in_first)).await?;
    let here = super::store::signed_in(state, caller, user.id)
        .await?
        .into_iter()
        .any(|s| s.current && s.id == target);
    let mut tx = state.db.begin().await?;
    super::store::end(&mut tx, user.id, target).await?;
    super::record(&mut tx, caller, user.id, super::Kind::SessionEnded, None).await?;
    tx.commit().await?;
    Ok(here)
}
