//! The pages' forms without JavaScript: a plain `POST` to the page's own URL runs the same
//! rules as the server functions (`flow`), then redirects (303) to the next page, or
//! renders the page again with the error beside its field, what was typed (never the
//! password), and the error's HTTP status.

use super::{
    ConfirmBody, LoginBody, RegisterBody, flow,
    kit::{FormEcho, after},
};
use crate::{error::ApiError, request::Caller, state::AppState, users::session};
use axum::{
    Form, Router,
    body::Body,
    extract::{ConnectInfo, FromRequest, Request, State},
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(crate::paths::SIGN_IN, post(login))
        .route(crate::paths::REGISTER, post(register))
        .route(crate::paths::SIGN_OUT, post(sign_out))
}

/// Every field a hosted page's plain form may post.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Fields {
    pub req_token: String,
    pub intent: String,
    pub user_code: String,
    pub identifier: String,
    pub password: String,
    pub name: String,
    pub email: String,
    pub whatsapp: String,
    pub code: String,
    pub new_password: String,
    /// `/account`'s password form.
    pub current: String,
    pub new: String,
    /// `/account`'s passkey forms: which passkey.
    pub passkey: String,
    /// `/account`'s password form: also remove the passkeys (a checkbox: `on` when ticked).
    pub remove_passkeys: String,
    /// `/account/activity`: the sign-in to end (`session:<id>` or `app:<id>`).
    pub target: String,
}

/// The reqToken of the page the form was on (its URL), else of the form.
pub(crate) fn req_token(parts: &Parts, fields: &Fields) -> Option<String> {
    parts
        .uri
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "reqToken"))
        .map(|(_, v)| v.into_owned())
        .or_else(|| Some(fields.req_token.clone()))
        .filter(|t| !t.is_empty())
}

pub(crate) async fn read(req: Request, state: &AppState) -> (Parts, Result<Fields, ApiError>) {
    let (parts, body) = req.into_parts();
    let again = Request::from_parts(parts.clone(), body);
    let fields = Form::<Fields>::from_request(again, state)
        .await
        .map(|Form(f)| f)
        .map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(crate::error::ErrorCode::PayloadTooLarge)
            } else {
                ApiError::invalid("body", rejection.body_text())
            }
        });
    (parts, fields)
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, fields) = read(req, &state).await;
    let fields = match fields {
        Ok(f) => f,
        Err(error) => {
            return again(parts, FormEcho::error(error)).await;
        }
    };
    let token = req_token(&parts, &fields);
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    if fields.intent == "confirm" {
        return confirm(state, parts, &caller, token, &fields.user_code).await;
    }
    let result = if fields.intent == "continue" {
        match token.as_deref() {
            Some(t) => flow::continue_as(&state, &caller, t)
                .await
                .map(|_| (super::kit::next_page(token.as_deref()), Vec::new())),
            None => Err(ApiError::invalid(
                "reqToken",
                crate::tr!(common.field.required),
            )),
        }
    } else {
        let body = LoginBody {
            req_token: token.clone(),
            identifier: fields.identifier.clone(),
            password: fields.password,
        };
        flow::login(&state, &caller, body)
            .await
            .map(|done| (after(&done.completion, token.as_deref()), done.cookies))
    };
    match result {
        Ok((next, cookies)) => see_other(&next, cookies),
        Err(error) => {
            let echo = FormEcho {
                error: Some(error),
                identifier: fields.identifier,
                ..Default::default()
            };
            again(parts, echo).await
        }
    }
}

async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, fields) = read(req, &state).await;
    let fields = match fields {
        Ok(f) => f,
        Err(error) => {
            return again(parts, FormEcho::error(error)).await;
        }
    };
    let token = req_token(&parts, &fields);
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    if fields.intent == "confirm" {
        return confirm(state, parts, &caller, token, &fields.user_code).await;
    }
    let optional = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
    let body = RegisterBody {
        req_token: token.clone(),
        name: fields.name.clone(),
        email: optional(&fields.email),
        whatsapp: optional(&fields.whatsapp),
        password: fields.password,
    };
    match flow::register(&state, &caller, body).await {
        Ok(done) => see_other(&after(&done.completion, token.as_deref()), done.cookies),
        Err(error) => {
            let echo = FormEcho {
                error: Some(error),
                name: fields.name,
                email: fields.email,
                whatsapp: fields.whatsapp,
                ..Default::default()
            };
            again(parts, echo).await
        }
    }
}

async fn sign_out(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let caller = Caller::new(req.headers(), Some(peer), &state.config);
    match session::sign_out(&state, &caller).await {
        Ok(cookie) => see_other(crate::paths::SIGN_IN, vec![cookie]),
        Err(error) => error.into_response(),
    }
}

/// The user-code confirmation, from the login or register page: back to the same page,
/// which then shows its form.
async fn confirm(
    state: AppState,
    parts: Parts,
    caller: &Caller,
    token: Option<String>,
    user_code: &str,
) -> Response {
    let body = ConfirmBody {
        req_token: token.unwrap_or_default(),
        user_code: user_code.to_string(),
    };
    match flow::confirm(&state, caller, &body).await {
        Ok(cookie) => see_other(&self_path(&parts), vec![cookie]),
        Err(error) => again(parts, FormEcho::error(error)).await,
    }
}

/// The page the form was on: its path and query (never an authority a request line named).
fn self_path(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
}

/// A `303 See Other` to `location`, a path of this site (else the home page:
/// [`crate::redirect`]), setting `cookies`.
pub(crate) fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(crate::redirect::local_or_home(location)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    for cookie in cookies {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// What a plain form post that failed answers, before it is a page: render the page the
/// form was on again (`parts`, made a `GET`), showing `echo`, with the error's status. The
/// forms sit below the page router and cannot render a page; the page shell
/// (`app::render_again`, around every page route) turns this marker into the page.
#[derive(Clone)]
pub struct RenderAgain {
    pub parts: Parts,
    pub echo: FormEcho,
}

/// Renders the page the form was on again, showing `echo`, with the error's status (through
/// the [`RenderAgain`] marker).
pub(crate) async fn again(mut parts: Parts, echo: FormEcho) -> Response {
    parts.method = Method::GET;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut res = Response::new(Body::empty());
    res.extensions_mut().insert(RenderAgain { parts, echo });
    res
}
