//! What the pages show of a login request and of the app behind it.

use super::app::{needs_confirmation, page_url};
use crate::login::{
    PageContext, RequestView,
    requests::{self, LoginRequestRow},
};
use crate::{
    db::now_ms,
    error::{ApiError, ErrorCode},
    request::Caller,
    state::AppState,
    users::session,
};

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
    RequestView {
        client_name: request.client_name.clone(),
        device_name: request.device_label(),
        user_code: request.user_code_display(),
        needs_confirmation: caller.is_some_and(|c| needs_confirmation(state, c, request)),
        mode: request.mode(),
        status,
        redirect_url: request.redirect_url.clone().filter(|_| status.is_done()),
        fypass_url: page_url(&state.config, request.mode(), token),
    }
}
