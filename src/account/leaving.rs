//! Leaving (SPEC §16): everything fypass holds about the person as a JSON download, and
//! deleting the account.
//!
//! The export is built from the signed-in person's own rows only, through the same views
//! the pages show — so it never holds another person's data, nor a hash, a secret or a
//! credential (passkeys are listed by name, the second factor by whether it is on).
//!
//! Deleting needs a recent proof of who the person is (`login::reauth::gate`) and comes
//! only from a fypass page (`session::check_origin`: a cross-site form cannot trigger it).
//! It revokes every token and session, removes devices, passkeys, the second factor, codes
//! and the activity list, and empties the account: its name goes, its email address and
//! number are freed for anyone to register again (the row keeps only its id, status
//! `deleted` and a placeholder address that can receive nothing, so the records of apps that
//! knew the id still point somewhere).

use crate::{
    db::{Tx, now_ms, rfc3339, with_tx},
    error::ApiError,
    login::reauth,
    request::Caller,
    state::AppState,
    users::session,
};
use axum::http::HeaderValue;
use serde_json::{Value, json};
use uuid::Uuid;

/// Everything fypass holds about the person signed in in this browser.
pub async fn export(state: &AppState, caller: &Caller) -> Result<Value, ApiError> {
    let user =
        session::require_change(state, caller, crate::tr!(account.msg.sign_in_first)).await?;
    let passkeys = crate::passkeys::store::list(&state.db, user.id).await?;
    let factor = crate::users::factor::factor(&state.db, user.id).await?;
    let devices = crate::devices::store::list_for_user(&state.db, user.id).await?;
    let signed_in = crate::activity::store::signed_in(state, caller, user.id).await?;
    let activity = crate::activity::store::list_all(&state.db, user.id).await?;
    Ok(json!({
        "exportedAt": rfc3339(now_ms()),
        "user": user.view(),
        "passkeys": passkeys.iter().map(|p| p.view()).collect::<Vec<_>>(),
        "secondFactor": {
            "authenticatorApp": factor.as_ref().is_some_and(|f| f.confirmed),
            "since": factor.as_ref().filter(|f| f.confirmed).map(|f| rfc3339(f.created_at)),
            "recoveryCodesLeft": crate::users::factor::recovery_codes_left(&state.db, user.id).await?,
        },
        "devices": devices.into_iter().map(|(d, app)| {
            let mut device = serde_json::to_value(d.view()).unwrap_or(Value::Null);
            device["app"] = Value::String(app);
            device
        }).collect::<Vec<_>>(),
        "signedIn": signed_in,
        "activity": activity,
    }))
}

/// Deletes the account of the person signed in in this browser; the cookie that clears this
/// browser's session.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
) -> Result<HeaderValue, ApiError> {
    let user = reauth::gate(
        state,
        caller,
        crate::tr!(account.msg.sign_in_first),
        password,
    )
    .await?;
    let mut tx = state.db.begin().await?;
    crate::tokens::revoke_for_user(&mut tx, user.id, None).await?;
    session::revoke_all(&mut tx, user.id).await?;
    session::forget_browsers(&mut tx, user.id).await?;
    crate::passkeys::store::remove_all(&mut tx, user.id).await?;
    crate::users::factor::remove(&mut tx, user.id).await?;
    crate::onetime::store::void_for_user(&mut tx, user.id).await?;
    for sql in [
        "DELETE FROM devices WHERE user_id = $1",
        "DELETE FROM activity WHERE user_id = $1",
        "DELETE FROM second_steps WHERE user_id = $1",
    ] {
        run(&mut tx, sql, user.id).await?;
    }
    empty_account(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(session::clear_cookie(&state.config))
}

async fn run(tx: &mut Tx<'_>, sql: &str, user_id: Uuid) -> Result<(), ApiError> {
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// The account row without anything personal: no name, no password, its identifiers freed
/// (an address under `.invalid`, RFC 2606, which no mail reaches, keeps the row's "one
/// identifier at least" rule), status `deleted`.
async fn empty_account(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE users SET name = '', email = $2, whatsapp = NULL, password_hash = '',
                   email_verified_at = NULL, whatsapp_verified_at = NULL, status = 'deleted',
                   updated_at = $3
               WHERE id = $1";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(format!("{}@deleted.invalid", user_id.simple()))
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}
