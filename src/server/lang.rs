//! `/lang`: the pages' language switch.

use crate::{
    locale::{COOKIE, code, from_tag},
    state::AppState,
};
use axum::{
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

#[derive(serde::Deserialize)]
pub struct Switch {
    to: String,
    #[serde(default)]
    next: String,
}

/// `GET /lang?to=id&next=/fypass?reqToken=…`: the page's language switch (a plain form,
/// so it works without JavaScript). Remembers the choice for a year and goes back to
/// the page, which renders again in the new language.
pub async fn switch(State(state): State<AppState>, Query(q): Query<Switch>) -> Response {
    // Only a path of this site (never an open redirect).
    let next = crate::redirect::local_or_home(&q.next).to_string();
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    if let Some(locale) = from_tag(&q.to) {
        let secure = if state.config.is_https() {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}",
            code(locale)
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    res
}
