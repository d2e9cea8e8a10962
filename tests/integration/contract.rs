//! The OpenAPI document against the running code: it must describe every REST route and
//! only those, and each route's documented grant must be the one enforced. A server
//! function added under `/api/` without documentation fails the first test.

use crate::support::TestApp;
use fypass::clients::Grant;
use serde_json::Value;

async fn document(t: &TestApp) -> Value {
    let res = t.get("/api/openapi.json").await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn documented(doc: &Value) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.clone(), path.clone()));
        }
    }
    routes.sort();
    routes
}

#[tokio::test]
async fn the_document_describes_exactly_the_registered_rest_routes() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    // The server functions under /api/, and the OAuth routes (`oidc::routes`), which are
    // documented beside them (`oidc::openapi`; each is called in `oidc_routes_answer`).
    let mut registered: Vec<(String, String)> = fypass::api::server_fn_routes()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/"))
        .chain(
            fypass::oidc::openapi::operations()
                .into_iter()
                .map(|op| (op.method.to_string(), op.path.to_string())),
        )
        .collect();
    registered.sort();
    assert_eq!(
        documented(&doc),
        registered,
        "every REST route is documented, and nothing else"
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], format!("http://{}", t.addr));
}

#[tokio::test]
async fn schemas_carry_the_validation_limits_and_strictness() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let schemas = &doc["components"]["schemas"];
    let device_id = &schemas["DeviceInfo"]["properties"]["deviceId"];
    assert_eq!(
        (
            device_id["minLength"].as_u64(),
            device_id["maxLength"].as_u64()
        ),
        (Some(1), Some(128))
    );
    assert_eq!(schemas["DeviceInfo"]["additionalProperties"], false);
    assert_eq!(
        schemas["RegisterBody"]["properties"]["password"]["minLength"],
        8
    );
    let platforms = schemas["Platform"]["enum"].as_array().unwrap();
    assert_eq!(platforms.len(), 7);
    assert!(
        schemas["Device"]["properties"]["deviceId"].is_object(),
        "Device carries deviceInfo's fields"
    );
    let info = &doc["paths"]["/api/v1/clients/info"]["get"];
    assert_eq!(info["security"][0]["clientKey"], serde_json::json!([]));
    let forbidden = info["responses"]["403"]["content"]["application/json"]["schema"]["properties"]
        ["code"]["enum"]
        .as_array()
        .unwrap();
    assert!(
        forbidden.contains(&"UNITSYSTEM00002".into())
            && forbidden.contains(&"CLIENT_ACCOUNT_SUSPENDED".into())
    );
    assert!(doc["paths"]["/api/v1/devices/{id}"]["delete"]["responses"]["204"].is_object());
}

/// For each documented grant: a client with every other grant is refused with
/// UNITSYSTEM00002, and a client with only that grant gets past the grant check.
#[tokio::test]
async fn every_documented_grant_is_the_one_enforced() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(grant) = op["x-grant"].as_str() else {
                continue;
            };
            let grant: Grant = grant.parse().unwrap();
            let others: Vec<Grant> = Grant::ALL
                .into_iter()
                .filter(|g| *g != grant && *g != Grant::All)
                .collect();
            let (_, without) = t.client(&others).await;
            let (_, only) = t.client(&[grant]).await;
            let url = t.url(&path.replace("{id}", &uuid::Uuid::now_v7().to_string()));
            let call = |key: String| {
                let req = t
                    .http
                    .request(method.to_uppercase().parse().unwrap(), url.clone())
                    .header("x-client-key", key);
                let req = if method == "post" {
                    req.json(&serde_json::json!({}))
                } else {
                    req
                };
                async move {
                    let res = req.send().await.unwrap();
                    let status = res.status().as_u16();
                    let code = res
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|b| b["code"].as_str().map(String::from));
                    (status, code)
                }
            };
            assert_eq!(
                call(without).await,
                (403, Some("UNITSYSTEM00002".into())),
                "{method} {path} without {grant}"
            );
            assert_ne!(
                call(only).await.1.as_deref(),
                Some("UNITSYSTEM00002"),
                "{method} {path} with {grant}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 11, "every client route was checked");
}

