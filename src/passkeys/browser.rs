//! The browser's side of passkeys, in this crate's WASM: WebAuthn's JSON form
//! (`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`, and
//! `toJSON()` on the answer) does every base64url conversion, so what crosses to the server
//! is the JSON WebAuthn defines. web-sys has these only as unstable APIs, hence the three
//! declarations below.

use js_sys::{JSON, Promise, Reflect};
use wasm_bindgen::{JsValue, prelude::wasm_bindgen};

#[wasm_bindgen]
extern "C" {
    type PublicKeyCredentialStatics;

    #[wasm_bindgen(static_method_of = PublicKeyCredentialStatics, js_class = "PublicKeyCredential",
                   js_name = parseCreationOptionsFromJSON, catch)]
    fn parse_creation_options_from_json(json: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(static_method_of = PublicKeyCredentialStatics, js_class = "PublicKeyCredential",
                   js_name = parseRequestOptionsFromJSON, catch)]
    fn parse_request_options_from_json(json: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(static_method_of = PublicKeyCredentialStatics, js_class = "PublicKeyCredential",
                   js_name = isConditionalMediationAvailable, catch)]
    fn is_conditional_mediation_available() -> Result<Promise, JsValue>;
}

/// Whether this browser can use passkeys here (WebAuthn with its JSON helpers).
pub fn supported() -> bool {
    Reflect::get(&js_sys::global(), &"PublicKeyCredential".into())
        .ok()
        .filter(|p| !p.is_undefined())
        .and_then(|p| Reflect::get(&p, &"parseRequestOptionsFromJSON".into()).ok())
        .is_some_and(|f| f.is_function())
}

/// Whether the browser offers passkeys in an input's autofill (conditional mediation).
pub async fn autofill_available() -> bool {
    if !supported() {
        return false;
    }
    match PublicKeyCredentialStatics::is_conditional_mediation_available() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn credentials() -> Result<web_sys::CredentialsContainer, JsValue> {
    Ok(web_sys::window()
        .ok_or_else(|| JsValue::from_str("no window"))?
        .navigator()
        .credentials())
}

/// The answer as JSON (`JSON.stringify` calls the credential's `toJSON()`).
fn to_json(credential: &JsValue) -> Result<serde_json::Value, JsValue> {
    let text: String = JSON::stringify(credential)?.into();
    serde_json::from_str(&text).map_err(|e| JsValue::from_str(&e.to_string()))
}

fn to_js(value: &serde_json::Value) -> Result<JsValue, JsValue> {
    JSON::parse(&value.to_string())
}

/// Creates a passkey with the server's `PublicKeyCredentialCreationOptions`.
pub async fn create(public_key: &serde_json::Value) -> Result<serde_json::Value, JsValue> {
    let options = web_sys::CredentialCreationOptions::new();
    let public_key =
        PublicKeyCredentialStatics::parse_creation_options_from_json(&to_js(public_key)?)?;
    Reflect::set(&options, &"publicKey".into(), &public_key)?;
    let promise = credentials()?.create_with_options(&options)?;
    let credential = wasm_bindgen_futures::JsFuture::from(promise).await?;
    if credential.is_null() {
        return Err(JsValue::from_str("no passkey was made"));
    }
    to_json(&credential)
}

/// Signs in with a passkey, with the server's `PublicKeyCredentialRequestOptions`; with a
/// `signal`, as autofill (conditional mediation), which waits until the person picks one.
pub async fn get(
    public_key: &serde_json::Value,
    autofill: Option<&web_sys::AbortSignal>,
) -> Result<Option<serde_json::Value>, JsValue> {
    let options = web_sys::CredentialRequestOptions::new();
    let public_key =
        PublicKeyCredentialStatics::parse_request_options_from_json(&to_js(public_key)?)?;
    Reflect::set(&options, &"publicKey".into(), &public_key)?;
    if let Some(signal) = autofill {
        Reflect::set(&options, &"mediation".into(), &"conditional".into())?;
        options.set_signal(signal);
    }
    let promise = credentials()?.get_with_options(&options)?;
    let credential = wasm_bindgen_futures::JsFuture::from(promise).await?;
    if credential.is_null() {
        return Ok(None);
    }
    to_json(&credential).map(Some)
}

/// The name of a DOMException: `NotAllowedError` (cancelled or timed out), `AbortError`
/// (aborted by us), `InvalidStateError` (this authenticator has a passkey for the account).
pub fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}
