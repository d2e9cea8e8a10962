//! The few pages of the OAuth routes themselves: the error page of an authorization
//! request that cannot be sent back (an unknown client or redirect URI: redirecting there
//! would make fypass an open redirector, RFC 6749 §4.1.2.1), and the sign-out question of
//! an RP-initiated logout that does not prove which app asks. Plain HTML, no script; the
//! texts are the error enum's, in the request's language.

use crate::error::ApiError;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1c1b22}\
code{background:#f1f0f5;padding:.1rem .3rem;border-radius:.2rem}button{font:inherit;padding:.5rem 1rem}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let lang = crate::locale::code(crate::locale::current());
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · fypass</title><style>{STYLE}</style></head><body>{body}</body></html>",
        title = escape(title),
    );
    let mut res = (status, Html(html)).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

/// An authorization request fypass will not send back anywhere: why, with its code.
pub fn error(error: &ApiError) -> Response {
    let body = format!(
        "<main><p>fypass</p><h1>{message}</h1><p>{solution}</p><p><code id=\"code\">{code}</code></p></main>",
        message = escape(&error.message),
        solution = escape(error.code.solution()),
        code = error.code.as_str(),
    );
    let mut res = page(
        StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST),
        &error.message,
        &body,
    );
    res.extensions_mut().insert(error.code);
    res
}

/// Asks the person whether to sign out of fypass in this browser (a logout request that
/// names no app by a valid `id_token_hint` may come from anywhere: a link on another site
/// must not sign people out unasked). The form posts back with the same parameters.
pub fn confirm_logout(query: &str) -> Response {
    let (title, button) = match crate::locale::code(crate::locale::current()) {
        "id" => ("Keluar dari fypass?", "Keluar"),
        _ => ("Sign out of fypass?", "Sign out"),
    };
    let action = if query.is_empty() {
        "/oauth/logout".to_string()
    } else {
        format!("/oauth/logout?{query}")
    };
    let body = format!(
        "<main><p>fypass</p><h1>{title}</h1><form method=\"post\" action=\"{action}\">\
         <button type=\"submit\">{button}</button></form></main>",
        action = escape(&action),
    );
    page(StatusCode::OK, title, &body)
}

/// The end of a logout with nowhere (registered) to go back to.
pub fn signed_out() -> Response {
    let title = match crate::locale::code(crate::locale::current()) {
        "id" => "Anda sudah keluar dari fypass.",
        _ => "You are signed out of fypass.",
    };
    page(
        StatusCode::OK,
        title,
        &format!("<main><p>fypass</p><h1>{title}</h1></main>"),
    )
}
