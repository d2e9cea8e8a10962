//! The pages of codes: forgot password (`/fypass/recover`), sign in with a code
//! (`/fypass/code`) and the verification step (`/fypass/verify`). Each is a plain form
//! without JavaScript (answered by `forms`) and calls its server function once hydrated.
//!
//! The first two have two steps, told apart by the URL: without `to`, the person asks for a
//! code; with `to=<identifier>`, they type the code that was sent there.

use super::{follow, form_echo, go, req_token};
use crate::codes::{
    CodeLoginBody, FypassCode, FypassCodeLogin, FypassRecovery, FypassRecoveryComplete,
    FypassVerify, RecoveryCompleteBody, SendCodeBody, VerifyBody,
};
use crate::{
    locale,
    login::{
        ContinueAs, LoginStatus,
        kit::{FormEcho, next_page},
        poll_request,
    },
    tr,
    ui::{Field, FormProblem},
    users::identifier_for_display,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// The `to` of the page's URL: where a code was sent.
fn sent_to() -> Memo<Vec<String>> {
    let query = use_query_map();
    Memo::new(move |_| {
        query
            .read()
            .get_all("to")
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect()
    })
}

/// `path?reqToken=…&to=…`: the page itself, at its second step when `to` is given.
fn page_url(path: &str, token: Option<&str>, to: &[String]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(token) = token {
        query.append_pair("reqToken", token);
    }
    for to in to {
        query.append_pair("to", to);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// Which of the two code flows a page is.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Flow {
    Recover,
    SignIn,
}

impl Flow {
    fn path(self) -> &'static str {
        match self {
            Flow::Recover => crate::paths::RECOVER,
            Flow::SignIn => crate::paths::CODE,
        }
    }
}

#[component]
pub fn RecoverPage() -> impl IntoView {
    view! { <CodePageFrame flow=Flow::Recover /> }
}

#[component]
pub fn CodeSignInPage() -> impl IntoView {
    view! { <CodePageFrame flow=Flow::SignIn /> }
}

#[component]
fn CodePageFrame(flow: Flow) -> impl IntoView {
    let echo = form_echo();
    let token = req_token();
    let to = sent_to();
    let (title, heading) = match flow {
        Flow::Recover => (tr!(codes.recover.title), tr!(codes.recover.heading)),
        Flow::SignIn => (tr!(codes.sign_in.title), tr!(codes.sign_in.heading)),
    };
    let sign_in = move || {
        let mut url = crate::paths::SIGN_IN.to_string();
        if let Some(token) = token.get() {
            url.push_str(&format!("?reqToken={token}"));
        }
        url
    };
    view! {
        <Title text=title />
        <div class="auth">
            <section class="card">
                <p class="eyebrow">"fypass"</p>
                <h1>{heading}</h1>
                {move || {
                    let echo = echo.clone();
                    match to.get().into_iter().next() {
                        None => view! { <AskForCode flow token=token.get() echo /> }.into_any(),
                        Some(to) => view! { <EnterCode flow token=token.get() to echo /> }.into_any(),
                    }
                }}
                <p class="switch"><a href=sign_in>{tr!(codes.back)}</a></p>
            </section>
        </div>
    }
}

/// Step one: where to send the code.
#[cfg_attr(hydrates = "AskForCode", island)]
#[cfg_attr(not(hydrates = "AskForCode"), component)]
fn AskForCode(flow: Flow, token: Option<String>, echo: FormEcho) -> impl IntoView {
    let recovery = ServerAction::<FypassRecovery>::new();
    let sign_in = ServerAction::<FypassCode>::new();
    let pending = move || recovery.pending().get() || sign_in.pending().get();
    let identifier = RwSignal::new(echo.identifier.clone());
    let error = RwSignal::new(echo.error.clone());
    {
        let token = token.clone();
        Effect::new(move |_| {
            let outcome = match flow {
                Flow::Recover => recovery.value().get(),
                Flow::SignIn => sign_in.value().get(),
            };
            match outcome {
                Some(Ok(_)) => go(&page_url(
                    flow.path(),
                    token.as_deref(),
                    &[identifier.get_untracked()],
                )),
                Some(Err(e)) => error.set(Some(e)),
                None => {}
            }
        });
    }
    let action_url = page_url(flow.path(), token.as_deref(), &[]);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = SendCodeBody {
            req_token: token.clone(),
            identifier: identifier.get_untracked(),
        };
        match flow {
            Flow::Recover => drop(recovery.dispatch(FypassRecovery { body })),
            Flow::SignIn => drop(sign_in.dispatch(FypassCode { body })),
        }
    };
    let lead = match flow {
        Flow::Recover => tr!(codes.recover.lead),
        Flow::SignIn => tr!(codes.sign_in.lead),
    };
    view! {
        <p class="muted">{lead}</p>
        <form class="form" method="post" action=action_url novalidate on:submit=submit>
            <input type="hidden" name="intent" value="send" />
            <Field
                label=tr!(login.identifier)
                name="identifier"
                autocomplete="username"
                value=identifier
                error=error.into()
                hint=tr!(login.identifier_hint)
            />
            <FormProblem error=error.into() fields=&["identifier"] />
            <button type="submit" class="wide" disabled=pending>
                {move || if pending() { tr!(codes.sending) } else { tr!(codes.send) }}
            </button>
        </form>
    }
}

