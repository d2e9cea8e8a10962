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
    let registered: Vec<(String, String)> = fypass::api::server_fn_routes()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/"))
        .collect();
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
