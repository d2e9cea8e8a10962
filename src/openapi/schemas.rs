//! The component schemas: derived (`utoipa::ToSchema`) from the types the routes take and
//! return, then given what validation enforces beyond the types (lengths, patterns,
//! formats).

use crate::{
    account::Reauthenticate,
    api::JsonArgs,
    clients::ClientInfo,
    codes::{
        FypassCodeLogin, FypassRecovery, FypassRecoveryComplete, FypassVerify, Sent, Verified,
    },
    devices::{Device, DevicePage, SaveDevice},
    error::{ApiError, FieldError},
    factors::FypassSecondFactor,
    login::{
        Completion, Confirmed, FypassConfirm, FypassLogin, FypassRegister, FypassUrl,
        LoginStatusReply, StartLogin,
    },
    passkeys::{
        PasskeyChallenge, PasskeyLoginFinish, PasskeyLoginStart, PasskeyRegisterStart, PasskeyView,
        RenamePasskey,
    },
    tokens::{Introspect, Introspection, Logout, RefreshTokens, TokenPair},
    users::User,
};
use serde_json::{Map, Value, json};
use utoipa::{ToSchema, openapi::ComponentsBuilder};

/// The shape of a reqToken (`crate::secret` issues them).
pub(super) fn req_token_pattern() -> String {
    format!("^{}[A-Za-z0-9_-]{{43}}$", crate::login::REQ_TOKEN_PREFIX)
}

/// A reference to the component schema `name`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Adds `T`'s schema and those of the types it refers to.
fn add<T: ToSchema>(builder: ComponentsBuilder) -> ComponentsBuilder {
    let mut dependencies = Vec::new();
    T::schemas(&mut dependencies);
    builder.schema_from::<T>().schemas_from_iter(dependencies)
}

/// The schemas of every type the operations use (and the types those use).
pub(super) fn schemas() -> Map<String, Value> {
    let mut builder = ComponentsBuilder::new();
    builder = add::<ClientInfo>(builder);
    builder = add::<<StartLogin as JsonArgs>::Body>(builder);
    builder = add::<FypassUrl>(builder);
    builder = add::<LoginStatusReply>(builder);
    builder = add::<<FypassLogin as JsonArgs>::Body>(builder);
    builder = add::<<FypassRegister as JsonArgs>::Body>(builder);
    builder = add::<Completion>(builder);
    builder = add::<<FypassRecovery as JsonArgs>::Body>(builder);
    builder = add::<<FypassRecoveryComplete as JsonArgs>::Body>(builder);
    builder = add::<<FypassCodeLogin as JsonArgs>::Body>(builder);
    builder = add::<<FypassSecondFactor as JsonArgs>::Body>(builder);
    builder = add::<<FypassVerify as JsonArgs>::Body>(builder);
    builder = add::<Sent>(builder);
    builder = add::<<PasskeyLoginStart as JsonArgs>::Body>(builder);
    builder = add::<<PasskeyLoginFinish as JsonArgs>::Body>(builder);
    builder = add::<<PasskeyRegisterStart as JsonArgs>::Body>(builder);
    builder = add::<<RenamePasskey as JsonArgs>::Body>(builder);
    builder = add::<<Reauthenticate as JsonArgs>::Body>(builder);
    builder = add::<PasskeyChallenge>(builder);
    builder = add::<PasskeyView>(builder);
    builder = add::<Verified>(builder);
    builder = add::<<RefreshTokens as JsonArgs>::Body>(builder);
    builder = add::<TokenPair>(builder);
    builder = add::<User>(builder);
    builder = add::<<Introspect as JsonArgs>::Body>(builder);
    builder = add::<Introspection>(builder);
    builder = add::<<Logout as JsonArgs>::Body>(builder);
    builder = add::<<FypassConfirm as JsonArgs>::Body>(builder);
    builder = add::<Confirmed>(builder);
    builder = add::<<SaveDevice as JsonArgs>::Body>(builder);
    builder = add::<Device>(builder);
    builder = add::<DevicePage>(builder);
    builder = add::<ApiError>(builder);
    builder = add::<FieldError>(builder);
    let mut value = serde_json::to_value(builder.build()).expect("schemas serialize");
    let mut schemas = match value["schemas"].take() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    apply_limits(&mut schemas);
    flatten_device(&mut schemas);
    schemas
}

