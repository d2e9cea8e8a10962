//! The pieces every page is built from: how an error is shown, a labelled form field with
//! its hint and error, the banner for an error that belongs to no field, and the sign-out
//! button. Pages import these; nothing here imports a page.

use crate::{
    error::{ApiError, ErrorCode},
    tr,
    users::SignOut,
};
use leptos::prelude::*;

/// An error as the pages show it: its message, and its code for the admin.
#[component]
pub fn ErrorPanel(error: ApiError) -> impl IntoView {
    view! {
        <div class="error-panel" role="alert">
            <p class="error-message">{error.message}</p>
            <p class="error-code">{tr!(common.error_code)} " " <code>{error.code.as_str()}</code></p>
        </div>
    }
}

/// The form field an error code is about, when it is about one (an unknown account is
/// about the identifier, a wrong password about the password).
fn subject(code: ErrorCode) -> Option<&'static str> {
    match code {
        ErrorCode::UserNotFound => Some("identifier"),
        ErrorCode::InvalidPassword => Some("password"),
        _ => None,
    }
}

/// The message to show beside the field `name` labelled `label`: its validation detail as
/// a sentence ("Password is required."), or the error whose subject it is.
fn field_message(error: &ApiError, name: &str, label: &str) -> Option<String> {
    if let Some(message) = error.field_message(name) {
        return Some(if message.starts_with(|c: char| c.is_lowercase()) {
            format!("{label} {message}.")
        } else {
            message.to_string()
        });
    }
    (subject(error.code) == Some(name)).then(|| error.message.clone())
}

/// The error that belongs to none of `fields`, as a banner.
#[component]
pub fn FormProblem(
    error: Signal<Option<ApiError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    let general = move || {
        error.get().filter(|e| {
            let about_a_field = e.details.iter().any(|d| fields.contains(&d.field.as_str()))
                || subject(e.code).is_some_and(|f| fields.contains(&f));
            !about_a_field
        })
    };
    view! { {move || general().map(|error| view! { <ErrorPanel error /> })} }
}

/// Keeps `value` to what the `input` holds when its island hydrates. On a slow network a
/// page shows its form seconds before its WASM has loaded: what a person types meanwhile is
/// in the input, but no handler was there to tell `value`, which still holds what the server
/// rendered. Read once the island is live, the text on screen is what the form sends (later
/// typing reaches `value` through the input's own handler).
pub fn keep_typed(input: NodeRef<leptos::html::Input>, value: RwSignal<String>) {
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let typed = input.value();
            if typed != value.get_untracked() {
                value.set(typed);
            }
        }
    });
}

/// A labelled input with its hint and error, wired for screen readers. It names itself
/// `name` in a plain form post, shows what `error` says about `name`, and keeps what was
/// typed before the page hydrated ([`keep_typed`]).
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<ApiError>>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let message = Signal::derive(move || {
        error
            .read()
            .as_ref()
            .and_then(|e| field_message(e, name, label))
    });
    let input = NodeRef::new();
    keep_typed(input, value);
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message.read().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:invalid=move || message.read().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                node_ref=input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value.get_untracked()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || message.read().is_some().then_some("true")
                aria-describedby=described
            />
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            {move || message.get().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// One piece of a translated paragraph (see [`Prose`]).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Code(String),
    Strong(String),
    Em(String),
    Link { href: String, label: Vec<Piece> },
}

/// Reads the little markup the translations use for running text: `` `code` ``,
/// `**strong**`, `*emphasis*` and `[label](href)` (whose label may hold code). Anything
/// else, unmatched markers included, is text.
fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let closed = |open: &str, close: &str| -> Option<(String, usize)> {
            let inner = rest.strip_prefix(open)?;
            let end = inner.find(close)?;
            (end > 0).then(|| (inner[..end].to_string(), open.len() + end + close.len()))
        };
        let found = match c {
            '`' => closed("`", "`").map(|(t, n)| (Piece::Code(t), n)),
            '*' => closed("**", "**")
                .map(|(t, n)| (Piece::Strong(t), n))
                .or_else(|| closed("*", "*").map(|(t, n)| (Piece::Em(t), n))),
            '[' => closed("[", "](").and_then(|(label, n)| {
                let after = &rest[n..];
                let end = after.find(')')?;
                Some((
                    Piece::Link {
                        href: after[..end].to_string(),
                        label: pieces(&label),
                    },
                    n + end + 1,
                ))
            }),
            _ => None,
        };
        match found {
            Some((piece, used)) => {
                if !plain.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut plain)));
                }
                out.push(piece);
                rest = &rest[used..];
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        out.push(Piece::Text(plain));
    }
    out
}

fn render(pieces: Vec<Piece>) -> AnyView {
    pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t.into_any(),
            Piece::Code(t) => view! { <code>{t}</code> }.into_any(),
            Piece::Strong(t) => view! { <strong>{t}</strong> }.into_any(),
            Piece::Em(t) => view! { <em>{t}</em> }.into_any(),
            Piece::Link { href, label } => view! { <a href=href>{render(label)}</a> }.into_any(),
        })
        .collect_view()
        .into_any()
}

/// A translated text with its light markup (`` `code` ``, `**strong**`, `*em*`,
/// `[label](href)`) as elements: running text keeps its code and links in every language,
/// and a translator moves them with the words.
#[component]
pub fn Prose(#[prop(into)] text: String) -> impl IntoView {
    render(pieces(&text))
}

/// Signs this browser out, then shows the sign-in page. Without JavaScript it is a plain
/// form post to `/fypass/sign-out`, which redirects there.
#[cfg_attr(hydrates = "SignOutButton", island)]
#[cfg_attr(not(hydrates = "SignOutButton"), component)]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            // A full load, so every page drops what it knew about the session.
            let _ = window().location().set_href(crate::paths::SIGN_IN);
        }
    });
    view! {
        <form
            method="post"
            action=crate::paths::SIGN_OUT
            on:submit=move |ev| {
                ev.prevent_default();
                action.dispatch(SignOut {});
            }
        >
            <button type="submit" class="secondary" disabled=move || action.pending().get()>
                {tr!(common.sign_out)}
            </button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_reads_code_strong_emphasis_and_links() {
        use Piece::*;
        assert_eq!(
            pieces("Send `x-client-key` on **every** call; see [the `list`](/docs/errors)."),
            vec![
                Text("Send ".into()),
                Code("x-client-key".into()),
                Text(" on ".into()),
                Strong("every".into()),
                Text(" call; see ".into()),
                Link {
                    href: "/docs/errors".into(),
                    label: vec![Text("the ".into()), Code("list".into())]
                },
                Text(".".into()),
            ]
        );
        assert_eq!(
            pieces("an *em* word"),
            vec![Text("an ".into()), Em("em".into()), Text(" word".into())]
        );
        // Unmatched markers are text.
        assert_eq!(pieces("a * b ` c [d"), vec![Text("a * b ` c [d".into())]);
    }

    #[test]
    fn a_field_shows_its_own_detail_as_a_sentence_or_the_error_about_it() {
        let invalid = ApiError::invalid("password", "is required");
        assert_eq!(
            field_message(&invalid, "password", "Password").as_deref(),
            Some("Password is required.")
        );
        assert_eq!(field_message(&invalid, "identifier", "Email"), None);
        let wrong = ApiError::new(ErrorCode::InvalidPassword);
        assert_eq!(
            field_message(&wrong, "password", "Password").as_deref(),
            Some(ErrorCode::InvalidPassword.message())
        );
        assert_eq!(field_message(&wrong, "identifier", "Email"), None);
    }
}
