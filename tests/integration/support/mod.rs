//! The test harness: the real application, on a fresh database, over real HTTP.
//!
//! * `app`: [`TestApp`], started the way the binary starts, and an app's calls of the
//!   login flow;
//! * `db`: the database of each test (SQLite, or PostgreSQL with
//!   `FYPASS_TEST_DATABASE_URL`), and what a test reads or sets there directly;
//! * `http`: the routes, a browser that follows no redirect, pages, cookies, error replies;
//! * `person`: someone with an account — `t.person(email).via(&app).register()`.

mod app;
mod db;
mod http;
mod person;

pub use app::{App, TestApp, limits};
pub use db::{TestDb, on_postgres};
pub use http::{
    DEVICES, LOGIN, Page, REGISTER, START, STATUS, cookie_named, expect_error, free_port, lands_on,
    no_redirects, session_cookie,
};
pub use person::{NAME, PASSWORD, Person};

use std::future::Future;

/// Runs `futures` at once (each spawned on the multi-threaded runtime) and collects their
/// outputs in order.
pub async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