/// Step two: the code (and, to recover, the new password).
#[cfg_attr(hydrates = "EnterCode", island)]
#[cfg_attr(not(hydrates = "EnterCode"), component)]
fn EnterCode(flow: Flow, token: Option<String>, to: String, echo: FormEcho) -> impl IntoView {
    let recover = ServerAction::<FypassRecoveryComplete>::new();
    let sign_in = ServerAction::<FypassCodeLogin>::new();
    let pending = move || recover.pending().get() || sign_in.pending().get();
    let code = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let error = RwSignal::new(echo.error.clone());
    follow(recover, token.clone().unwrap_or_default(), error);
    follow(sign_in, token.clone().unwrap_or_default(), error);
    let action_url = page_url(flow.path(), token.as_deref(), std::slice::from_ref(&to));
    let again_url = page_url(flow.path(), token.as_deref(), &[]);
    let submit = {
        let to = to.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            match flow {
                Flow::Recover => drop(recover.dispatch(FypassRecoveryComplete {
                    body: RecoveryCompleteBody {
                        req_token: token.clone(),
                        identifier: to.clone(),
                        code: code.get_untracked(),
                        new_password: new_password.get_untracked(),
                    },
                })),
                Flow::SignIn => drop(sign_in.dispatch(FypassCodeLogin {
                    body: CodeLoginBody {
                        req_token: token.clone().unwrap_or_default(),
                        identifier: to.clone(),
                        code: code.get_untracked(),
                    },
                })),
            }
        }
    };
    let fields: &'static [&'static str] = match flow {
        Flow::Recover => &["code", "newPassword"],
        Flow::SignIn => &["code"],
    };
    view! {
        <p class="muted">
            {tr!(codes.on_its_way.before)} " " <strong>{identifier_for_display(&to, locale::current())}</strong>
            {tr!(codes.on_its_way.after, n = crate::codes::CODE_TTL_MINUTES)}
        </p>
        <form class="form" method="post" action=action_url novalidate on:submit=submit>
            <input type="hidden" name="intent" value="complete" />
            <input type="hidden" name="identifier" value=to.clone() />
            <Field
                label=tr!(codes.code)
                name="code"
                autocomplete="one-time-code"
                value=code
                error=error.into()
                hint=tr!(codes.code_hint)
            />
            {(flow == Flow::Recover).then(|| view! {
                <Field
                    label=tr!(codes.recover.new_password)
                    name="newPassword"
                    kind="password"
                    autocomplete="new-password"
                    value=new_password
                    error=error.into()
                    hint=tr!(codes.recover.new_password_hint)
                />
            })}
            <FormProblem error=error.into() fields />
            <button type="submit" class="wide" disabled=pending>
                {move || match (pending(), flow) {
                    (true, _) => tr!(codes.checking),
                    (false, Flow::Recover) => tr!(codes.recover.set),
                    (false, Flow::SignIn) => tr!(login.sign_in),
                }}
            </button>
        </form>
        <p class="muted small">{tr!(codes.no_code)} " " <a href=again_url>{tr!(codes.send_another)}</a></p>
    }
}

