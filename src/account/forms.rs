//! `/account` without JavaScript: a plain `POST /account` runs the same rules as the server
//! functions, then redirects back (303) saying what happened, or renders the page again
//! with the error (for `REAUTHENTICATION_REQUIRED`, with a password field in the form that
//! asked, whose next post carries on). "Sign out everywhere" (also from `/devices`) ends
//! on the sign-in page.

use crate::{
    codes::VerifyBody,
    login::{
        forms::{again, read, see_other},
        kit::FormEcho,
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
    Router::new().route(crate::paths::ACCOUNT, post(account))
}

async fn account(
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
        "password" => super::flow::change_password(
            &state,
            &caller,
            fields.current.clone(),
            fields.new.clone(),
            !fields.remove_passkeys.is_empty(),
        )
        .await
        .map(|cookie| {
            see_other(
                &format!("{}?done=password", crate::paths::ACCOUNT),
                vec![cookie],
            )
        }),
        // The form posts to `/account#leaving`, and a browser keeps that fragment across a
        // redirect whose `Location` has none (RFC 9110 §10.2.2): an empty one of its own
        // lands the person on the sign-in page itself, not on `/fypass#leaving`.
        "delete-account" => super::leaving::delete(&state, &caller, Some(fields.password.clone()))
            .await
            .map(|cookie| see_other(&format!("{}#", crate::paths::SIGN_IN), vec![cookie])),
        "sign-out-everywhere" => super::flow::sign_out_everywhere(&state, &caller)
            .await
            .map(|cookie| see_other(crate::paths::SIGN_IN, vec![cookie])),
        "passkey-rename" => {
            crate::passkeys::flow::rename(&state, &caller, &fields.passkey, &fields.name)
                .await
                .map(|_| {
                    see_other(
                        &format!("{}?done=passkey#passkeys", crate::paths::ACCOUNT),
                        Vec::new(),
                    )
                })
        }
        "passkey-remove" => crate::passkeys::flow::remove(&state, &caller, &fields.passkey)
            .await
            .map(|_| {
                see_other(
                    &format!("{}?done=passkey#passkeys", crate::paths::ACCOUNT),
                    Vec::new(),
                )
            }),
        // The second factor: the password comes along when the page asked for it.
        "totp-start" => crate::factors::flow::start(&state, &caller, Some(fields.password.clone()))
            .await
            .map(|_| {
                see_other(
                    &format!("{}#second-factor", crate::paths::ACCOUNT),
                    Vec::new(),
                )
            }),
        "totp-remove" => {
            crate::factors::flow::remove(&state, &caller, Some(fields.password.clone()))
                .await
                .map(|_| {
                    see_other(
                        &format!("{}?done=second-factor#second-factor", crate::paths::ACCOUNT),
                        Vec::new(),
                    )
                })
        }
        "totp-confirm" | "totp-codes" => {
            let password = Some(fields.password.clone());
            let codes = if fields.intent == "totp-confirm" {
                crate::factors::flow::confirm(&state, &caller, &fields.code, password).await
            } else {
                crate::factors::flow::renew_codes(&state, &caller, password).await
            };
            match codes {
                // The recovery codes are shown on this answer, once (never on a later page).
                Ok(codes) => {
                    let echo = FormEcho {
                        recovery_codes: codes,
                        intent: fields.intent.clone(),
                        ..Default::default()
                    };
                    return again(parts, echo).await;
                }
                Err(e) => Err(e),
            }
        }
        // The password comes along when the page asked for it (`REAUTHENTICATION_REQUIRED`).
        "send" => super::flow::send_identifier_code(
            &state,
            &caller,
            &fields.identifier,
            Some(fields.password.clone()),
        )
        .await
        .map(|to| {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("sent", &to)
                .finish();
            see_other(&format!("{}?{query}", crate::paths::ACCOUNT), Vec::new())
        }),
        _ => {
            let body = VerifyBody {
                identifier: fields.identifier.clone(),
                code: fields.code.clone(),
            };
            crate::codes::flow::verify(&state, &caller, body)
                .await
                .map(|_| {
                    see_other(
                        &format!("{}?done=verified", crate::paths::ACCOUNT),
                        Vec::new(),
                    )
                })
        }
    };
    match outcome {
        Ok(res) => res,
        Err(error) => {
            let echo = FormEcho {
                error: Some(error),
                identifier: fields.identifier,
                intent: fields.intent,
                ..Default::default()
            };
            again(parts, echo).await
        }
    }
}
