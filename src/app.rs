//! The pages: the HTML shell, the router, and the frame every page shares: the developer
//! pages (the start page and the docs) in fypass's look with its navigation, every
//! end-user page in the look of the app the person came from.
//!
//! All of it renders on the server only (Leptos islands): the browser hydrates just the
//! `#[island]` components inside the pages, so a link is a page load and nothing here
//! ships as WASM.

use crate::{
    clients::branding::AppLook,
    docs::{ApiInfoPage, ApiReferencePage, ErrorListPage},
    error::{ApiError, ErrorCode},
    locale::{self, Locale},
    pages::{
        account::AccountPage,
        codes::{CodeSignInPage, RecoverPage, VerifyPage},
        devices::DevicesPage,
        login::{LoginPage, RegisterPage},
        status::StatusPage,
    },
    tr,
    ui::ErrorPanel,
};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
    hooks::use_location,
};

/// The document around the app, rendered on the server only: its language, and the app's
/// accent colour (in `<head>`, which is not hydrated).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let (facts, nonce) = (PageFacts::current(), leptos::nonce::use_nonce());
    #[cfg(feature = "ssr")]
    page_security_headers(&facts, nonce.as_ref());
    #[cfg(feature = "ssr")]
    let accent = facts
        .accent_css()
        .map(|css| view! { <style nonce=nonce>{css}</style> });
    #[cfg(not(feature = "ssr"))]
    let accent = None::<()>;
    view! {
        <!DOCTYPE html>
        <html lang=locale::code(locale::current())>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet options=options.clone() id="leptos" />
                {accent}
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// What a page knows before it renders: its language (see [`crate::locale`]) and the app it
/// is shown for. Decided once per page request by [`page_facts`].
#[derive(Clone, Debug, Default)]
pub struct PageFacts {
    pub locale: Locale,
    pub look: Option<AppLook>,
}

#[cfg(feature = "ssr")]
impl PageFacts {
    /// The facts of the page being rendered (a page outside [`page_facts`], such as the
    /// not-found page of an unknown path, has the request's language and no app).
    fn current() -> PageFacts {
        use_context::<PageFacts>().unwrap_or_else(|| PageFacts {
            locale: locale::current(),
            look: None,
        })
    }

    /// The app's colour as the stylesheet's brand variables, with a text colour that reads
    /// on it. Only a colour that parses as `#rrggbb` gets here, so nothing can break out of
    /// the rule.
    fn accent_css(&self) -> Option<String> {
        use crate::clients::branding::AccentColor;
        let color = AccentColor::parse(self.look.as_ref()?.color.as_deref()?).ok()?;
        let (c, on) = (color.as_str(), color.text_on());
        Some(format!(
            ":root{{--brand:{c};--brand-strong:color-mix(in srgb,{c} 82%,#000);\
             --brand-soft:color-mix(in srgb,{c} 14%,var(--surface));--on-brand:{on}}}"
        ))
    }
}

/// Middleware of the page routes: decides the page's language (switch cookie, the app's
/// login request, `Accept-Language`) and which app it is shown for (the login request's,
/// else the session's), once, before anything renders.
#[cfg(feature = "ssr")]
pub async fn page_facts(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use crate::{clients::branding, request::Caller, users::session};
    use axum::http::{HeaderValue, header};
    let caller = Caller::new(req.headers(), None, &state.config);
    let req_token = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "reqToken"))
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty() && t.len() <= 128);
    // What a page shows for a session is the signed-in person's: not compressed.
    let carries_secrets = session::secret_of(&caller, &state.config).is_some();
    // A database that cannot answer leaves the page plain; the page says what is wrong.
    let (look, app_locale) = match (&req_token, session::secret_of(&caller, &state.config)) {
        (Some(token), _) => branding::for_request(&state.db, token)
            .await
            .ok()
            .flatten()
            .map_or((None, None), |(look, locale)| (Some(look), locale)),
        (None, Some(secret)) => (
            branding::for_session(&state.db, secret)
                .await
                .ok()
                .flatten(),
            None,
        ),
        (None, None) => (None, None),
    };
    let locale = locale::choose(
        caller.cookie(locale::COOKIE),
        app_locale.as_deref(),
        caller.header(header::ACCEPT_LANGUAGE),
    );
    locale::set_current(locale);
    req.extensions_mut().insert(PageFacts { locale, look });
    let mut res = next.run(req).await;
    if carries_secrets {
        res.extensions_mut().insert(crate::state::CarriesSecrets);
    }
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(locale::code(locale)),
    );
    headers.append(header::VARY, HeaderValue::from_static("Cookie"));
    res
}