/// Sets `minLength`/`maxLength` from the constants validation enforces.
fn apply_limits(schemas: &mut Map<String, Value>) {
    use crate::{login, password};
    let mut limits: Vec<(&str, &str, usize, usize)> = crate::devices::LIMITS
        .iter()
        .map(|(field, max)| ("DeviceInfo", *field, 1, *max))
        .collect();
    limits.extend([
        ("StartLoginBody", "redirectUrl", 1, login::MAX_URL_CHARS),
        ("StartLoginBody", "locale", 1, login::MAX_LOCALE_CHARS),
        ("LoginBody", "password", 1, password::MAX_CHARS),
        ("RegisterBody", "name", 1, login::MAX_NAME_CHARS),
        (
            "RecoveryCompleteBody",
            "newPassword",
            password::MIN_CHARS,
            password::MAX_CHARS,
        ),
        (
            "RegisterBody",
            "email",
            1,
            crate::users::identifier::MAX_EMAIL_CHARS,
        ),
        (
            "RegisterBody",
            "password",
            password::MIN_CHARS,
            password::MAX_CHARS,
        ),
    ]);
    for (schema, field, min, max) in limits {
        let property = &mut schemas[schema]["properties"][field];
        assert!(
            property.is_object(),
            "{schema}.{field} is not a documented property"
        );
        property["minLength"] = min.into();
        property["maxLength"] = max.into();
    }
    schemas["RegisterBody"]["properties"]["email"]["format"] = "email".into();
    schemas["ConfirmBody"]["properties"]["userCode"]["pattern"] =
        "^[A-Za-z]{4}[- ]?[A-Za-z]{4}$".into();
    for schema in ["RecoveryCompleteBody", "CodeLoginBody", "VerifyBody"] {
        schemas[schema]["properties"]["code"]["pattern"] = "^[0-9]{6}$".into();
    }
    for schema in [
        "LoginBody",
        "RegisterBody",
        "ConfirmBody",
        "SendCodeBody",
        "RecoveryCompleteBody",
        "CodeLoginBody",
    ] {
        schemas[schema]["properties"]["reqToken"]["pattern"] = req_token_pattern().into();
    }
    for (schema, field) in [
        ("ClientInfo", "createdAt"),
        ("FypassUrl", "expiresAt"),
        ("LoginStatusReply", "expiresAt"),
        ("LoginStatusReply", "accessTokenExpiresAt"),
        ("LoginStatusReply", "refreshTokenExpiresAt"),
        ("TokenPair", "accessTokenExpiresAt"),
        ("TokenPair", "refreshTokenExpiresAt"),
        ("Introspection", "expiresAt"),
        ("User", "createdAt"),
    ] {
        schemas[schema]["properties"][field]["format"] = "date-time".into();
    }
}

/// `Device` flattens `DeviceInfo` into itself; its schema is written as one object, since
/// `DeviceInfo` alone forbids properties (`id`, ...) that a saved device has.
fn flatten_device(schemas: &mut Map<String, Value>) {
    let info = schemas["DeviceInfo"].clone();
    let device = &mut schemas["Device"];
    let Some(parts) = device.get("allOf").and_then(Value::as_array).cloned() else {
        return;
    };
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for part in parts {
        let part = if part.get("$ref").is_some() {
            info.clone()
        } else {
            part
        };
        if let Some(p) = part["properties"].as_object() {
            properties.extend(p.clone());
        }
        if let Some(r) = part["required"].as_array() {
            required.extend(r.iter().cloned());
        }
    }
    *device = json!({"type": "object", "properties": properties, "required": required});
}
