//! What a recovery does to an account: the one rule, written once (SPEC §10, §13, §11).
//!
//! A recovery code proves that whoever typed it receives the identifier's messages. Every
//! recovery sets the new password, verifies that identifier and ends everything that signed
//! in to the account before: browser sessions, access and refresh tokens, remembered
//! browsers, passkeys (the person adds them again: the next sign-in offers one), and the
//! codes still waiting. Whoever had the old password or a passkey has nothing left.
//!
//! When the identifier had **never been verified**, the account belongs to whoever proves
//! it: it may have been registered in advance with someone else's address, and the earlier
//! holder may have set up anything. The recovery then also removes the account's other
//! identifier (verified or not: its holder did not prove it now, and could otherwise recover
//! the account back through it); its devices are unlinked as at every revocation
//! (`tokens::revoke_for_user`). The account keeps only
//! its id, its name and the identifier just proved. A sign-in code through such an
//! identifier proves it as well, and is this same recovery, with a password nobody knows
//! (`codes::flow::code_login`).

use crate::users::{
    identifier::Identifier,
    session,
    store::{self, UserRow},
};
use crate::{db::Tx, error::ApiError};

/// Sets `password_hash` for `user`, who just proved `proven` with a recovery code, and
/// removes what the rule above says, in `tx`; returns the account as it is now.
pub async fn reset(
    tx: &mut Tx<'_>,
    user: &UserRow,
    proven: &Identifier,
    password_hash: &str,
) -> Result<UserRow, ApiError> {
    let handed_over = !user.verified(proven);
    store::set_password(tx, user.id, password_hash).await?;
    // The row is locked now: if the account gave the identifier up since the code was
    // checked (its holder changed it), the code proves nothing about this account.
    if !store::verify_identifier(tx, user.id, proven, false).await? {
        return Err(ApiError::new(crate::error::ErrorCode::CodeExpired));
    }
    crate::tokens::revoke_for_user(tx, user.id, None).await?;
    session::revoke_all(tx, user.id).await?;
    session::forget_browsers(tx, user.id).await?;
    crate::passkeys::store::remove_all(tx, user.id).await?;
    store::offer_passkey_again(tx, user.id).await?;
    crate::onetime::store::void_for_user(tx, user.id).await?;
    if handed_over {
        // The earlier holder's second factor goes too: otherwise it would stand between the
        // person who proved the identifier and the account.
        crate::users::factor::remove(tx, user.id).await?;
        store::keep_only(tx, user.id, proven).await?;
    }
    store::find_in(tx, user.id)
        .await?
        .ok_or_else(|| ApiError::new(crate::error::ErrorCode::InvalidCode))
}
