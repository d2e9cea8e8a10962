//! The docs pages' view of the REST API, read from the OpenAPI document alone (so the
//! pages can only show what the document says): `/docs/api`'s endpoints and schemas, and
//! the grants table of `/docs`.

use super::{ApiReference, Endpoint, GrantUse, Parameter, Reply};
use crate::tr;
use serde_json::Value;

/// The operations in the order the API presents them (`openapi::operations`).
fn in_order() -> Vec<(&'static str, &'static str)> {
    let oauth = crate::oidc::openapi::operations();
    crate::openapi::operations()
        .iter()
        .map(|op| (op.path, op.method))
        .chain(oauth.iter().map(|op| (op.path, op.method)))
        .collect()
}

/// The API reference the `/docs/api` page shows, read from the document alone.
pub fn reference(doc: &Value) -> ApiReference {
    let origin = doc["servers"][0]["url"].as_str().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    // A schema's name: its `$ref`'s, or (an array) its items'.
    let schema_name = |v: &Value| {
        v["$ref"]
            .as_str()
            .or_else(|| v["items"]["$ref"].as_str())
            .and_then(|r| r.rsplit('/').next())
            .map(String::from)
    };
    let mut endpoints = Vec::new();
    for (path, method) in in_order() {
        let o = &doc["paths"][path][method];
        let security: Vec<String> = o["security"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|alt| {
                alt.as_object()
                    .map(|m| m.keys().cloned().collect::<Vec<_>>().join(" + "))
                    .unwrap_or_default()
            })
            .collect();
        // In the language of the request the page is rendered for.
        let auth = match security.as_slice() {
            [] => tr!(docs.auth.none),
            [one] if one == "clientKey" => "x-client-key",
            [_] => tr!(docs.auth.bearer),
            _ => tr!(docs.auth.optional_bearer),
        }
        .to_string();
        let params = o["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Parameter {
                name: text(&p["name"]),
                location: text(&p["in"]),
                required: p["required"].as_bool().unwrap_or(false),
                description: text(&p["description"]),
            })
            .collect();
        let content = &o["requestBody"]["content"]["application/json"];
        let example = content
            .get("example")
            .map(|e| serde_json::to_string_pretty(e).unwrap_or_default());
        let mut replies: Vec<Reply> = o["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, r)| {
                let schema = &r["content"]["application/json"]["schema"];
                Reply {
                    status: status.parse().unwrap_or_default(),
                    description: text(&r["description"]),
                    schema: schema_name(schema),
                    codes: schema["properties"]["code"]["enum"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect(),
                }
            })
            .collect();
        replies.sort_by_key(|r| r.status);
        let grant = o["x-grant"].as_str().map(String::from);
        let bearer = security.iter().any(|s| s.contains("bearerAuth"));
        let method_upper = method.to_uppercase();
        let mut url = format!(
            "{origin}{}",
            path.replace("{id}", "01a210dc-ea3f-7175-8a91-33128a8252bb")
        );
        let first_query = o["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["in"] == "query");
        if let Some(p) = first_query {
            url.push_str(&format!("?{}=…", text(&p["name"])));
        }
        let mut curl = format!("curl -X {method_upper} '{url}'");
        if grant.is_some() {
            curl.push_str(" \\\n  -H \"x-client-key: $FYPASS_KEY\"");
        }
        if bearer {
            curl.push_str(" \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\"");
        }
        if let Some(body) = content.get("example") {
            curl.push_str(&format!(
                " \\\n  -H 'content-type: application/json' \\\n  -d '{body}'"
            ));
        }
        // The document appends the grant to the description; the page shows it apart.
        let description = text(&o["description"]);
        let description = match &grant {
            Some(g) => description
                .strip_suffix(&format!("Requires the `{g}` grant."))
                .unwrap_or(&description)
                .trim_end()
                .to_string(),
            None => description,
        };
        endpoints.push(Endpoint {
            anchor: text(&o["operationId"]),
            method: method_upper,
            path: path.to_string(),
            summary: text(&o["summary"]),
            description,
            grant,
            auth,
            params,
            body: schema_name(&content["schema"]),
            body_required: o["requestBody"]["required"].as_bool().unwrap_or(false),
            example,
            replies,
            curl,
        });
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            (
                name.clone(),
                serde_json::to_string_pretty(schema).unwrap_or_default(),
            )
        })
        .collect();
    ApiReference { endpoints, schemas }
}

/// For each grant, the routes that require it, from the operations' `x-grant`.
pub fn grant_uses(doc: &Value) -> Vec<GrantUse> {
    let mut uses: Vec<GrantUse> = crate::clients::Grant::ALL
        .iter()
        .map(|g| GrantUse {
            grant: g.as_str().to_string(),
            routes: Vec::new(),
        })
        .collect();
    for (path, method) in in_order() {
        let Some(grant) = doc["paths"][path][method]["x-grant"].as_str() else {
            continue;
        };
        if let Some(u) = uses.iter_mut().find(|u| u.grant == grant) {
            u.routes.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    uses
}
