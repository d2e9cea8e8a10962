//! `/docs/api`: every endpoint and schema, from the OpenAPI document (`reference`).

use super::{ApiReference, CodeBlock, Endpoint};
use crate::{
    error::ApiError,
    tr,
    ui::{ErrorPanel, Prose},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use leptos_meta::Title;

/// The API reference, from the OpenAPI document (an internal route of the docs page).
#[server(prefix = "/_app", endpoint = "api-reference", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_api_reference() -> Result<ApiReference, ApiError> {
    let config = crate::request::state()?.config;
    let doc = crate::openapi::document(&config.public_origin());
    Ok(super::reference::reference(&doc))
}

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = OnceResource::new_blocking(get_api_reference());
    view! {
        <Title text=tr!(docs.endpoints.title) />
        <article class="doc reference">
            <h1>{tr!(docs.endpoints.title)}</h1>
            <p class="lead"><Prose text=tr!(docs.endpoints.lead) /></p>
            <Suspense fallback=|| view! { <p>{tr!(common.loading)}</p> }>
                {move || reference.get().map(|r| match r {
                    Ok(r) => view! { <Reference reference=r /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                })}
            </Suspense>
        </article>
    }
}

#[component]
fn Reference(reference: ApiReference) -> impl IntoView {
    view! {
        <nav class="toc" aria-label=tr!(docs.endpoints.toc_label)>
            <ul>
                {reference.endpoints.iter().map(|e| view! {
                    <li>
                        <a href=format!("#{}", e.anchor)>
                            <span class=format!("method method-{}", e.method.to_lowercase())>{e.method.clone()}</span>
                            <code>{e.path.clone()}</code>
                        </a>
                    </li>
                }).collect_view()}
            </ul>
        </nav>
        {reference.endpoints.into_iter().map(|e| view! { <EndpointCard e /> }).collect_view()}
        <section>
            <h2 id="schemas">{tr!(docs.endpoints.schemas)}</h2>
            {reference.schemas.into_iter().map(|(name, json)| view! {
                <h3 id=format!("schema-{name}")>{name.clone()}</h3>
                <CodeBlock code=json />
            }).collect_view()}
        </section>
    }
}

fn schema_link(name: String) -> impl IntoView {
    view! { <a href=format!("#schema-{name}")><code>{name.clone()}</code></a> }
}

#[component]
fn EndpointCard(e: Endpoint) -> impl IntoView {
    view! {
        <section class="endpoint" id=e.anchor.clone()>
            <h2>
                <span class=format!("method method-{}", e.method.to_lowercase())>{e.method.clone()}</span>
                <code class="path">{e.path.clone()}</code>
            </h2>
            <p class="endpoint-summary">{e.summary.clone()}</p>
            {(!e.description.is_empty()).then(|| view! { <p>{e.description.clone()}</p> })}
            <dl class="facts">
                <dt>{tr!(docs.endpoints.grant)}</dt>
                <dd>{match e.grant.clone() {
                    Some(g) => view! { <code>{g}</code> }.into_any(),
                    None => view! { <span>{tr!(docs.endpoints.none)}</span> }.into_any(),
                }}</dd>
                <dt>{tr!(docs.endpoints.authentication)}</dt>
                <dd>{e.auth.clone()}</dd>
            </dl>
            {(!e.params.is_empty()).then(|| view! {
                <h3>{tr!(docs.endpoints.parameters)}</h3>
                <table class="table">
                    <thead>
                        <tr>
                            <th>{tr!(docs.endpoints.name)}</th>
                            <th>{tr!(docs.endpoints.location)}</th>
                            <th>{tr!(docs.endpoints.required)}</th>
                            <th>{tr!(docs.endpoints.description)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {e.params.iter().map(|p| view! {
                            <tr>
                                <td><code>{p.name.clone()}</code></td>
                                <td>{p.location.clone()}</td>
                                <td>{if p.required { tr!(docs.endpoints.yes) } else { tr!(docs.endpoints.no) }}</td>
                                <td>{p.description.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {e.body.clone().map(|body| view! {
                <h3>{tr!(docs.endpoints.request_body)}</h3>
                <p>
                    {schema_link(body)} " "
                    {if e.body_required { tr!(docs.endpoints.body_json) } else { tr!(docs.endpoints.body_json_optional) }}
                </p>
                {e.example.clone().map(|x| view! { <CodeBlock code=x /> })}
            })}
            <h3>{tr!(docs.endpoints.responses)}</h3>
            <table class="table">
                <thead>
                    <tr>
                        <th>{tr!(docs.endpoints.status)}</th>
                        <th>{tr!(docs.endpoints.body)}</th>
                        <th>{tr!(docs.endpoints.codes)}</th>
                    </tr>
                </thead>
                <tbody>
                    {e.replies.iter().map(|r| view! {
                        <tr>
                            <td><code>{r.status}</code></td>
                            <td>{match (r.schema.clone(), r.codes.is_empty()) {
                                (Some(s), _) => schema_link(s).into_any(),
                                (None, false) => view! { <span>{tr!(docs.endpoints.error)}</span> }.into_any(),
                                (None, true) => view! { <span>{tr!(docs.endpoints.none)}</span> }.into_any(),
                            }}</td>
                            <td>{if r.codes.is_empty() {
                                view! { <span>{r.description.clone()}</span> }.into_any()
                            } else {
                                r.codes.iter().map(|c| view! {
                                    <a class="code-link" href=format!("/docs/errors#{c}")><code>{c.clone()}</code></a>
                                }).collect_view().into_any()
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>{tr!(docs.endpoints.example)}</h3>
            <CodeBlock code=e.curl.clone() />
        </section>
    }
}
