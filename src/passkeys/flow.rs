//! The rules of passkeys, on `webauthn-rs` (its passkey API).
//!
//! What `webauthn-rs` checks: the challenge, the origin and relying party, user presence and
//! verification, the signature, and that the sign counter moved forward. What is ours: each
//! ceremony signed by this deployment, used once and briefly ([`store`](super::store)), the
//! credential belonging to the user the authenticator names (the user handle is not signed),
//! the counter recorded with a compare-and-set (two nodes cannot both accept one value), and
//! the person being active.

use super::{
    MAX_NAME_CHARS, PasskeyChallenge, PasskeyFinishBody, PasskeyView,
    store::{self, Kind},
};
use crate::{
    config::Config,
    devices::check_text,
    error::{ApiError, ErrorCode},
    login::{LoginStatus, flow as login},
    request::Caller,
    state::AppState,
    users::{session, store as users},
};
use std::time::Duration;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

/// The relying party of `config`'s public URL, when browsers allow WebAuthn there: https, or
/// `http://localhost`. `None` (passkeys off) for any other URL, an IP address above all
/// (an IP cannot be a relying party id).
pub fn relying_party(config: &Config) -> Option<Webauthn> {
    let origin = Url::parse(&config.public_origin()).ok()?;
    let rp_id = origin.domain()?.to_string();
    let secure =
        origin.scheme() == "https" || rp_id == "localhost" || rp_id.ends_with(".localhost");
    if !secure {
        return None;
    }
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("fypass")
        .timeout(Duration::from_secs(super::CEREMONY_SECS))
        .build()
        .ok()
}

fn rejected(message: &str) -> ApiError {
    ApiError::with_message(ErrorCode::PasskeyRejected, message)
}

fn unavailable() -> ApiError {
    rejected(crate::tr!(passkeys.msg.unavailable))
}

fn webauthn(state: &AppState) -> Result<&Webauthn, ApiError> {
    state.webauthn.as_deref().ok_or_else(unavailable)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "passkey state could not be read or written");
    ApiError::new(ErrorCode::InternalError)
}

/// Keeps of a browser's extension results only what `webauthn-rs` reads: they are unsigned
/// hints, and some browsers answer in shapes its types refuse.
fn normalise(mut credential: serde_json::Value, keep: &[&str]) -> serde_json::Value {
    if let Some(object) = credential.as_object_mut() {
        let extensions = object
            .remove("clientExtensionResults")
            .or_else(|| object.remove("extensions"));
        let mut kept = serde_json::Map::new();
        if let Some(serde_json::Value::Object(extensions)) = extensions {
            for key in keep {
                if let Some(value) = extensions.get(*key) {
                    kept.insert((*key).into(), value.clone());
                }
            }
        }
        object.insert("clientExtensionResults".into(), kept.into());
    }
    credential
}

fn malformed() -> ApiError {
    ApiError::invalid("credential", crate::tr!(passkeys.msg.malformed))
}

/// A passkey sign-in (discoverable credentials: no identifier), for the login request
/// `req_token` when given.
///
/// Starting one writes nothing (the ceremony travels signed in its id: `store::seal`), so it
/// needs no counter either: every sign-in page with JavaScript starts one for its autofill,
/// and a flood of starts costs the server what as many page loads would.
pub async fn login_start(
    state: &AppState,
    caller: &Caller,
    req_token: Option<&str>,
) -> Result<PasskeyChallenge, ApiError> {
    session::check_origin(caller, &state.config)?;
    let webauthn = webauthn(state)?;
    let request_id = match req_token {
        Some(token) => Some(login::open_for(state, caller, token).await?.id),
        None => None,
    };
    let (options, auth) = webauthn
        .start_discoverable_authentication()
        .map_err(internal)?;
    let ceremony_id = store::seal(
        store::SealKey::of(state),
        Kind::Login,
        None,
        request_id,
        serde_json::to_string(&auth).map_err(internal)?,
    );
    Ok(PasskeyChallenge {
        ceremony_id,
        public_key: serde_json::to_value(&options.public_key).map_err(internal)?,
    })
}

/// A passkey answer that verified: whose passkey it is, and what its use changes.
struct Asserted {
    ceremony: store::Ceremony,
    row: store::PasskeyRow,
    user: users::UserRow,
    passkey: Passkey,
    counter: u32,
    backup_state: bool,
}