#[tokio::test]
async fn the_endpoints_page_shows_every_documented_operation() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let res = t.get("/docs/api").await;
    assert_eq!(res.status(), 200);
    let html = TestApp::page_html(res).await;
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let id = op["operationId"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"{id}\"")), "{method} {path}");
        assert!(
            html.contains(&format!("curl -X {}", method.to_uppercase())),
            "{method} {path}: curl"
        );
        if let Some(grant) = op["x-grant"].as_str() {
            assert!(
                html.contains(&format!("<code>{grant}</code>")),
                "{method} {path}: grant"
            );
        }
    }
    for schema in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            html.contains(&format!("id=\"schema-{schema}\"")),
            "{schema}"
        );
    }
    assert!(
        t.get("/docs")
            .await
            .text()
            .await
            .unwrap()
            .contains("href=\"/docs/api\"")
    );
}

/// The components carry the codes as they travel: the `ErrorCode` schema (and so
/// `ApiError.code`) lists `UNITSYSTEM00001`, never the Rust name `UnknownClientKey`, so a
/// client generated from the document knows the codes it will receive.
#[tokio::test]
async fn the_error_code_schema_lists_the_codes_the_server_sends() {
    use fypass::error::ErrorCode;
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    let schemas = &doc["components"]["schemas"];
    let listed: Vec<String> = schemas["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let wire: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(listed, wire, "the schema's codes are the serialized codes");
    assert!(
        schemas["ApiError"]["properties"]["code"]
            .to_string()
            .contains("#/components/schemas/ErrorCode"),
        "{}",
        schemas["ApiError"]
    );
    // Every code a route documents is one the component lists.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for response in op["responses"].as_object().unwrap().values() {
                let codes = &response["content"]["application/json"]["schema"]["properties"]["code"]
                    ["enum"];
                for code in codes.as_array().into_iter().flatten() {
                    assert!(
                        listed.contains(&code.as_str().unwrap().to_string()),
                        "{method} {path}: {code}"
                    );
                }
            }
        }
    }
    // And what the running server answers is in it.
    let app = t.app_client().await;
    let (_, reader) = t.client(&[Grant::DevicesRead]).await;
    let answers = [
        t.get("/api/v1/clients/info").await,
        t.get_as(&reader, "/api/v1/clients/info").await,
        t.get_as(&app.key, "/api/v1/devices/not-an-id").await,
        t.get_as(&app.key, "/api/v1/no-such-route").await,
        t.http
            .post(t.url("/api/v1/devices"))
            .header("x-client-key", &app.key)
            .json(&serde_json::json!({"deviceId": ""}))
            .send()
            .await
            .unwrap(),
    ];
    let mut seen = Vec::new();
    for res in answers {
        let body: Value = res.json().await.unwrap();
        let code = body["code"].as_str().unwrap().to_string();
        assert!(listed.contains(&code), "{code} is sent but not listed");
        seen.push(code);
    }
    assert_eq!(
        seen,
        [
            "UNITSYSTEM00001",
            "UNITSYSTEM00002",
            "INVALID_OBJECT_ID",
            "NOT_FOUND",
            "VALIDATION_ERROR"
        ]
    );
}

/// Every documented OAuth operation is a route of the running server (not `NOT_FOUND` or
/// `METHOD_NOT_ALLOWED`), and answers one of its documented statuses when called bare.
#[tokio::test]
async fn oidc_routes_answer() {
    let t = TestApp::spawn().await;
    let doc = document(&t).await;
    for op in fypass::oidc::openapi::operations() {
        let res = t
            .http
            .request(op.method.to_uppercase().parse().unwrap(), t.url(op.path))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{} {}: {status}",
            op.method,
            op.path
        );
        assert!(
            doc["paths"][op.path][op.method]["responses"][status.to_string()].is_object(),
            "{} {}: {status} is not documented",
            op.method,
            op.path
        );
    }
}
