//! HTTP as the tests speak it: the routes they call, a browser that does not follow
//! redirects, hosted pages as such a browser gets them, the cookies a reply sets, and the
//! shape of an error reply.

use super::TestApp;
use std::{future::IntoFuture, pin::Pin};

/// An app starts a login request here.
pub const START: &str = "/api/v1/users/login";
/// An app polls its login request here.
pub const STATUS: &str = "/api/v1/users/login-status";
/// The hosted sign-in with a password.
pub const LOGIN: &str = "/api/v1/fypass/login";
/// The hosted registration.
pub const REGISTER: &str = "/api/v1/fypass/register";
/// An app's devices.
pub const DEVICES: &str = "/api/v1/devices";

/// A free TCP port on this machine (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A client that shows each redirect instead of following it, as a test of where a page
/// sends a browser needs.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A page as a browser without JavaScript got it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// As [`TestApp::page_html`] gives it.
    pub html: String,
}

impl Page {
    /// Asserts the page was served (200).
    pub fn ok(self) -> Page {
        assert_eq!(self.status, 200, "{}", self.html);
        self
    }
}

/// A GET of a page (`Accept: text/html`), with the browser's cookies and languages when
/// given; awaiting it gives the [`Page`].
pub struct PageRequest<'t> {
    t: &'t TestApp,
    path: String,
    cookie: Option<String>,
    language: Option<String>,
}

impl PageRequest<'_> {
    /// The `Cookie` header the browser sends (`a=1; b=2`).
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookie = Some(cookie.to_string());
        self
    }

    /// The browser's `Accept-Language`.
    pub fn language(mut self, accept: &str) -> Self {
        self.language = Some(accept.to_string());
        self
    }
}

impl<'t> IntoFuture for PageRequest<'t> {
    type Output = Page;
    type IntoFuture = Pin<Box<dyn Future<Output = Page> + Send + 't>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut req = self
            .t
            .http
            .get(self.t.url(&self.path))
            .header("accept", "text/html");
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        if let Some(accept) = &self.language {
            req = req.header("accept-language", accept);
        }
        Box::pin(async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            Page {
                status,
                headers,
                html: TestApp::page_html(res).await,
            }
        })
    }
}

impl TestApp {
    /// The page at `path`, as a browser asks for it: `t.page(path).cookie(c).await`.
    pub fn page(&self, path: &str) -> PageRequest<'_> {
        PageRequest {
            t: self,
            path: path.to_string(),
            cookie: None,
            language: None,
        }
    }

    /// A page's HTML as a reader sees it: without the empty comments (`<!>`) Leptos puts
    /// after dynamic text to hydrate it, which tests should not depend on.
    pub async fn page_html(res: reqwest::Response) -> String {
        res.text().await.unwrap().replace("<!>", "")
    }
}

/// Where a browser lands when a form posted to `action` (a path of `t`'s site, with the
/// fragment the page wrote in it) is answered with a redirect to `location`: `location`
/// resolved against `action`, which keeps `action`'s fragment when `location` has none
/// (Fetch, "HTTP-redirect fetch"; RFC 9110 §10.2.2). Path, query and fragment.
pub fn lands_on(t: &TestApp, action: &str, location: &str) -> String {
    let from = url::Url::parse(&t.url(action)).unwrap();
    let mut to = from.join(location).unwrap();
    if to.fragment().is_none() {
        to.set_fragment(from.fragment());
    }
    to[url::Position::BeforePath..].to_string()
}

/// The `name=value` of the session cookie a reply sets.
pub fn session_cookie(res: &reqwest::Response) -> String {
    cookie_named(res, "fypass_session").expect("a session cookie is set")
}

/// The `name=value` of the cookie `name` a reply sets, if it sets one.
pub fn cookie_named(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// The `{code, message}` body of an error response, with its status.
async fn error_of(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.expect("error bodies are JSON");
    (status, body)
}

/// Asserts an error response's status and code, returning its body.
pub async fn expect_error(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let (got_status, body) = error_of(res).await;
    assert_eq!(
        (got_status, body["code"].as_str().unwrap_or_default()),
        (status, code),
        "{body}"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
