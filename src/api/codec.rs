//! The request-body encoding of the REST routes.
//!
//! It is Leptos' JSON encoding with three differences an API user notices:
//! * a decoding failure names the field (`deviceInfo.platform`), via `serde_path_to_error`,
//!   and arrives as `VALIDATION_ERROR` with `details` (see `ApiError::from_server_fn_error`);
//! * an empty body reads as `{}`, so routes whose fields are all optional accept a bare POST;
//! * anything but a JSON object is refused: serde reads a struct from an array too,
//!   field by field in order, so `["fyr_...", "me@example.com", "pw"]` would pass for a
//!   login body;
//! * that's all: the content type is checked where requests enter (`api::dispatch`).

use crate::error::{FieldError, describe_message, strip_position};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::{Serialize, de::DeserializeOwned};
use std::fmt;

/// `POST` with a JSON body: `#[server(input = JsonBody, ...)]`.
pub type JsonBody = Post<StrictJson>;

pub struct StrictJson;

impl ContentType for StrictJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for StrictJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for StrictJson {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for StrictJson {
    type Error = BodyError;

    fn decode(bytes: Bytes) -> Result<T, BodyError> {
        let body: &[u8] = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => b"{}",
            Some(b'{') => &bytes,
            Some(_) => {
                return Err(BodyError(FieldError {
                    field: "body".into(),
                    message: "must be a JSON object".into(),
                }));
            }
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de).map_err(BodyError::from)
    }
}

/// A body that could not be decoded, already phrased as the field error the caller sees.
/// Its `Display` is that field error as JSON: it crosses `server_fn`'s string-typed error
/// plumbing and is read back by `ApiError::from_server_fn_error`.
#[derive(Debug)]
pub struct BodyError(FieldError);

impl From<serde_path_to_error::Error<serde_json::Error>> for BodyError {
    fn from(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        BodyError(describe(&e.path().to_string(), e.inner()))
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(&self.0).map_err(|_| fmt::Error)?)
    }
}

/// Turns serde's wording into a field name and a message without line/column noise.
fn describe(path: &str, e: &serde_json::Error) -> FieldError {
    use serde_json::error::Category;
    if matches!(
        e.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return FieldError {
            field: "body".into(),
            message: format!("is not valid JSON: {}", strip_position(&e.to_string())),
        };
    }
    describe_message(path, &e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Inner {
        platform: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Outer {
        device_id: String,
        device_info: Option<Inner>,
    }

    fn err(body: &str) -> FieldError {
        let e = <StrictJson as Decodes<Outer>>::decode(Bytes::from(body.to_string())).unwrap_err();
        serde_json::from_str(&e.to_string()).unwrap()
    }

    #[test]
    fn names_the_field_for_each_kind_of_mistake() {
        assert_eq!(err("{}").field, "deviceId");
        assert_eq!(err(r#"{"deviceId":"a","x":1}"#).field, "x");
        assert_eq!(err(r#"{"deviceId":5}"#).field, "deviceId");
        assert_eq!(
            err(r#"{"deviceId":"a","deviceInfo":{}}"#).field,
            "deviceInfo.platform"
        );
        let syntax = err("{nope");
        assert_eq!(syntax.field, "body");
        assert!(
            syntax.message.starts_with("is not valid JSON"),
            "{}",
            syntax.message
        );
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in ["[\"a\"]", " [] ", "\"a\"", "1", "null"] {
            let e = err(body);
            assert_eq!(
                (e.field.as_str(), e.message.as_str()),
                ("body", "must be a JSON object"),
                "{body}"
            );
        }
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        #[derive(Deserialize)]
        struct AllOptional {
            #[allow(dead_code)]
            a: Option<String>,
        }
        assert!(<StrictJson as Decodes<AllOptional>>::decode(Bytes::new()).is_ok());
    }
}