// ---- The verification step ---------------------------------------------------------

/// After registering (or signing in, when verification is required): a code was sent to
/// each `to`; typing it verifies that email address or number. When the app's request still
/// waits for a verified person, verifying completes it.
#[component]
pub fn VerifyPage() -> impl IntoView {
    let echo = form_echo();
    let token = req_token();
    let to = sent_to();
    // Whether the app's request still waits for this person (verification required).
    let waiting = Resource::new_blocking(
        move || token.get(),
        |token| async move {
            match token {
                Some(token) => poll_request(token)
                    .await
                    .is_ok_and(|r| r.status == LoginStatus::Pending),
                None => false,
            }
        },
    );
    view! {
        <Title text=tr!(codes.verify.title) />
        <div class="auth">
            <section class="card">
                <p class="eyebrow">"fypass"</p>
                <h1>{tr!(codes.verify.title)}</h1>
                <Suspense fallback=|| view! { <p class="muted">{tr!(common.loading)}</p> }>
                    {move || Suspend::new({
                        let echo = echo.clone();
                        async move {
                            let waiting = waiting.await;
                            let token = token.get_untracked();
                            let targets = to.get_untracked();
                            view! {
                                {targets.into_iter().map(|to| view! {
                                    <VerifyOne to token=token.clone() waiting echo=echo.clone() />
                                }).collect_view()}
                                {(!waiting).then(|| view! {
                                    <p class="switch"><a href=next_page(token.as_deref())>{tr!(codes.verify.skip)}</a></p>
                                })}
                            }
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}

#[cfg_attr(hydrates = "VerifyOne", island)]
#[cfg_attr(not(hydrates = "VerifyOne"), component)]
fn VerifyOne(to: String, token: Option<String>, waiting: bool, echo: FormEcho) -> impl IntoView {
    let action = ServerAction::<FypassVerify>::new();
    let finish = ServerAction::<ContinueAs>::new();
    let code = RwSignal::new(String::new());
    // A plain post's error belongs to the form of its identifier.
    let error = RwSignal::new(echo.error.clone().filter(|_| echo.identifier == to));
    let done = RwSignal::new(false);
    follow(finish, token.clone().unwrap_or_default(), error);
    {
        let token = token.clone();
        Effect::new(move |_| match action.value().get() {
            Some(Ok(_)) => {
                done.set(true);
                if let (true, Some(token)) = (waiting, token.clone()) {
                    finish.dispatch(ContinueAs { req_token: token });
                }
            }
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        });
    }
    let action_url = page_url(
        crate::paths::VERIFY,
        token.as_deref(),
        std::slice::from_ref(&to),
    );
    let next = next_page(token.as_deref());
    let shown = identifier_for_display(&to, locale::current());
    let submit = {
        let to = to.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            error.set(None);
            action.dispatch(FypassVerify {
                body: VerifyBody {
                    identifier: to.clone(),
                    code: code.get_untracked(),
                },
            });
        }
    };
    view! {
        <Show
            when=move || !done.get()
            fallback=move || view! {
                <p class="verified">{tr!(codes.verify.verified)} " " <strong>{shown.clone()}</strong></p>
                {(!waiting).then(|| view! { <a class="button" href=next.clone()>{tr!(codes.verify.next)}</a> })}
            }
        >
            <form class="form" method="post" action=action_url.clone() novalidate on:submit=submit.clone()>
                <p>{tr!(codes.verify.sent_to)} " " <strong>{identifier_for_display(&to, locale::current())}</strong> "."</p>
                <input type="hidden" name="identifier" value=to.clone() />
                <Field
                    label=tr!(codes.code)
                    name="code"
                    autocomplete="one-time-code"
                    value=code
                    error=error.into()
                    hint=tr!(codes.code_hint)
                />
                <FormProblem error=error.into() fields=&["code"] />
                <button type="submit" class="wide" disabled=move || action.pending().get() || finish.pending().get()>
                    {tr!(codes.verify.button)}
                </button>
            </form>
        </Show>
    }
}
