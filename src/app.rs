//! The pages: the HTML shell (server only), the router, and the frame every page shares.

use crate::{
    account::pages::AccountPage,
    codes::pages::{CodeSignInPage, RecoverPage, VerifyPage},
    devices::dashboard::DevicesPage,
    docs::{ApiInfoPage, ApiReferencePage, ErrorListPage},
    error::{ApiError, ErrorCode},
    login::pages::{LoginPage, RegisterPage, StatusPage},
    ui::ErrorPanel,
};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    page_security_headers();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Per-request context for pages and the server functions they call while rendering.
#[cfg(feature = "ssr")]
pub fn page_context(state: crate::server::AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        leptos::nonce::provide_nonce();
    }
}

/// Renders the app for `req`, with `extra` context on top of the usual page context (what
/// a plain form post left for the page it renders again, say).
#[cfg(feature = "ssr")]
pub async fn render_page(
    state: crate::server::AppState,
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

/// Pages get a Content-Security-Policy whose nonce admits only our hydration script.
#[cfg(feature = "ssr")]
fn page_security_headers() {
    use axum::http::{HeaderValue, header};
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        res.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|text: String| if text.is_empty() { "fypass".to_string() } else { format!("{text} · fypass") } />
        <Router>
            <TopBar />
            <main class="page">
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
                </Routes>
            </main>
            <footer class="footer">
                <span>"fypass — self-hosted identity core"</span>
                <A href="/docs">"API documentation"</A>
            </footer>
        </Router>
    }
}

#[component]
fn TopBar() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"fy"</span>
                "fypass"
            </a>
            <nav class="nav" aria-label="Main">
                <A href="/docs" exact=true>"Guide"</A>
                <A href="/docs/api">"Endpoints"</A>
                <A href="/docs/errors">"Errors"</A>
                <A href="/devices">"Devices"</A>
                <A href="/account">"Account"</A>
            </nav>
        </header>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Sign in once. Every app knows it is you."</h1>
            <p class="lead">
                "fypass is the identity core behind a family of apps: apps start a login with their "
                "client key, people sign in here with their email or WhatsApp number, and apps "
                "keep track of their devices."
            </p>
            <div class="actions">
                <a class="button" href="/docs">"Read the API guide"</a>
                <a class="button secondary" href="/docs/errors">"Error codes"</a>
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
        <Title text="Not found" />
        <ErrorPanel error=ApiError::new(ErrorCode::NotFound) />
        <p><a href="/">"Go to the start page"</a></p>
    }
}
