//! `/docs/errors`: the Error Code List, generated from [`ErrorCode`], with its filter.

use super::CodeBlock;
use crate::{
    error::{ErrorCode, ErrorGroup},
    tr,
    ui::Prose,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ErrorListPage() -> impl IntoView {
    view! {
        <Title text=tr!(docs.error_list.title) />
        <article class="doc">
            <h1>{tr!(docs.error_list.title)}</h1>
            <p class="lead"><Prose text=tr!(docs.error_list.lead) /></p>
            <CodeBlock code="{\n  \"code\": \"UNITSYSTEM00001\",\n  \"message\": \"Client key used in the request is not found or not registered.\"\n}" />
            <ErrorFilter />
            {ErrorGroup::ALL.iter().map(|group| {
                let codes: Vec<ErrorCode> =
                    ErrorCode::ALL.iter().copied().filter(|c| c.group() == *group).collect();
                view! {
                    <section class="error-group">
                        <h2 id=group.as_str().to_lowercase()>{group_name(*group)}</h2>
                        {codes.into_iter().map(|code| view! {
                            <div
                                class="error-code-entry"
                                id=code.as_str()
                                data-status=code.status()
                                data-message=code.message()
                            >
                                <h3><code>{code.as_str()}</code> <span class="http-status">{code.status()}</span>
                                    {(!code.from_source()).then(|| view! { <span class="tag">{tr!(docs.error_list.added)}</span> })}
                                </h3>
                                <p>{code.message()}</p>
                                <p class="solution"><strong>{tr!(docs.error_list.solution)} " "</strong>{code.solution()}</p>
                            </div>
                        }).collect_view()}
                    </section>
                }
            }).collect_view()}
        </article>
    }
}

/// The name of `group` in the page's language (its anchor stays `group.as_str()`).
fn group_name(group: ErrorGroup) -> &'static str {
    match group {
        ErrorGroup::Clients => tr!(docs.error_list.groups.clients),
        ErrorGroup::Users => tr!(docs.error_list.groups.users),
        ErrorGroup::Others => tr!(docs.error_list.groups.others),
    }
}

/// The filter over the server-rendered list: an island that only hides and shows the
/// entries (each carries its code, status and message), so the list itself, with every
/// message and solution, stays HTML and out of the WASM.
#[cfg_attr(hydrates = "ErrorFilter", island)]
#[cfg_attr(not(hydrates = "ErrorFilter"), component)]
fn ErrorFilter() -> impl IntoView {
    let filter = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        filter_entries(&event_target_value(&ev));
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <label class="filter">
            <span>{tr!(docs.error_list.filter)}</span>
            <input type="search" placeholder=tr!(docs.error_list.filter_placeholder) on:input=filter />
        </label>
    }
}

/// Hides the entries the filter does not keep.
#[cfg(feature = "hydrate")]
fn filter_entries(filter: &str) {
    use wasm_bindgen::JsCast;
    let Ok(entries) = document().query_selector_all(".error-code-entry") else {
        return;
    };
    for i in 0..entries.length() {
        let Some(entry) = entries
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        else {
            continue;
        };
        let attr = |name: &str| entry.get_attribute(name).unwrap_or_default();
        let keep = shown(
            &entry.id(),
            &attr("data-status"),
            &attr("data-message"),
            filter,
        );
        let _ = entry.class_list().toggle_with_force("hidden", !keep);
    }
}

/// Whether the filter keeps an entry (its `code`, HTTP `status` and `message`): digits
/// match the status (`403`), words the code or its message.
#[cfg(any(feature = "hydrate", test))]
fn shown(code: &str, status: &str, message: &str, filter: &str) -> bool {
    let f = filter.trim().to_ascii_uppercase();
    if f.is_empty() {
        true
    } else if f.chars().all(|c| c.is_ascii_digit()) {
        status.starts_with(&f)
    } else {
        code.contains(&f) || message.to_ascii_uppercase().contains(&f)
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn the_error_filter_matches_status_digits_or_words_of_code_and_message() {
        let (code, status, message) = ("USER_NOT_FOUND", "404", "User is not found.");
        assert!(shown(code, status, message, ""));
        assert!(shown(code, status, message, "40"));
        assert!(!shown(code, status, message, "403"));
        assert!(shown(code, status, message, "not_found"));
        assert!(shown(code, status, message, " is not "));
        assert!(!shown(code, status, message, "suspended"));
    }
}