/// The page shell's half of a plain form post that failed: the form's handler answers with
/// the [`RenderAgain`](crate::login::forms::RenderAgain) marker, and this renders the page
/// the form was on again, with what was typed and the error's status.
#[cfg(feature = "ssr")]
pub async fn render_again(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut res = next.run(req).await;
    let Some(again) = res
        .extensions_mut()
        .remove::<crate::login::forms::RenderAgain>()
    else {
        return res;
    };
    let echo = again.echo;
    let status = echo.error.as_ref().map(ApiError::http_status);
    let req = axum::extract::Request::from_parts(again.parts, axum::body::Body::empty());
    let mut res = render_page(state, req, move || provide_context(echo.clone())).await;
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    res
}

/// Per-request context for pages and the server functions they call while rendering.
#[cfg(feature = "ssr")]
pub fn page_context(state: crate::state::AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        leptos::nonce::provide_nonce();
        let facts = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PageFacts>().cloned())
            .unwrap_or_else(PageFacts::current);
        provide_context(facts.locale);
        provide_context(facts);
    }
}

/// Renders the app for `req`, with `extra` context on top of the usual page context (what
/// a plain form post left for the page it renders again, say).
#[cfg(feature = "ssr")]
pub async fn render_page(
    state: crate::state::AppState,
    req: axum::extract::Request,
    extra: impl Fn() + Clone + Send + Sync + 'static,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let options = state.leptos_options.clone();
    let context = page_context(state);
    // Whole HTML at once (as the data routes are rendered): this page must work without
    // JavaScript, which out-of-order streaming needs.
    let render = leptos_axum::render_app_async_with_context(
        move || {
            context();
            extra();
        },
        move || shell(options.clone()),
    );
    render(req).await.into_response()
}

/// Pages get a Content-Security-Policy whose nonce admits only our hydration script (and
/// the accent colour's style), and whose images come from here or the app's logo origin.
#[cfg(feature = "ssr")]
fn page_security_headers(facts: &PageFacts, nonce: Option<&leptos::nonce::Nonce>) {
    use axum::http::{HeaderValue, header};
    let (Some(nonce), Some(res)) = (nonce, use_context::<leptos_axum::ResponseOptions>()) else {
        return;
    };
    let logo = facts
        .look
        .as_ref()
        .and_then(|look| look.logo_url.as_deref())
        .and_then(crate::clients::branding::logo_origin)
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:{logo}; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        res.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The server's choice, which the browser reads back from <html lang>.
    provide_context(locale::current());
    // Rendered on the server only (islands mode): the app the page is shown for.
    #[cfg(feature = "ssr")]
    let look = PageFacts::current().look;
    #[cfg(not(feature = "ssr"))]
    let look = None::<AppLook>;
    view! {
        <Title formatter=|text: String| if text.is_empty() { "fypass".to_string() } else { format!("{text} · fypass") } />
        <Router>
            <Frame look>
                // Pages with data render once it is ready (SsrMode::Async): they must be whole
                // HTML without JavaScript, not a fallback waiting for a streamed swap.
                <Routes fallback=NotFoundPage>
                    <Route path=StaticSegment("") view=HomePage />
                    <Route path=StaticSegment("docs") view=ApiInfoPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("docs"), StaticSegment("api")) view=ApiReferencePage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("docs"), StaticSegment("errors")) view=ErrorListPage />
                    <Route path=StaticSegment("fypass") view=LoginPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("register")) view=RegisterPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("status")) view=StatusPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("recover")) view=RecoverPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("code")) view=CodeSignInPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("verify")) view=VerifyPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("devices") view=DevicesPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("account"), StaticSegment("activity")) view=crate::pages::activity::ActivityPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("second-factor")) view=crate::pages::factors::SecondFactorPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("fypass"), StaticSegment("not-me")) view=crate::pages::activity::NotMePage ssr=SsrMode::Async />
                </Routes>
            </Frame>
        </Router>
    }
}

/// Whether a path is one of the developer pages (the start page and the docs), which keep
/// fypass's navigation; every other page is an end-user page in the app's own look.
fn for_developers(path: &str) -> bool {
    path == "/" || path == "/docs" || path.starts_with("/docs/")
}

