//! The second step without JavaScript: a plain `POST /fypass/second-factor` runs the same
//! rule as `POST /api/v1/fypass/mfa`, then redirects (303) to the next page, or renders the
//! page again with the error.

use super::SecondFactorBody;
use crate::{
    login::{
        forms::{again, read, req_token, see_other},
        kit::{FormEcho, after},
    },
    request::Caller,
    state::AppState,
};
use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    response::Response,
    routing::post,
};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new().route(crate::paths::SECOND_FACTOR, post(second_factor))
}

async fn second_factor(
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
    let token = req_token(&parts, &fields);
    let caller = Caller::new(&parts.headers, Some(peer), &state.config);
    let body = SecondFactorBody {
        req_token: token.clone(),
        code: fields.code,
    };
    match super::flow::second_step(&state, &caller, body).await {
        Ok(done) => see_other(&after(&done.completion, token.as_deref()), done.cookies),
        Err(error) => again(parts, FormEcho::error(error)).await,
    }
}
