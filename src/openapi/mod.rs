//! The OpenAPI 3.1 document of the REST API, served at `/api/openapi.json`, built from
//! the code rather than written beside it:
//!
//! * every schema is derived (`utoipa::ToSchema`) from the type the server function takes
//!   or returns, and a JSON route's body type comes from its `json_body!` declaration;
//! * every path and method is the server function's own (`ServerFn::PATH` and its input
//!   encoding's method);
//! * length limits are the constants the validation uses;
//! * error responses list, per status, the codes the route can answer, from the one
//!   `ErrorCode` table.
//!
//! * each client route's grant is read from its `#[middleware(RequireGrant(..))]`
//!   attribute (`clients::auth::grant_of`).
//!
//! What remains stated here — each route's summary, parameters and error codes — is held
//! to the code by tests: the documented routes must be exactly the registered ones, the
//! documented query parameters exactly a function's arguments, and each documented grant
//! must be the one enforced (`tests/integration/contract.rs`).
//!
//! The parts: `op` (one operation: its builder and its JSON), `routes` (the route table),
//! `schemas` (the component schemas and the limits set on them); this file puts them
//! together with the OAuth / OpenID Connect routes into the document.

mod op;
mod routes;
mod schemas;

pub use op::Op;
pub use routes::operations;

use op::operation;
use schemas::schemas;
use serde_json::{Map, Value, json};

/// The whole document for a deployment at `public_origin`.
pub fn document(public_origin: &str) -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = operation(&op);
    }
    // The OAuth / OpenID Connect routes, written beside them (`oidc::openapi`).
    for op in crate::oidc::openapi::operations() {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = op.operation;
    }
    let mut schemas = schemas();
    schemas.extend(crate::oidc::openapi::schemas());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "fypass Core API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Client keys, the hosted login flow (fypass), and devices. Every error is \
                            `{ \"code\", \"message\" }` (plus `details` for validation); see /docs/errors."
        },
        "servers": [{"url": public_origin}],
        "tags": [
            {"name": "Clients"}, {"name": "Users"}, {"name": "Tokens"},
            {"name": "fypass", "description": "Used by the hosted pages."},
            {"name": "Passkeys", "description": "Sign-in with passkeys, and the signed-in person's passkeys (browser session)."},
            {"name": "Devices"},
            {"name": crate::oidc::openapi::TAG, "description": "OAuth 2.0 and OpenID Connect (/docs#oidc)."}
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "clientKey": {"type": "apiKey", "in": "header", "name": "x-client-key", "description": "The client's key (fyk_…)."},
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A person's access token (fyp_…) from the login flow or a refresh."}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn every_error_response_lists_codes_of_its_own_status() {
        let doc = document("http://x");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    let Some(codes) = response["content"]["application/json"]["schema"]["properties"]["code"]["enum"].as_array() else {
                        continue;
                    };
                    for code in codes {
                        let code: ErrorCode = code.as_str().unwrap().parse().unwrap();
                        assert_eq!(code.status().to_string(), *status, "{method} {path}");
                    }
                }
            }
        }
    }
}
