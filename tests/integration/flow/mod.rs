//! The hosted login flow over its REST routes: starting a login, registering, signing in,
//! polling for the token, and every error in its order.

mod concurrent;
mod register;
mod rollback;
mod sign_in;
mod start;
