//! Decoders' error messages, in serde's wording, as the field error a caller sees. Both the
//! REST body decoder (`api::codec`) and a server function's query decoding (read back in
//! `ApiError::from_server_fn_error`) phrase their failures this way.

use super::FieldError;

/// `text` without serde_json's " at line 1 column 7" suffix.
pub(crate) fn strip_position(text: &str) -> &str {
    match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// A field error from a decoder's message in serde's wording (as `serde_json` and the
/// query-string decoder both word it), `path` being where the decoder stood.
pub fn describe_message(path: &str, text: &str) -> FieldError {
    let text = strip_position(text);
    let at_root = matches!(path, "." | "");
    // A missing field is reported at its parent's path, with its name in the message.
    if let Some((_, rest)) = text.split_once("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return FieldError {
            field: if at_root {
                name.to_string()
            } else {
                format!("{path}.{name}")
            },
            message: "is required".into(),
        };
    }
    if let Some((_, rest)) = text.split_once("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return FieldError {
            field: if at_root {
                name.to_string()
            } else {
                path.to_string()
            },
            message: "is not a known field".into(),
        };
    }
    FieldError {
        field: if at_root { "body".into() } else { path.into() },
        message: text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_messages_name_the_field() {
        assert_eq!(
            describe_message(".", "failed with reason: missing field `reqToken`").field,
            "reqToken"
        );
        assert_eq!(
            describe_message("deviceInfo", "unknown field `x`, expected one of ...").field,
            "deviceInfo"
        );
        assert_eq!(describe_message(".", "invalid type: integer").field, "body");
    }
}
