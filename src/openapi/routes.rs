//! The route table: every REST route of the features, in the order the docs present
//! them, with what the code cannot say itself (summary, description, example, the error
//! codes of its own checks).

use super::{
    op::{Bearer, Op, op},
    schemas::req_token_pattern,
};
use crate::{
    account::Reauthenticate,
    clients::{ClientInfo, GetClientInfo},
    codes::{
        FypassCode, FypassCodeLogin, FypassRecovery, FypassRecoveryComplete, FypassVerify, Sent,
        Verified,
    },
    devices::{DeleteDevice, Device, DevicePage, GetDevice, ListDevices, SaveDevice},
    error::ErrorCode,
    factors::FypassSecondFactor,
    login::{
        Completion, Confirmed, FypassConfirm, FypassLogin, FypassRegister, FypassUrl,
        GetLoginStatus, LoginStatusReply, StartLogin,
    },
    passkeys::{
        ListPasskeys, PasskeyChallenge, PasskeyLoginFinish, PasskeyLoginStart,
        PasskeyRegisterFinish, PasskeyRegisterStart, PasskeyView, RemovePasskey, RenamePasskey,
    },
    tokens::{GetMe, Introspect, Introspection, Logout, RefreshTokens, TokenPair},
    users::User,
};
use serde_json::json;