/// The bars around every page: the developers' or the app's.
#[component]
fn Frame(look: Option<AppLook>, children: Children) -> impl IntoView {
    let location = use_location();
    let developers = Memo::new(move |_| for_developers(&location.pathname.get()));
    let header = {
        let look = look.clone();
        move || {
            if developers.get() {
                view! { <TopBar /> }.into_any()
            } else {
                view! { <AppBar look=look.clone() /> }.into_any()
            }
        }
    };
    let footer = move || {
        if developers.get() {
            view! {
                <footer class="footer">
                    <span>{tr!(common.footer.tagline)}</span>
                    <A href="/docs">{tr!(common.footer.docs)}</A>
                </footer>
            }
            .into_any()
        } else {
            view! {
                <footer class="footer footer-small">
                    <span>{tr!(common.footer.secured_by)} " " <strong>"fypass"</strong></span>
                </footer>
            }
            .into_any()
        }
    };
    view! {
        {header}
        <main class="page">{children()}</main>
        {footer}
    }
}

/// The developer pages' bar: fypass, its docs, and the language switch.
#[component]
fn TopBar() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"fy"</span>
                "fypass"
            </a>
            <nav class="nav" aria-label=tr!(common.nav.label)>
                <A href="/docs" exact=true>{tr!(common.nav.guide)}</A>
                <A href="/docs/api">{tr!(common.nav.endpoints)}</A>
                <A href="/docs/errors">{tr!(common.nav.errors)}</A>
                <A href="/devices">{tr!(common.nav.devices)}</A>
                <A href=crate::paths::ACCOUNT>{tr!(common.nav.account)}</A>
            </nav>
            <LanguageSwitch />
        </header>
    }
}

/// An end-user page's bar: the app the person came from (its logo and name), or fypass
/// when no app asked; no developer links.
#[component]
fn AppBar(look: Option<AppLook>) -> impl IntoView {
    let brand = match look {
        Some(AppLook { name, logo_url, .. }) => view! {
            <span class="brand app-brand">
                {match logo_url {
                    Some(src) => view! { <img class="app-logo" src=src alt="" width="32" height="32" /> }.into_any(),
                    None => view! { <span class="brand-mark" aria-hidden="true">{initial(&name)}</span> }.into_any(),
                }}
                <span class="app-name">{name}</span>
            </span>
        }
        .into_any(),
        None => view! {
            <span class="brand">
                <span class="brand-mark" aria-hidden="true">"fy"</span>
                "fypass"
            </span>
        }
        .into_any(),
    };
    view! {
        <header class="topbar appbar">
            {brand}
            <LanguageSwitch />
        </header>
    }
}

/// The first letter of a name, for a mark when the app has no logo.
fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

/// The language switch: a plain form (`GET /lang`), so it works without JavaScript; the
/// page comes back in the chosen language, which a cookie remembers.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let location = use_location();
    let here = move || {
        let (path, query) = (location.pathname.get(), location.search.get());
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    };
    let now = locale::current();
    view! {
        <form class="lang-switch" method="get" action="/lang">
            <input type="hidden" name="next" value=here />
            {locale::ALL
                .into_iter()
                .filter(|l| *l != now)
                .map(|l| view! {
                    <button type="submit" class="link" name="to" value=locale::code(l) lang=locale::code(l)>
                        {locale::own_name(l)}
                    </button>
                })
                .collect_view()}
        </form>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>{tr!(common.home.title)}</h1>
            <p class="lead">{tr!(common.home.lead)}</p>
            <div class="actions">
                <a class="button" href="/docs">{tr!(common.home.guide)}</a>
                <a class="button secondary" href="/docs/errors">{tr!(common.home.errors)}</a>
            </div>
        </section>
    }
}

/// The page for an unknown path (status 404), showing the same code the API would.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=tr!(common.not_found.title) />
        <ErrorPanel error=ApiError::new(ErrorCode::NotFound) />
        <p><a href="/">{tr!(common.not_found.home)}</a></p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_start_page_and_the_docs_are_for_developers() {
        for path in ["/", "/docs", "/docs/api", "/docs/errors"] {
            assert!(for_developers(path), "{path}");
        }
        for path in [
            crate::paths::SIGN_IN,
            crate::paths::STATUS,
            "/devices",
            crate::paths::ACCOUNT,
            "/docsx",
        ] {
            assert!(!for_developers(path), "{path}");
        }
    }
}
