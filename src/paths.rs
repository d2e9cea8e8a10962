//! The paths of the hosted pages and of the plain forms that post to them, named once: the
//! handlers mount them, the pages link and post to them, redirects send browsers there. (The
//! router in `app` matches the same pages segment by segment.)

/// Sign in (and, with `?reqToken=`, a login request's page).
pub const SIGN_IN: &str = "/fypass";
pub const REGISTER: &str = "/fypass/register";
/// A login request's outcome, as its person sees it.
pub const STATUS: &str = "/fypass/status";
pub const RECOVER: &str = "/fypass/recover";
/// Sign in with a one-time code.
pub const CODE: &str = "/fypass/code";
/// Verify an email address or a WhatsApp number with its code.
pub const VERIFY: &str = "/fypass/verify";
pub const SECOND_FACTOR: &str = "/fypass/second-factor";
pub const SIGN_OUT: &str = "/fypass/sign-out";
/// "This wasn't me", an alert's link.
pub const NOT_ME: &str = "/fypass/not-me";
pub const ACCOUNT: &str = "/account";
pub const ACTIVITY: &str = "/account/activity";
/// The download of everything held about the person.
pub const EXPORT: &str = "/account/export";
