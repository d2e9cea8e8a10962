//! One documented operation: the builder the route table writes each route with, and the
//! operation object of the document it becomes (its responses, error codes by status,
//! security and body).

use super::schemas::schema_ref;
use crate::{api::JsonArgs, clients::Grant, error::ErrorCode};
use leptos::server_fn::{Protocol, ServerFn};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Codes any route can answer: the deadline, the database, the unexpected.
const ALWAYS: [ErrorCode; 3] = [
    ErrorCode::RequestTimeout,
    ErrorCode::ServiceUnavailable,
    ErrorCode::InternalError,
];
/// Codes of the client-key check every client route runs first.
const CLIENT_AUTH: [ErrorCode; 5] = [
    ErrorCode::UnknownClientKey,
    ErrorCode::ClientAccountInactive,
    ErrorCode::ClientAccountSuspended,
    ErrorCode::ClientAccountDeleted,
    ErrorCode::EndpointNotGranted,
];

/// Whether an operation takes a person's access token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Bearer {
    No,
    Optional,
    Required,
}

/// One documented operation.
pub struct Op {
    pub path: &'static str,
    pub method: &'static str,
    pub(super) id: &'static str,
    summary: &'static str,
    description: &'static str,
    tag: &'static str,
    pub grant: Option<Grant>,
    bearer: Bearer,
    pub query: Vec<&'static str>,
    params: Vec<Value>,
    body: Option<(String, bool)>,
    example: Option<Value>,
    /// Each success status, its description, and its body's schema (a `$ref`, or an array
    /// of one).
    success: Vec<(u16, &'static str, Option<Value>)>,
    errors: Vec<ErrorCode>,
    /// What the `Set-Cookie` of a success reply is, if it sets one.
    cookie: Option<&'static str>,
}

/// The operation of the server function `S`: its path and method are the function's own,
/// its grant the one its `RequireGrant` enforces, so neither can drift from the code.
pub(super) fn op<S>(id: &'static str, summary: &'static str, tag: &'static str) -> Op
where
    S: ServerFn,
    S::Server: leptos::server_fn::server::Server<
            S::Error,
            S::InputStreamError,
            S::OutputStreamError,
            Request = axum::extract::Request,
            Response = axum::response::Response,
        >,
{
    let method = <S::Protocol as Protocol<
        S,
        S::Output,
        S::Client,
        S::Server,
        S::Error,
        S::InputStreamError,
        S::OutputStreamError,
    >>::METHOD;
    let method: &'static str = match method.as_str() {
        "GET" => "get",
        "POST" => "post",
        "DELETE" => "delete",
        "PUT" => "put",
        "PATCH" => "patch",
        other => panic!("{id}: undocumentable method {other}"),
    };
    let grant = crate::clients::auth::grant_of::<S>();
    let mut errors = ALWAYS.to_vec();
    if grant.is_some() {
        // A client route checks the key, the client's status and the grant first.
        errors.extend(CLIENT_AUTH);
    }
    Op {
        path: S::PATH,
        method,
        id,
        summary,
        description: "",
        tag,
        grant,
        bearer: Bearer::No,
        query: Vec::new(),
        params: Vec::new(),
        body: None,
        example: None,
        success: Vec::new(),
        errors,
        cookie: None,
    }
}

impl Op {
    pub(super) fn describe(mut self, text: &'static str) -> Self {
        self.description = text;
        self
    }

    /// `Authorization: Bearer <accessToken>` is `Optional` or `Required`.
    pub(super) fn bearer(mut self, bearer: Bearer) -> Self {
        self.bearer = bearer;
        self.errors.push(ErrorCode::Unauthorized);
        self
    }

    /// A JSON body: the function's own body type (from `json_body!`).
    pub(super) fn json_body<S: JsonArgs>(mut self, required: bool) -> Self
    where
        S::Body: ToSchema,
    {
        self.body = Some((S::Body::name().into_owned(), required));
        self.errors
            .extend([ErrorCode::ValidationError, ErrorCode::PayloadTooLarge]);
        self
    }

    /// An example request body (shown in the docs and its curl line, and sent by the
    /// contract test's examples phase).
    pub(super) fn example(mut self, body: Value) -> Self {
        self.example = Some(body);
        self
    }

