//! The OAuth / OpenID Connect routes in `/api/openapi.json` (and so on `/docs/api`), beside
//! the server functions the rest of the document is derived from. These routes speak
//! OAuth's wire format (form bodies, `{ error, error_description, code, message }`), so
//! their operations are written here, next to the routes (`super::routes`), and
//! `tests/integration/contract.rs` holds the two lists together.

use crate::error::ErrorCode;
use serde_json::{Map, Value, json};

/// The tag of these operations.
pub const TAG: &str = "OpenID Connect";

/// One documented OAuth operation.
pub struct Op {
    pub path: &'static str,
    pub method: &'static str,
    pub operation: Value,
}

fn form_body(required: &[&str], properties: Value, example: &str) -> Value {
    json!({
        "required": true,
        "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": required, "properties": properties},
            "example": example,
        }}
    })
}

fn oauth_errors(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|s| {
            (
                s.to_string(),
                json!({
                    "description": "An OAuth error (RFC 6749 §5.2) with fypass's code.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}
                }),
            )
        })
        .collect()
}

fn json_reply(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn html(description: &str) -> Value {
    json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}})
}

fn query(name: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": {"type": "string"}})
}

fn op(
    path: &'static str,
    method: &'static str,
    id: &str,
    summary: &str,
    description: &str,
    mut responses: Map<String, Value>,
    extra: Value,
) -> Op {
    let mut operation = json!({
        "operationId": id,
        "summary": summary,
        "description": description,
        "tags": [TAG],
        "security": [],
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        operation[k] = v;
    }
    operation["responses"] = Value::Object(std::mem::take(&mut responses));
    Op {
        path,
        method,
        operation,
    }
}

fn with(mut map: Map<String, Value>, status: u16, reply: Value) -> Map<String, Value> {
    map.insert(status.to_string(), reply);
    map
}

/// Every OAuth operation, in the order the docs show them.
pub fn operations() -> Vec<Op> {
    let client_auth = "The client authenticates with HTTP Basic (`client_id:client_secret`, the \
                       secret being its key) or `client_id` and `client_secret` in the form; a \
                       public client sends `client_id` only.";
    let authorize_params = json!([
        query("response_type", true, "`code`."),
        query("client_id", true, "The client's id."),
        query(
            "redirect_uri",
            true,
            "One of the client's redirect URLs, exactly (any port on a loopback URL)."
        ),
        query(
            "scope",
            false,
            "`openid profile email phone offline_access` (default `openid`)."
        ),
        query("state", false, "Sent back unchanged."),
        query("nonce", false, "Put into the ID token."),
        query(
            "code_challenge",
            true,
            "The base64url SHA-256 of the code verifier."
        ),
        query("code_challenge_method", true, "`S256`."),
        query("prompt", false, "`none` or `login`."),
        query(
            "max_age",
            false,
            "Seconds since the last sign-in after which the person signs in again."
        ),
        query(
            "login_hint",
            false,
            "Accepted; the sign-in page does not prefill it yet."
        ),
        query(
            "ui_locales",
            false,
            "`en` or `id`: the language of the pages."
        ),
        query(
            "acr_values",
            false,
            "`mfa`: only a sign-in with two factors (a passkey, or a password or code and the authenticator app) will do; a one-factor session is not reused (step-up, RFC 9470)."
        ),
    ]);
    let redirect = json!({"description": "Back to the app (`code`, `state`, `iss`; or `error`, `error_description`, `state`, `iss`), or to the hosted sign-in page.",
        "headers": {"Location": {"schema": {"type": "string"}}}});
    let error_page = |m: Map<String, Value>| {
        [400u16, 401, 403, 422].into_iter().fold(m, |m, s| {
            with(
                m,
                s,
                html("An unknown client or redirect URI: a page, never a redirect."),
            )
        })
    };
    vec![
        op(
            "/.well-known/openid-configuration",
            "get",
            "oidcDiscovery",
            "OpenID Connect discovery",
            "The provider's metadata (OpenID Connect Discovery 1.0).",
            with(
                Map::new(),
                200,
                json_reply("The metadata.", json!({"type": "object"})),
            ),
            json!({}),
        ),
        op(
            "/.well-known/oauth-authorization-server",
            "get",
            "oauthMetadata",
            "OAuth authorization server metadata",
            "RFC 8414: the same document as the OpenID Connect discovery.",
            with(
                Map::new(),
                200,
                json_reply("The metadata.", json!({"type": "object"})),
            ),
            json!({}),
        ),
        op(
            "/oauth/jwks",
            "get",
            "oauthJwks",
            "Signing keys (JWKS)",
            "Every published key: the signing one, one waiting for its publish delay, and retired ones whose ID tokens may still live.",
            with(
                Map::new(),
                200,
                json!({"description": "A JWK Set.", "content": {"application/jwk-set+json": {"schema": {"type": "object"}}}}),
            ),
            json!({}),
        ),
        op(
            "/oauth/authorize",
            "get",
            "oauthAuthorize",
            "Authorization (code + PKCE)",
            "Starts a sign-in: straight back with a code for a person signed in in this browser, else through the hosted sign-in page. Grant `oauth.code`. One network may start `FYPASS_OAUTH_STARTS_PER_NETWORK_HOUR` hosted sign-ins an hour; more go back with `temporarily_unavailable`.",
            error_page(with(Map::new(), 303, redirect.clone())),
            json!({"parameters": authorize_params}),
        ),
        op(
            "/oauth/token",
            "post",
            "oauthToken",
            "Token",
            &format!(
                "`authorization_code` (with `code`, `redirect_uri`, `code_verifier`), `refresh_token` (rotation with reuse detection), or `urn:ietf:params:oauth:grant-type:device_code` (with `device_code`). {client_auth}"
            ),
            with(
                oauth_errors(&[400, 401, 500, 503]),
                200,
                json_reply(
                    "The tokens.",
                    json!({"$ref": "#/components/schemas/OAuthTokens"}),
                ),
            ),
            json!({"requestBody": form_body(&["grant_type"], json!({
                "grant_type": {"type": "string"}, "code": {"type": "string"}, "redirect_uri": {"type": "string"},
                "code_verifier": {"type": "string"}, "refresh_token": {"type": "string"}, "device_code": {"type": "string"},
                "scope": {"type": "string"}, "client_id": {"type": "string"}, "client_secret": {"type": "string"}
            }), "grant_type=authorization_code&code=fyo_…&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=…")}),
        ),
        op(
            "/oauth/device_authorization",
            "post",
            "oauthDeviceAuthorization",
            "Device authorization (RFC 8628)",
            &format!(
                "Starts a login request for a device: its user code, the page for the person, and a device code to poll `/oauth/token` with. Grant `oauth.device`. {client_auth} A public client's starts are counted per network (`FYPASS_OAUTH_STARTS_PER_NETWORK_HOUR`): over it, 429 `temporarily_unavailable` with `Retry-After`."
            ),
            with(
                oauth_errors(&[400, 401, 429, 500, 503]),
                200,
                json_reply(
                    "The device authorization.",
                    json!({"$ref": "#/components/schemas/OAuthDeviceAuthorization"}),
                ),
            ),
            json!({"requestBody": form_body(&[], json!({"scope": {"type": "string"}, "client_id": {"type": "string"}, "client_secret": {"type": "string"}}), "client_id=…&scope=openid")}),
        ),
        op(
            "/oauth/userinfo",
            "get",
            "oauthUserinfo",
            "UserInfo",
            "The claims the scope grants about the person of a Bearer access token.",
            with(
                oauth_errors(&[400, 401, 500, 503]),
                200,
                json_reply(
                    "The claims.",
                    json!({"type": "object", "required": ["sub"], "properties": {"sub": {"type": "string"}}}),
                ),
            ),
            json!({"security": [{"bearerAuth": []}]}),
        ),
        op(
            "/oauth/revoke",
            "post",
            "oauthRevoke",
            "Revocation (RFC 7009)",
            &format!(
                "Ends the sign-in of an access or refresh token of this client; 200 also for an unknown one. {client_auth}"
            ),
            with(
                oauth_errors(&[400, 401, 500, 503]),
                200,
                json!({"description": "Revoked (or nothing to revoke)."}),
            ),
            json!({"requestBody": form_body(&["token"], json!({"token": {"type": "string"}, "token_type_hint": {"type": "string"}}), "token=fyt_…")}),
        ),
        op(
            "/oauth/introspect",
            "post",
            "oauthIntrospect",
            "Introspection (RFC 7662)",
            "What a token of this (confidential) client is: `{ \"active\": false }` for anything else.",
            with(
                oauth_errors(&[400, 401, 500, 503]),
                200,
                json_reply(
                    "The token's state.",
                    json!({"type": "object", "required": ["active"], "properties": {"active": {"type": "boolean"}}}),
                ),
            ),
            json!({"requestBody": form_body(&["token"], json!({"token": {"type": "string"}}), "token=fyp_…")}),
        ),
        op(
            "/oauth/logout",
            "get",
            "oauthLogout",
            "RP-initiated logout",
            "Signs the browser out of fypass: at once with a valid `id_token_hint`, then back to a registered `post_logout_redirect_uri` (with `state`); otherwise asks the person first.",
            error_page(with(
                with(
                    Map::new(),
                    200,
                    html("The question, or the signed-out page."),
                ),
                303,
                redirect,
            )),
            json!({"parameters": [
                query("id_token_hint", false, "An ID token fypass issued."),
                query("post_logout_redirect_uri", false, "A redirect URL of the client."),
                query("client_id", false, "The client (when there is no hint)."),
                query("state", false, "Sent back unchanged."),
            ]}),
        ),
    ]
}

/// The schemas these operations use.
pub fn schemas() -> Map<String, Value> {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let mut schemas = Map::new();
    schemas.insert("OAuthError".into(), json!({
        "type": "object",
        "required": ["error", "error_description", "code", "message"],
        "properties": {
            "error": {"type": "string", "enum": [
                "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                "unsupported_grant_type", "unsupported_response_type", "invalid_scope", "access_denied",
                "login_required", "authorization_pending", "slow_down", "expired_token", "invalid_token",
                "server_error", "temporarily_unavailable"]},
            "error_description": {"type": "string"},
            "code": {"type": "string", "enum": codes, "description": "A code of the Error Code List (/docs/errors)."},
            "message": {"type": "string"}
        }
    }));
    schemas.insert(
        "OAuthTokens".into(),
        json!({
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {"type": "integer"},
                "refresh_token": {"type": "string", "description": "With `offline_access` only."},
                "id_token": {"type": "string", "description": "With `openid`: a JWT signed ES256."},
                "scope": {"type": "string"}
            }
        }),
    );
    schemas.insert("OAuthDeviceAuthorization".into(), json!({
        "type": "object",
        "required": ["device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"],
        "properties": {
            "device_code": {"type": "string"},
            "user_code": {"type": "string"},
            "verification_uri": {"type": "string"},
            "verification_uri_complete": {"type": "string"},
            "expires_in": {"type": "integer"},
            "interval": {"type": "integer"}
        }
    }));
    schemas
}
