//! Integration tests of fypass: the real application over HTTP, on a fresh database per
//! test. `cargo test` runs them on SQLite; with `FYPASS_TEST_DATABASE_URL` set to a
//! PostgreSQL server (`postgres://postgres@127.0.0.1:5432/test`) they run on PostgreSQL.

mod support;

mod abuse;
mod account;
mod activity;
mod channels;
mod cli;
mod clients;
mod codes;
mod confirm;
mod contract;
mod devices;
mod factors;
mod faults;
mod flow;
mod foundation;
mod identifiers;
mod languages;
mod not_me;
mod oidc;
mod pages;
mod passkeys;
mod races;
mod review;
mod tokens;
mod upgrade;