    pub(super) fn query(
        mut self,
        name: &'static str,
        schema: Value,
        required: bool,
        description: &'static str,
    ) -> Self {
        self.query.push(name);
        self.params.push(json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema}));
        if !self.errors.contains(&ErrorCode::ValidationError) {
            self.errors.push(ErrorCode::ValidationError);
        }
        self
    }

    pub(super) fn path_id(mut self, description: &'static str) -> Self {
        self.params.push(json!({"name": "id", "in": "path", "required": true, "description": description, "schema": {"type": "string"}}));
        self.errors.push(ErrorCode::InvalidObjectId);
        self
    }

    pub(super) fn reply<T: ToSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.success
            .push((status, description, Some(schema_ref(&T::name()))));
        self
    }

    /// A reply that is a JSON array of `T`.
    pub(super) fn reply_list<T: ToSchema>(
        mut self,
        status: u16,
        description: &'static str,
    ) -> Self {
        let items = schema_ref(&T::name());
        self.success.push((
            status,
            description,
            Some(json!({"type": "array", "items": items})),
        ));
        self
    }

    pub(super) fn no_content(mut self, description: &'static str) -> Self {
        self.success.push((204, description, None));
        self
    }

    pub(super) fn sets_session_cookie(mut self) -> Self {
        self.cookie = Some("The browser session (HttpOnly, SameSite=Lax).");
        self
    }

    pub(super) fn sets_cookie(mut self, description: &'static str) -> Self {
        self.cookie = Some(description);
        self
    }

    pub(super) fn errors(mut self, codes: &[ErrorCode]) -> Self {
        for code in codes {
            if !self.errors.contains(code) {
                self.errors.push(*code);
            }
        }
        self
    }
}

/// An error response for `codes` (all with one HTTP status).
fn error_response(status: u16, codes: &[ErrorCode]) -> Value {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let mut example = json!({"code": names[0], "message": codes[0].message()});
    if codes[0] == ErrorCode::ValidationError {
        example["details"] = json!([{"field": "deviceId", "message": "is required"}]);
    }
    let description = codes
        .iter()
        .map(|c| format!("`{}`: {}", c.as_str(), c.message()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut response = json!({
        "description": description,
        "content": {"application/json": {
            "schema": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": names},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
                    "retryAfter": {"type": "integer", "minimum": 1}
                }
            },
            "example": example
        }}
    });
    if status == 429 {
        response["headers"] = json!({"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}});
    }
    response
}

/// The operation object `op` becomes in the document.
pub(super) fn operation(op: &Op) -> Value {
    let mut responses = Map::new();
    for (status, description, schema) in &op.success {
        let mut response = json!({"description": description});
        if let Some(schema) = schema {
            response["content"] = json!({"application/json": {"schema": schema}});
        }
        if let Some(cookie) = op.cookie {
            response["headers"] =
                json!({"Set-Cookie": {"description": cookie, "schema": {"type": "string"}}});
        }
        responses.insert(status.to_string(), response);
    }
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in &op.errors {
        by_status.entry(code.status()).or_default().push(*code);
    }
    for (status, codes) in by_status {
        responses.insert(status.to_string(), error_response(status, &codes));
    }
    let security = match (op.grant, op.bearer) {
        (None, _) => json!([]),
        (Some(_), Bearer::No) => json!([{"clientKey": []}]),
        (Some(_), Bearer::Optional) => {
            json!([{"clientKey": [], "bearerAuth": []}, {"clientKey": []}])
        }
        (Some(_), Bearer::Required) => json!([{"clientKey": [], "bearerAuth": []}]),
    };
    let mut operation = json!({
        "operationId": op.id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": security,
        "responses": responses,
    });
    let grant_note = op.grant.map(|g| format!("\n\nRequires the `{g}` grant."));
    operation["description"] = format!("{}{}", op.description, grant_note.unwrap_or_default())
        .trim()
        .into();
    if let Some(grant) = op.grant {
        operation["x-grant"] = grant.as_str().into();
    }
    if !op.params.is_empty() {
        operation["parameters"] = op.params.clone().into();
    }
    if let Some((schema, required)) = &op.body {
        operation["requestBody"] = json!({
            "required": required,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
        });
        if let Some(example) = &op.example {
            operation["requestBody"]["content"]["application/json"]["example"] = example.clone();
        }
    }
    operation
}
