//! The code pages without JavaScript: a plain `POST` to the page's own URL runs the same
//! rules as the server functions (`flow`), then redirects (303) to the next page, or
//! renders the page again with the error.

use super::{CodeLoginBody, RecoveryCompleteBody, SendCodeBody, VerifyBody, flow};
use crate::onetime::store::Purpose;
use crate::{
    error::ApiError,
    login::{
        LoginStatus,
        forms::{Fields, again, read, req_token, see_other},
        kit::{FormEcho, after, next_page},
    },
    request::Caller,
    state::AppState,
};
use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::request::Parts,
    response::Response,
    routing::post,
};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(crate::paths::RECOVER, post(recover))
        .route(crate::paths::CODE, post(code))
        .route(crate::paths::VERIFY, post(verify))
}

/// The page's URL with `to` set to `identifier` (its second step).
fn second_step(parts: &Parts, token: Option<&str>, identifier: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(token) = token {
        query.append_pair("reqToken", token);
    }
    query.append_pair("to", identifier);
    format!("{}?{}", parts.uri.path(), query.finish())
}

async fn recover(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    two_steps(state, peer, req, Purpose::Recovery).await
}

async fn code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    two_steps(state, peer, req, Purpose::SignIn).await
}

/// Sending a code (`intent=send`), then using it.
async fn two_steps(state: AppState, peer: SocketAddr, req: Request, purpose: Purpose) -> Response {
    let (parts, fields) = read(req, &state).await;
    let fields = match fields {
        Ok(fields) => fields,
        Err(error) => return failed(parts, error, String::new()).await,
    };
    let token = req_token(&parts, &fields);
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    let Fields {
        intent,
        identifier,
        code,
        new_password,
        ..
    } = fields;
    if intent == "send" {
        let body = SendCodeBody {
            req_token: token.clone(),
            identifier: identifier.clone(),
        };
        return match flow::send(&state, &caller, purpose, &body).await {
            Ok(_) => see_other(
                &second_step(&parts, token.as_deref(), &identifier),
                Vec::new(),
            ),
            Err(error) => failed(parts, error, identifier).await,
        };
    }
    let done = match purpose {
        Purpose::Recovery => {
            let body = RecoveryCompleteBody {
                req_token: token.clone(),
                identifier: identifier.clone(),
                code,
                new_password,
            };
            flow::complete_recovery(&state, &caller, body).await
        }
        _ => {
            let body = CodeLoginBody {
                req_token: token.clone().unwrap_or_default(),
                identifier: identifier.clone(),
                code,
            };
            flow::code_login(&state, &caller, body).await
        }
    };
    match done {
        Ok(done) => see_other(&after(&done.completion, token.as_deref()), done.cookies),
        Err(error) => failed(parts, error, identifier).await,
    }
}

async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, fields) = read(req, &state).await;
    let fields = match fields {
        Ok(fields) => fields,
        Err(error) => return failed(parts, error, String::new()).await,
    };
    let token = req_token(&parts, &fields);
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    let body = VerifyBody {
        identifier: fields.identifier.clone(),
        code: fields.code,
    };
    if let Err(error) = flow::verify(&state, &caller, body).await {
        return failed(parts, error, fields.identifier).await;
    }
    // A request still waiting for a verified person completes now, as "Continue as" would.
    if let Some(token) = token.as_deref()
        && let Ok(view) = crate::login::flow::request_view(&state, token).await
        && view.status == LoginStatus::Pending
    {
        return match crate::login::flow::continue_as(&state, &caller, token).await {
            Ok(completion) => see_other(&after(&completion, Some(token)), Vec::new()),
            Err(error) => failed(parts, error, fields.identifier).await,
        };
    }
    see_other(&next_page(token.as_deref()), Vec::new())
}

async fn failed(parts: Parts, error: ApiError, identifier: String) -> Response {
    let echo = FormEcho {
        error: Some(error),
        identifier,
        ..Default::default()
    };
    again(parts, echo).await
}
