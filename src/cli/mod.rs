//! The admin commands (`fypass client ...`, `fypass user ...`, `fypass outbox ...`): the top
//! layer, used by `main.rs` alone. Each works on the database directly, through the
//! features' own functions, and prints JSON for scripts.

pub mod clients;
pub mod outbox;
pub mod users;
