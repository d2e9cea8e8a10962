//! The second factor's pages: the second step of a sign-in (`/fypass/second-factor`), and
//! the authenticator app's panel on `/account` ([`SecondFactorPanel`], inside the account
//! page's island). Plain forms without JavaScript (answered by `forms` and
//! `account::forms`), server functions once hydrated.

use crate::factors::{
    ConfirmTotp, FypassSecondFactor, RemoveTotp, RenewRecoveryCodes, SecondFactorBody,
    SecondFactorView, StartTotp, TotpSetup,
};
use crate::{
    error::ApiError,
    login::kit::FormEcho,
    pages::account::{ReauthPrompt, asks_again},
    pages::{follow, form_echo, req_token, self_url},
    tr,
    ui::{Field, FormProblem},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let echo = form_echo();
    let token = req_token();
    let sign_in = move || self_url(crate::paths::SIGN_IN, token.get().as_deref());
    view! {
        <Title text=tr!(factors.step.title) />
        <div class="auth">
            <section class="card">
                <p class="eyebrow">"fypass"</p>
                <h1>{tr!(factors.step.heading)}</h1>
                <p class="muted">{tr!(factors.step.lead)}</p>
                <SecondFactorForm token=token.get_untracked() echo />
                <p class="switch"><a href=sign_in>{tr!(factors.step.start_over)}</a></p>
            </section>
        </div>
    }
}

#[cfg_attr(hydrates = "SecondFactorForm", island)]
#[cfg_attr(not(hydrates = "SecondFactorForm"), component)]
fn SecondFactorForm(token: Option<String>, echo: FormEcho) -> impl IntoView {
    let action = ServerAction::<FypassSecondFactor>::new();
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(echo.error.clone());
    follow(action, token.clone().unwrap_or_default(), error);
    let action_url = self_url(crate::paths::SECOND_FACTOR, token.as_deref());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        action.dispatch(FypassSecondFactor {
            body: SecondFactorBody {
                req_token: token.clone(),
                code: code.get_untracked(),
            },
        });
    };
    view! {
        <form class="form" method="post" action=action_url novalidate on:submit=submit>
            <Field
                label=tr!(factors.step.code)
                name="code"
                autocomplete="one-time-code"
                value=code
                error=error.into()
                hint=tr!(factors.step.code_hint)
            />
            <FormProblem error=error.into() fields=&["code"] />
            <button type="submit" class="wide" disabled=move || action.pending().get()>
                {move || if action.pending().get() { tr!(codes.checking) } else { tr!(login.sign_in) }}
            </button>
        </form>
    }
}