/// Checks the answer to the sign-in ceremony of `body`: the ceremony is this deployment's and
/// current, the passkey is known and its owner's, and `webauthn-rs` accepts the signature.
/// Nothing is written: [`record_use_of`] does that, in the transaction that acts on it.
async fn verify_assertion(
    state: &AppState,
    body: &PasskeyFinishBody,
) -> Result<Asserted, ApiError> {
    let webauthn = webauthn(state)?;
    let ceremony = store::open(store::SealKey::of(state), &body.ceremony_id, Kind::Login)
        .ok_or_else(|| rejected(crate::tr!(passkeys.msg.login_expired)))?;
    let auth: DiscoverableAuthentication =
        serde_json::from_str(&ceremony.state).map_err(internal)?;
    let credential: PublicKeyCredential =
        serde_json::from_value(normalise(body.credential.clone(), &[])).map_err(|_| malformed())?;
    let not_known = || rejected(crate::tr!(passkeys.msg.not_known));
    let (handle, cred_id) = webauthn
        .identify_discoverable_authentication(&credential)
        .map_err(|_| not_known())?;
    let row = store::by_cred_id(&state.db, cred_id)
        .await?
        .ok_or_else(not_known)?;
    // The authenticator names the user, unsigned: it must be the passkey's owner.
    if row.user_id != handle {
        return Err(not_known());
    }
    let user = users::find(&state.db, row.user_id)
        .await?
        .ok_or_else(not_known)?;
    let mut passkey: Passkey = serde_json::from_str(&row.passkey).map_err(internal)?;
    let stored = Credential::from(passkey.clone());
    let result = webauthn
        .finish_discoverable_authentication_v2(&credential, auth, &stored)
        .map_err(|e| {
            login::record("passkey_rejected");
            match e {
                WebauthnError::CredentialPossibleCompromise => {
                    tracing::warn!(passkey = %row.id, user = %row.user_id, "a passkey's sign counter went backwards: refused (a cloned authenticator?)");
                    rejected(crate::tr!(passkeys.msg.counter))
                }
                e => {
                    tracing::info!(passkey = %row.id, error = %e, "a passkey sign-in was refused");
                    rejected(crate::tr!(passkeys.msg.refused))
                }
            }
        })?;
    passkey.update_credential(&result);
    Ok(Asserted {
        ceremony,
        row,
        user,
        passkey,
        counter: result.counter(),
        backup_state: result.backup_state(),
    })
}

/// Records the use of a verified passkey in `tx`: its ceremony is spent (a replayed answer
/// finds it used) and its sign counter moves forward (two nodes cannot both accept one).
async fn record_use_of(
    tx: &mut crate::db::Tx<'_>,
    body: &PasskeyFinishBody,
    a: &Asserted,
) -> Result<(), ApiError> {
    if !store::spend(tx, &body.ceremony_id, &a.ceremony).await? {
        return Err(rejected(crate::tr!(passkeys.msg.login_expired)));
    }
    let recorded = store::record_use(
        tx,
        a.row.id,
        &serde_json::to_string(&a.passkey).map_err(internal)?,
        i64::from(a.counter),
        a.backup_state,
    )
    .await?;
    if !recorded {
        tracing::warn!(passkey = %a.row.id, "a passkey's sign counter was used already (another sign-in got there first): refused");
        return Err(rejected(crate::tr!(passkeys.msg.counter)));
    }
    Ok(())
}

/// Signs in with a passkey: the session starts and the login request (if any) completes, as
/// with a password.
///
/// No sign-in counter is consulted: a passkey cannot be guessed (the signature is checked
/// against the key it registered), so strangers' wrong *passwords*, which slow the account
/// down, must not stop its owner's passkey; and each answer needs a ceremony, which only a
/// real passkey can spend.
pub async fn login_finish(
    state: &AppState,
    caller: &Caller,
    body: &PasskeyFinishBody,
) -> Result<login::Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let asserted = verify_assertion(state, body).await?;
    let request = match asserted.ceremony.request_id {
        Some(id) => Some(login::open_for_id(state, caller, id).await?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    record_use_of(&mut tx, body, &asserted).await?;
    if let Some(code) = users::refusal(asserted.user.status()) {
        tx.commit().await?;
        login::record("user_not_active");
        return Err(ApiError::new(code));
    }
    login::finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &asserted.user,
        LoginStatus::LoggedIn,
        "passkey",
        crate::login::Proof::Passkey,
    )
    .await
}

/// Re-authenticates the person signed in in this browser with one of their passkeys (the
/// answer to a sign-in ceremony started without a login request): their session counts as
/// freshly proven (`account::reauth`). Another person's passkey is refused.
pub async fn reauthenticate(
    state: &AppState,
    caller: &Caller,
    user: &users::UserRow,
    body: &PasskeyFinishBody,
) -> Result<(), ApiError> {
    let asserted = verify_assertion(state, body).await?;
    if asserted.ceremony.request_id.is_some() {
        // A ceremony started to complete an app's login request does only that.
        return Err(rejected(crate::tr!(passkeys.msg.refused)));
    }
    if asserted.user.id != user.id {
        return Err(rejected(crate::tr!(passkeys.msg.not_yours)));
    }
    let mut tx = state.db.begin().await?;
    record_use_of(&mut tx, body, &asserted).await?;
    session::mark_reauthenticated(&mut tx, &state.config, caller).await?;
    tx.commit().await
}