/// Every REST route, in the order the docs present them.
pub fn operations() -> Vec<Op> {
    use ErrorCode::*;
    let uuid = json!({"type": "string", "format": "uuid"});
    vec![
        op::<GetClientInfo>("getClientInfo", "Get Info Client", "Clients")
            .describe("The calling client as the admin configured it. Never its key or the key's hash.")
            .reply::<ClientInfo>(200, "The calling client."),
        op::<StartLogin>("startLogin", "Login (UI by fypass)", "Users")
            .describe(
                "Starts a login request. Send the person to `url` (or show it as a QR code), then poll \
                 Get User Login / Register Status every `interval` seconds. `redirectUrl` must start with one \
                 of the client's redirect URLs. With `deviceInfo`, that device is saved for the person on \
                 completion and their access token is bound to it. Show `userCode` beside the URL or QR code: \
                 a person completing the request on another network is shown that code and asked to confirm \
                 the device shows it too. With `\"require\": \"mfa\"` only a sign-in with two factors completes \
                 the request (a passkey, or a password or code and then the person's authenticator app); a \
                 person without a second factor is answered MFA_REQUIRED on the hosted pages.",
            )
            .json_body::<StartLogin>(false)
            .example(json!({"mode": "login", "locale": "id-ID", "require": "mfa", "deviceInfo": {"deviceId": "tv-7f3a91", "platform": "android", "deviceName": "Living room TV"}}))
            .reply::<FypassUrl>(201, "The login request: its reqToken and the fypass URL."),
        op::<GetLoginStatus>("getLoginStatus", "Get User Login / Register Status (by fypass)", "Users")
            .describe(
                "Where the login request stands. The first poll after completion carries `user`, \
                 `accessToken`, `refreshToken` and their expiry times; later polls never do. Only the client \
                 that created the request can poll it, and it must collect the tokens within the request's \
                 lifetime after completion (else the request is `EXPIRED`).",
            )
            .query("reqToken", json!({"type": "string", "pattern": req_token_pattern()}), true, "The reqToken from Login (UI by fypass).")
            .reply::<LoginStatusReply>(200, "The request's status (and, once, the tokens).")
            .errors(&[InvalidObjectId]),
        op::<RefreshTokens>("refreshTokens", "Refresh tokens", "Tokens")
            .describe(
                "Trades a refresh token for a new access token and refresh token. The presented refresh token \
                 stops working (rotation); presenting it again later revokes every token of that sign-in \
                 (reuse detection) and answers UNAUTHORIZED. Of parallel refreshes with one token exactly one \
                 succeeds. A person who is no longer active gets their status code.",
            )
            .json_body::<RefreshTokens>(true)
            .example(json!({"refreshToken": "fyt_AaJND-vecbPDCjsvv8xbom1YaA4xzp1IIqnPCliCDk4"}))
            .reply::<TokenPair>(200, "A new pair; the presented refresh token no longer works.")
            .errors(&[Unauthorized, UserNotActive, UserSuspended, UserDeleted]),
        op::<GetMe>("getMe", "Get the signed-in user", "Tokens")
            .describe("The person whose access token this is.")
            .bearer(Bearer::Required)
            .reply::<User>(200, "The person."),
        op::<Introspect>("introspect", "Introspect a token", "Tokens")
            .describe(
                "Whether an access or refresh token works for this app, and for whom (RFC 7662). Anything \
                 unknown, expired, revoked, rotated or another app's is `{ \"active\": false }`, never an error.",
            )
            .json_body::<Introspect>(true)
            .example(json!({"token": "fyp_AaJND-vetJ5RplNvBnUHa1jYTEOZnrWvrdyVoznPTl0"}))
            .reply::<Introspection>(200, "What the token is."),
        op::<Logout>("logout", "Sign out (revoke tokens)", "Tokens")
            .describe(
                "Revokes the Bearer access token and every token of its sign-in (its refresh tokens); with \
                 `refreshToken`, that token's sign-in too; with `everywhere: true`, every token of the person \
                 in this app, and their devices of this app are unlinked from them. Answers 204 also when the \
                 tokens were revoked already.",
            )
            .bearer(Bearer::Required)
            .json_body::<Logout>(false)
            .example(json!({"everywhere": false}))
            .no_content("Signed out."),
        op::<FypassLogin>("fypassLogin", "Hosted login form", "fypass")
            .describe(
                "What the hosted login page submits: completes the login request `reqToken` for the person \
                 with this email address or WhatsApp number, and starts their browser session. Errors come \
                 in this order: FAILED_UPDATE_USER_TOKEN, USER_NOT_FOUND, INVALID_PASSWORD, then the user's \
                 status. Failed attempts are limited per account and per address (TOO_MANY_REQUESTS). A person \
                 with a second factor gets `status: PENDING` and `secondFactor: true`, a cookie holding the \
                 waiting sign-in and no session: the code goes to fypassSecondFactor. A request that asks for \
                 two factors, by a person without one, is MFA_REQUIRED. A sign-in whose password was checked \
                 just before the person was signed out everywhere (a recovery, a new password) is \
                 UNAUTHORIZED: nothing starts.",
            )
            .json_body::<FypassLogin>(true)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "identifier": "+62 812-3456-7890", "password": "correct horse battery"}))
            .reply::<Completion>(200, "Signed in; the app's redirect URL if the request named one.")
            .sets_session_cookie()
            .errors(&[
                FailedUpdateUserToken,
                MfaRequired,
                UserNotFound,
                InvalidPassword,
                UserNotActive,
                UserSuspended,
                UserDeleted,
                InvalidCode,
                Unauthorized,
                TooManyRequests,
                OriginNotAllowed,
            ]),
        op::<FypassRegister>("fypassRegister", "Hosted registration form", "fypass")
            .describe(
                "What the hosted register page submits: creates the account (an email address, a WhatsApp \
                 number, or both), completes the login request `reqToken`, and starts the browser session.",
            )
            .json_body::<FypassRegister>(true)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "name": "Siti Rahma", "email": "siti@example.com", "whatsapp": "0812-3456-7890", "password": "correct horse battery"}))
            .reply::<Completion>(200, "Registered and signed in.")
            .sets_session_cookie()
            .errors(&[FailedUpdateUserToken, InvalidCode, DuplicateKey, MfaRequired, TooManyRequests, OriginNotAllowed]),
        op::<FypassConfirm>("fypassConfirm", "Confirm the device's code", "fypass")
            .describe(
                "What the hosted pages submit when the person is on another network than the one that \
                 started the login request: they confirm, in their browser, that the device asking shows \
                 `userCode` (RFC 8628 §5.4). The confirmation is that browser's: the reply sets the \
                 `fypass_confirm` cookie, and signing in, registering, sending a code or continuing for that \
                 request from another network answers INVALID_CODE without it, whoever else confirmed the \
                 code. After five wrong codes the request is void.",
            )
            .json_body::<FypassConfirm>(true)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "userCode": "BDFG-HJKL"}))
            .reply::<Confirmed>(200, "Confirmed for this browser only: it can now complete the request.")
            .sets_cookie(
                "This browser's confirmation (`fypass_confirm`, `__Host-fypass_confirm` behind https; \
                 HttpOnly, SameSite=Lax), valid while the request is open.",
            )
            .errors(&[FailedUpdateUserToken, InvalidCode, OriginNotAllowed]),
        op::<FypassRecovery>("fypassRecovery", "Send a recovery code", "fypass")
            .describe(
                "Sends a code to set a new password to this email address or WhatsApp number, if an account \
                 has it. The reply is the same (202) whether or not one has, and nothing is sent when none has. \
                 Sends are limited per identifier (one a minute, five an hour) and per network \
                 (TOO_MANY_REQUESTS with Retry-After).",
            )
            .json_body::<FypassRecovery>(true)
            .example(json!({"identifier": "siti@example.com"}))
            .reply::<Sent>(202, "Sent, if an account has this identifier.")
            .errors(&[FailedUpdateUserToken, InvalidCode, TooManyRequests, OriginNotAllowed]),
        op::<FypassRecoveryComplete>("fypassRecoveryComplete", "Set a new password with a code", "fypass")
            .describe(
                "Sets a new password with the recovery code, signs this browser in and completes the login \
                 request `reqToken` if given. Every other session, every token, remembered browser and passkey \
                 of the person is removed; when the identifier had never been verified, the account's other \
                 identifier and devices go too (the account belongs to whoever proves its identifier). A wrong \
                 code is INVALID_CODE, for an unknown identifier alike (five make a code void; wrong codes are \
                 limited per network: TOO_MANY_REQUESTS); the right code expired, used or void is CODE_EXPIRED, \
                 and so is a code for an identifier the account gave up since it was sent.",
            )
            .json_body::<FypassRecoveryComplete>(true)
            .example(json!({"identifier": "siti@example.com", "code": "493027", "newPassword": "a new passphrase"}))
            .reply::<Completion>(200, "The new password is set and the person signed in.")
            .sets_session_cookie()
            .errors(&[
                FailedUpdateUserToken,
                MfaRequired,
                InvalidCode,
                CodeExpired,
                UserNotActive,
                UserSuspended,
                UserDeleted,
                TooManyRequests,
                OriginNotAllowed,
            ]),
        op::<FypassCode>("fypassCode", "Send a sign-in code", "fypass")
            .describe(
                "Sends a code to sign in with, instead of a password, for the login request `reqToken`. \
                 The same reply whether or not an account has the identifier; limited as recovery codes are.",
            )
            .json_body::<FypassCode>(true)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "identifier": "+62 812-3456-7890"}))
            .reply::<Sent>(202, "Sent, if an account has this identifier.")
            .errors(&[FailedUpdateUserToken, InvalidCode, TooManyRequests, OriginNotAllowed]),
        op::<FypassCodeLogin>("fypassCodeLogin", "Sign in with a code", "fypass")
            .describe(
                "Signs in with the code sent to the identifier and completes the login request, exactly as a \
                 password sign-in does. The identifier counts as verified. Through an identifier never verified, \
                 the account is handed over as by a recovery (everything signed in before is removed, and the \
                 password becomes one nobody knows). A wrong code is INVALID_CODE, for an unknown identifier alike. \
                 Signed out everywhere between the check and the sign-in: UNAUTHORIZED.",
            )
            .json_body::<FypassCodeLogin>(true)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "identifier": "+62 812-3456-7890", "code": "493027"}))
            .reply::<Completion>(200, "Signed in.")
            .sets_session_cookie()
            .errors(&[
                FailedUpdateUserToken,
                MfaRequired,
                InvalidCode,
                CodeExpired,
                UserNotActive,
                UserSuspended,
                UserDeleted,
                Unauthorized,
                TooManyRequests,
                OriginNotAllowed,
            ]),
        op::<FypassSecondFactor>("fypassSecondFactor", "Second factor", "fypass")
            .describe(
                "The second step of a sign-in whose first step (password, sign-in code or recovery) answered \
                 `secondFactor: true`, in the same browser (it sends the cookie that step set): a code of the \
                 person's authenticator app (RFC 6238, 6 digits, 30 s, one step of drift) or one of their \
                 recovery codes. It signs the browser in and completes the login request, as a passkey does. \
                 Each code works once (a replayed one is INVALID_CODE); wrong codes count like wrong passwords \
                 (TOO_MANY_REQUESTS), and five void the waiting sign-in. Without a waiting sign-in (no cookie, \
                 expired, used, or void) the answer is UNAUTHORIZED; `reqToken`, if given, must be the request \
                 of the first step.",
            )
            .json_body::<FypassSecondFactor>(true)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "code": "493027"}))
            .reply::<Completion>(200, "Signed in with two factors.")
            .sets_session_cookie()
            .errors(&[
                Unauthorized,
                FailedUpdateUserToken,
                InvalidCode,
                UserNotActive,
                UserSuspended,
                UserDeleted,
                TooManyRequests,
                OriginNotAllowed,
            ]),
        op::<FypassVerify>("fypassVerify", "Verify an email address or WhatsApp number", "fypass")
            .describe(
                "Verifies the identifier with the code sent to it after registration or from /account, for the \
                 person signed in in this browser (the session cookie): only a code sent for that account \
                 counts. A new identifier (from /account) replaces the account's old one of its kind, and the \
                 old one is told; one that another account has meanwhile is DUPLICATE_KEY.",
            )
            .json_body::<FypassVerify>(true)
            .example(json!({"identifier": "siti@example.com", "code": "493027"}))
            .reply::<Verified>(200, "Verified.")
            .errors(&[Unauthorized, InvalidCode, CodeExpired, DuplicateKey, TooManyRequests, OriginNotAllowed]),
        op::<PasskeyLoginStart>("passkeyLoginStart", "Start a passkey sign-in", "Passkeys")
            .describe(
                "Starts signing in with a passkey (discoverable credentials: no identifier) for the login request \
                 `reqToken` if given. Pass `publicKey` to `PublicKeyCredential.parseRequestOptionsFromJSON` and \
                 `navigator.credentials.get`, then the answer to passkeyLoginFinish within 5 minutes. The ceremony's \
                 state travels signed in `ceremonyId`: starting one stores nothing. Passkeys need an \
                 https public URL (or http://localhost): elsewhere this is PASSKEY_REJECTED.",
            )
            .json_body::<PasskeyLoginStart>(false)
            .example(json!({"reqToken": "fyr_3mQ9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc"}))
            .reply::<PasskeyChallenge>(200, "The ceremony and its options.")
            .errors(&[PasskeyRejected, FailedUpdateUserToken, InvalidCode, OriginNotAllowed]),
        op::<PasskeyLoginFinish>("passkeyLoginFinish", "Sign in with a passkey", "Passkeys")
            .describe(
                "Finishes the sign-in with the credential the browser returned (`toJSON()`), starts the browser \
                 session and completes the login request exactly as a password does. A ceremony is used once; an \
                 unknown, removed or refused passkey, a sign counter that went backwards, or another origin is \
                 PASSKEY_REJECTED; a person who is not active gets their status code. Failed password sign-ins do \
                 not slow a passkey down: a passkey cannot be guessed.",
            )
            .json_body::<PasskeyLoginFinish>(true)
            .example(json!({"ceremonyId": "fyw_Qm9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "credential": {"id": "…", "rawId": "…", "type": "public-key", "response": {}}}))
            .reply::<Completion>(200, "Signed in.")
            .sets_session_cookie()
            .errors(&[
                PasskeyRejected,
                FailedUpdateUserToken,
                InvalidCode,
                UserNotActive,
                UserSuspended,
                UserDeleted,
                Unauthorized,
                OriginNotAllowed,
            ]),
        op::<PasskeyRegisterStart>("passkeyRegisterStart", "Start adding a passkey", "Passkeys")
            .describe(
                "For the person signed in in this browser (session cookie): the options for \
                 `navigator.credentials.create`. The person must have proved who they are in this browser in the \
                 last 5 minutes (signed in, or reauthenticate), or give `password` here; else \
                 REAUTHENTICATION_REQUIRED. Wrong passwords count as failed sign-ins.",
            )
            .json_body::<PasskeyRegisterStart>(false)
            .example(json!({}))
            .reply::<PasskeyChallenge>(200, "The ceremony and its options.")
            .errors(&[
                PasskeyRejected,
                Unauthorized,
                ReauthenticationRequired,
                InvalidPassword,
                TooManyRequests,
                OriginNotAllowed,
            ]),
        op::<PasskeyRegisterFinish>("passkeyRegisterFinish", "Add the passkey", "Passkeys")
            .describe("Stores the passkey the browser made, with a name.")
            .json_body::<PasskeyRegisterFinish>(true)
            .example(json!({"ceremonyId": "fyw_Qm9Yb0sXkT2w8cVnJ4pLr7uEa1dGh5iOq6zSf0tWyc", "credential": {"id": "…", "rawId": "…", "type": "public-key", "response": {}}, "name": "Pixel 8"}))
            .reply::<PasskeyView>(201, "Added.")
            .errors(&[PasskeyRejected, Unauthorized, DuplicateKey, OriginNotAllowed]),
        op::<Reauthenticate>("reauthenticate", "Confirm it is you", "Passkeys")
            .describe(
                "For the person signed in in this browser (session cookie): proves who they are again, with \
                 `password` or with a passkey (`ceremonyId` from passkeyLoginStart without `reqToken`, and the \
                 `credential` the browser returned). For the next 5 minutes this browser may add passkeys and \
                 change the email address or WhatsApp number. Wrong passwords count as failed sign-ins \
                 (TOO_MANY_REQUESTS); another person's passkey is PASSKEY_REJECTED.",
            )
            .json_body::<Reauthenticate>(true)
            .example(json!({"password": "correct horse battery"}))
            .no_content("Confirmed.")
            .errors(&[
                Unauthorized,
                InvalidPassword,
                PasskeyRejected,
                TooManyRequests,
                ValidationError,
                OriginNotAllowed,
            ]),
        op::<ListPasskeys>("listPasskeys", "List passkeys", "Passkeys")
            .describe("The signed-in person's passkeys, newest first.")
            .reply_list::<PasskeyView>(200, "The passkeys.")
            .errors(&[Unauthorized]),
        op::<RenamePasskey>("renamePasskey", "Rename a passkey", "Passkeys")
            .json_body::<RenamePasskey>(true)
            .example(json!({"id": "01a210dc-ea3f-7175-8a91-33128a8252bb", "name": "Work laptop"}))
            .reply::<PasskeyView>(200, "Renamed.")
            .errors(&[Unauthorized, InvalidObjectId, NotFound, OriginNotAllowed]),
        op::<RemovePasskey>("removePasskey", "Remove a passkey", "Passkeys")
            .path_id("The passkey's id.")
            .no_content("Removed.")
            .errors(&[Unauthorized, NotFound, OriginNotAllowed]),
        op::<SaveDevice>("saveDevice", "Save Device", "Devices")
            .describe(
                "Creates the device with this `deviceId` for the calling client (201), or updates it (200). \
                 With a user's access token as `Authorization: Bearer`, the device is linked to that user. \
                 A device signed in to one person (a token of theirs bound to it still works) is theirs: \
                 a save with another person's token, or without a token that changes its `pushToken`, \
                 is `DUPLICATE_KEY` on `deviceId`. Once nobody holds it, a save without a token that \
                 changes its `pushToken` leaves it linked to nobody; revoking everything of a person \
                 (in this app) unlinks their devices (see /docs#devices).",
            )
            .bearer(Bearer::Optional)
            .json_body::<SaveDevice>(true)
            .example(json!({"deviceId": "b1e7c2d4-install", "platform": "ios", "deviceName": "Siti's iPhone", "model": "iPhone 15", "osVersion": "17.4", "appVersion": "2.3.0", "locale": "id-ID", "timezone": "Asia/Jakarta"}))
            .reply::<Device>(201, "Created.")
            .reply::<Device>(200, "Updated.")
            .errors(&[DuplicateKey]),
        op::<ListDevices>("listDevices", "List devices", "Devices")
            .describe("The calling client's devices, newest first. Pass `nextCursor` as `cursor` for the next page.")
            .query("userId", uuid.clone(), false, "Only this user's devices.")
            .query("limit", json!({"type": "integer", "minimum": 1, "maximum": crate::devices::MAX_PAGE, "default": crate::devices::DEFAULT_PAGE}), false, "Devices per page.")
            .query("cursor", uuid, false, "The `nextCursor` of the previous page.")
            .reply::<DevicePage>(200, "A page of devices.")
            .errors(&[InvalidObjectId]),
        op::<GetDevice>("getDevice", "Get Device Detail", "Devices")
            .path_id("The device's id, as Save Device returned it.")
            .reply::<Device>(200, "The device.")
            .errors(&[DeviceNotFound]),
        op::<DeleteDevice>("deleteDevice", "Delete device", "Devices")
            .describe("Removes the device and revokes every access token bound to it.")
            .path_id("The device's id.")
            .no_content("Deleted.")
            .errors(&[DeviceNotFound]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A GET route's documented query parameters are exactly its function's arguments.
    #[test]
    fn documented_query_parameters_are_the_functions_arguments() {
        let names = |value: Value| -> Vec<String> {
            let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let documented = |id: &str| -> Vec<String> {
            let mut q: Vec<String> = operations()
                .into_iter()
                .find(|o| o.id == id)
                .unwrap()
                .query
                .iter()
                .map(|s| s.to_string())
                .collect();
            q.sort();
            q
        };
        let list = ListDevices {
            user_id: None,
            limit: None,
            cursor: None,
        };
        assert_eq!(
            names(serde_json::to_value(list).unwrap()),
            documented("listDevices")
        );
        let status = GetLoginStatus {
            req_token: String::new(),
        };
        assert_eq!(
            names(serde_json::to_value(status).unwrap()),
            documented("getLoginStatus")
        );
    }
}