/// The authenticator app on `/account`: off (a button to set one up), being set up (the QR
/// code, the secret to type by hand, and a field for the first code), or on (how many
/// recovery codes are left, new ones in their place, and turning it off). The recovery codes
/// appear once, right after the app is turned on (with the news that the person's other
/// browsers were signed out) or new ones are made.
#[component]
pub fn SecondFactorPanel(factor: SecondFactorView, echo: FormEcho) -> impl IntoView {
    let on = RwSignal::new(factor.on);
    let left = RwSignal::new(factor.recovery_codes_left);
    let setup = RwSignal::new(factor.setup);
    let shown_once = RwSignal::new(echo.recovery_codes.clone());
    // The app was just turned on (this answer only): the other browsers were signed out.
    let turned_on = RwSignal::new(echo.intent == "totp-confirm" && !echo.recovery_codes.is_empty());
    // A plain post's error, when one of this panel's forms posted it.
    let error = RwSignal::new(
        echo.error
            .clone()
            .filter(|_| echo.intent.starts_with("totp")),
    );
    let asking = RwSignal::new(error.get_untracked().as_ref().is_some_and(asks_again));
    // Which form acted last (its `intent`): with the app on, two forms share the panel, and
    // only that one asks for the password and shows the error.
    let acting = RwSignal::new(echo.intent.clone());
    let by = move |intent: &'static str| acting.with(|a| a == intent);
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let start = ServerAction::<StartTotp>::new();
    let confirm = ServerAction::<ConfirmTotp>::new();
    let remove = ServerAction::<RemoveTotp>::new();
    let renew = ServerAction::<RenewRecoveryCodes>::new();
    let settle = move |e: ApiError| {
        if asks_again(&e) {
            asking.set(true);
        }
        error.set(Some(e));
    };
    let proved = move || {
        asking.set(false);
        password.set(String::new());
    };
    Effect::new(move |_| match start.value().get() {
        Some(Ok(s)) => {
            proved();
            setup.set(Some(s));
        }
        Some(Err(e)) => settle(e),
        None => {}
    });
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(codes)) => {
            proved();
            setup.set(None);
            on.set(true);
            left.set(codes.len() as i64);
            code.set(String::new());
            turned_on.set(true);
            shown_once.set(codes);
        }
        Some(Err(e)) => settle(e),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            proved();
            on.set(false);
            turned_on.set(false);
            shown_once.set(Vec::new());
        }
        Some(Err(e)) => settle(e),
        None => {}
    });
    Effect::new(move |_| match renew.value().get() {
        Some(Ok(codes)) => {
            proved();
            left.set(codes.len() as i64);
            turned_on.set(false);
            shown_once.set(codes);
        }
        Some(Err(e)) => settle(e),
        None => {}
    });
    let typed_password = move || Some(password.get_untracked()).filter(|p| !p.is_empty());
    let do_start = move || {
        error.set(None);
        start.dispatch(StartTotp {
            password: typed_password(),
        });
    };
    let do_confirm = move || {
        error.set(None);
        confirm.dispatch(ConfirmTotp {
            code: code.get_untracked(),
            password: typed_password(),
        });
    };
    let do_renew = move || {
        error.set(None);
        acting.set("totp-codes".into());
        renew.dispatch(RenewRecoveryCodes {
            password: typed_password(),
        });
    };
    let do_remove = move || {
        error.set(None);
        acting.set("totp-remove".into());
        remove.dispatch(RemoveTotp {
            password: typed_password(),
        });
    };
    // A passkey proved it: carry on with what the person asked for.
    let proven_start = Callback::new(move |()| do_start());
    let proven_confirm = Callback::new(move |()| do_confirm());
    let proven_remove = Callback::new(move |()| do_remove());
    let proven_renew = Callback::new(move |()| do_renew());
    view! {
        <section class="panel" id="second-factor">
            <h2>{tr!(factors.panel.heading)}</h2>
            {move || {
                let codes = shown_once.get();
                (!codes.is_empty()).then(|| view! {
                    <div class="notice" role="status">
                        <p><strong>{tr!(factors.panel.codes_heading)}</strong></p>
                        <p>{tr!(factors.panel.codes_lead)}</p>
                        <ul class="recovery-codes">
                            {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
                        </ul>
                        {if turned_on.get() {
                            view! {
                                <p class="others-signed-out">
                                    {tr!(factors.panel.others_signed_out)} " "
                                    <a href=crate::paths::ACTIVITY>{tr!(factors.panel.apps_link)}</a>
                                </p>
                            }.into_any()
                        } else {
                            view! { <p>{tr!(factors.panel.old_codes_void)}</p> }.into_any()
                        }}
                    </div>
                })
            }}
            {move || match (on.get(), setup.get()) {
                (true, _) => view! {
                    <p>{tr!(factors.panel.on)} " " <span class="tag ok">{tr!(factors.panel.on_tag)}</span></p>
                    <p class="muted">{move || tr!(factors.panel.codes_left, n = left.get())}</p>
                    <form class="form" method="post" action=format!("{}#second-factor", crate::paths::ACCOUNT) novalidate on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); do_renew(); }>
                        <input type="hidden" name="intent" value="totp-codes" />
                        <p class="muted small">{tr!(factors.panel.new_codes_lead)}</p>
                        <Show when=move || asking.get() && by("totp-codes")>
                            <ReauthPrompt password error proven=proven_renew />
                        </Show>
                        <Show when=move || by("totp-codes")>
                            <FormProblem error=error.into() fields=&["password"] />
                        </Show>
                        <button type="submit" class="secondary" disabled=move || renew.pending().get()>{tr!(factors.panel.new_codes)}</button>
                    </form>
                    <form class="form" method="post" action=format!("{}#second-factor", crate::paths::ACCOUNT) novalidate on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); do_remove(); }>
                        <input type="hidden" name="intent" value="totp-remove" />
                        <Show when=move || asking.get() && !by("totp-codes")>
                            <ReauthPrompt password error proven=proven_remove />
                        </Show>
                        <Show when=move || !by("totp-codes")>
                            <FormProblem error=error.into() fields=&["password"] />
                        </Show>
                        <button type="submit" class="secondary danger" disabled=move || remove.pending().get()>{tr!(factors.panel.turn_off)}</button>
                    </form>
                }.into_any(),
                (false, Some(TotpSetup { secret, uri, qr_svg })) => view! {
                    <p>{tr!(factors.panel.scan)}</p>
                    <figure class="qr">
                        <div class="qr" role="img" aria-label=tr!(factors.panel.qr_alt) inner_html=qr_svg></div>
                        <figcaption class="muted small">
                            {tr!(factors.panel.by_hand)} " " <code class="totp-secret">{secret}</code>
                        </figcaption>
                    </figure>
                    <p class="muted small"><a href=uri.clone() data-otpauth=uri>{tr!(factors.panel.open_app)}</a></p>
                    <form class="form" method="post" action=format!("{}#second-factor", crate::paths::ACCOUNT) novalidate on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); do_confirm(); }>
                        <input type="hidden" name="intent" value="totp-confirm" />
                        <Field label=tr!(factors.step.code) name="code" autocomplete="one-time-code" value=code error=error.into() hint=tr!(factors.panel.code_hint) />
                        <Show when=move || asking.get()>
                            <ReauthPrompt password error proven=proven_confirm />
                        </Show>
                        <FormProblem error=error.into() fields=&["code", "password"] />
                        <button type="submit" disabled=move || confirm.pending().get()>{tr!(factors.panel.turn_on)}</button>
                    </form>
                }.into_any(),
                (false, None) => view! {
                    <p class="muted">{tr!(factors.panel.lead)}</p>
                    <form class="form" method="post" action=format!("{}#second-factor", crate::paths::ACCOUNT) novalidate on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); do_start(); }>
                        <input type="hidden" name="intent" value="totp-start" />
                        <Show when=move || asking.get()>
                            <ReauthPrompt password error proven=proven_start />
                        </Show>
                        <FormProblem error=error.into() fields=&["code", "password"] />
                        <button type="submit" disabled=move || start.pending().get()>{tr!(factors.panel.set_up)}</button>
                    </form>
                }.into_any(),
            }}
        </section>
    }
}