/// Starts adding a passkey for the signed-in person, who must have proved who they are in
/// this browser within the last few minutes, or give their `password` now
/// (`login::reauth::gate`).
pub async fn register_start(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
) -> Result<PasskeyChallenge, ApiError> {
    let webauthn = webauthn(state)?;
    let user = crate::login::reauth::gate(state, caller, sign_in_first(), password).await?;
    let exclude = store::cred_ids(&state.db, user.id).await?;
    let label = user.view().contact().to_string();
    let (mut options, registration) = webauthn
        .start_passkey_registration(
            user.id,
            &label,
            &user.name,
            (!exclude.is_empty()).then_some(exclude),
        )
        .map_err(internal)?;
    // A passkey must be discoverable: sign-in without an identifier, and autofill, only
    // find credentials the authenticator keeps (webauthn-rs asks for none by default).
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let ceremony_id = store::seal(
        store::SealKey::of(state),
        Kind::Register,
        Some(user.id),
        None,
        serde_json::to_string::<PasskeyRegistration>(&registration).map_err(internal)?,
    );
    Ok(PasskeyChallenge {
        ceremony_id,
        public_key: serde_json::to_value(&options.public_key).map_err(internal)?,
    })
}

fn sign_in_first() -> &'static str {
    crate::tr!(passkeys.msg.sign_in_first)
}

fn passkey_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Passkey");
    check_text(name, MAX_NAME_CHARS).map_err(|m| ApiError::invalid("name", m))?;
    Ok(name.to_string())
}

/// Stores the passkey the browser made.
pub async fn register_finish(
    state: &AppState,
    caller: &Caller,
    body: &PasskeyFinishBody,
) -> Result<PasskeyView, ApiError> {
    let webauthn = webauthn(state)?;
    let user = session::require_change(state, caller, sign_in_first()).await?;
    let name = passkey_name(body.name.as_deref())?;
    let expired = || rejected(crate::tr!(passkeys.msg.register_expired));
    let ceremony = store::open(store::SealKey::of(state), &body.ceremony_id, Kind::Register)
        .filter(|c| c.user_id == Some(user.id))
        .ok_or_else(expired)?;
    let registration: PasskeyRegistration =
        serde_json::from_str(&ceremony.state).map_err(internal)?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_value(normalise(body.credential.clone(), &["credProps"]))
            .map_err(|_| malformed())?;
    let passkey = webauthn
        .finish_passkey_registration(&credential, &registration)
        .map_err(|e| {
            tracing::info!(error = %e, "a new passkey was refused");
            rejected(crate::tr!(passkeys.msg.refused))
        })?;
    let stored = Credential::from(passkey.clone());
    let transports = stored
        .transports
        .as_ref()
        .and_then(|t| serde_json::to_string(t).ok());
    let mut tx = state.db.begin().await?;
    // No passkey for a session ended meanwhile with everything else (a recovery removes
    // every passkey: one added just after it must not survive it).
    users::hold(&mut tx, &user).await?;
    if !store::spend(&mut tx, &body.ceremony_id, &ceremony).await? {
        return Err(expired());
    }
    let row = store::insert(
        &mut tx,
        store::New {
            user_id: user.id,
            cred_id: stored.cred_id.as_ref(),
            passkey: &serde_json::to_string(&passkey).map_err(internal)?,
            sign_count: i64::from(stored.counter),
            backup_eligible: stored.backup_eligible,
            backup_state: stored.backup_state,
            transports: transports.as_deref(),
            name: &name,
        },
    )
    .await?;
    crate::activity::record(
        &mut tx,
        caller,
        user.id,
        crate::activity::Kind::PasskeyAdded,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(row.view())
}

fn parse_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id).map_err(|_| ApiError::new(ErrorCode::InvalidObjectId))
}

fn no_such() -> ApiError {
    ApiError::with_message(ErrorCode::NotFound, crate::tr!(passkeys.msg.no_such))
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<PasskeyView>, ApiError> {
    let user = session::require(state, caller, sign_in_first()).await?;
    Ok(store::list(&state.db, user.id)
        .await?
        .iter()
        .map(store::PasskeyRow::view)
        .collect())
}

pub async fn rename(
    state: &AppState,
    caller: &Caller,
    id: &str,
    name: &str,
) -> Result<PasskeyView, ApiError> {
    let user = session::require_change(state, caller, sign_in_first()).await?;
    let id = parse_id(id)?;
    let name = passkey_name(Some(name))?;
    store::rename(&state.db, user.id, id, &name)
        .await?
        .map(|row| row.view())
        .ok_or_else(no_such)
}

pub async fn remove(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let user = session::require_change(state, caller, sign_in_first()).await?;
    let id = parse_id(id)?;
    let mut tx = state.db.begin().await?;
    if !store::remove_in(&mut tx, user.id, id).await? {
        return Err(no_such());
    }
    crate::activity::record(
        &mut tx,
        caller,
        user.id,
        crate::activity::Kind::PasskeyRemoved,
        None,
    )
    .await?;
    tx.commit().await
}

/// Whether to offer `user_id` to create a passkey now (once: after their first sign-in or
/// registration here with passkeys available), and mark it offered.
pub async fn offer_once(state: &AppState, user_id: uuid::Uuid) -> Result<bool, ApiError> {
    if state.webauthn.is_none() || !store::cred_ids(&state.db, user_id).await?.is_empty() {
        return Ok(false);
    }
    users::mark_passkey_offered(&state.db, user_id).await
}
