//! Recording a re-authentication (`POST /api/v1/account/reauthenticate`): the person's
//! password, or a passkey of theirs. The rule it serves (a recent proof before a change that
//! would let a session keep the account) and the password check are `login::reauth`'s.

use super::ReauthenticateBody;
use crate::{
    error::ApiError, login::reauth::prove_with_password, passkeys::PasskeyFinishBody,
    request::Caller, state::AppState, users::session,
};

/// The person proves who they are again, with their password or with the answer to a
/// passkey sign-in ceremony (started without a login request); their session counts as
/// freshly proven for the window.
pub async fn reauthenticate(
    state: &AppState,
    caller: &Caller,
    body: ReauthenticateBody,
) -> Result<(), ApiError> {
    let user =
        session::require_change(state, caller, crate::tr!(account.msg.sign_in_first)).await?;
    match (
        body.password.filter(|p| !p.is_empty()),
        body.ceremony_id,
        body.credential,
    ) {
        (Some(password), _, _) => prove_with_password(state, caller, &user, password).await,
        (None, Some(ceremony_id), Some(credential)) => {
            let body = PasskeyFinishBody {
                ceremony_id,
                credential,
                name: None,
            };
            crate::passkeys::flow::reauthenticate(state, caller, &user, &body).await
        }
        _ => Err(ApiError::invalid(
            "password",
            crate::tr!(account.msg.password_or_passkey),
        )),
    }
}
