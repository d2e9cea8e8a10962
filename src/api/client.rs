//! How the hydrated pages call their server functions: the browser's `fetch`, saying the
//! page's language.
//!
//! The language of a page can come from its switch or from the app's login request, which
//! the browser's own `Accept-Language` does not know; so a page's calls send the page's
//! language as their `Accept-Language`, and the errors they get back read like the page
//! (see [`crate::locale`]). Every `#[server]` function a page calls names this client.

use futures::{Sink, Stream};
use leptos::server_fn::{
    Bytes,
    client::{Client, browser::BrowserClient},
    error::FromServerFnError,
    request::browser::BrowserRequest,
    response::browser::BrowserResponse,
};
use std::future::Future;

/// `fetch` with `Accept-Language` set to the page's language.
pub struct PageClient;

impl<E, IS, OS> Client<E, IS, OS> for PageClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(req: BrowserRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
        #[cfg(feature = "hydrate")]
        req.headers().set(
            "accept-language",
            crate::locale::code(crate::locale::current()),
        );
        <BrowserClient as Client<E, IS, OS>>::send(req)
    }

    #[allow(clippy::type_complexity)]
    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}
