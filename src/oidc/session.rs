//! The fypass session of the browser at `/oauth/authorize`: who is signed in there, and
//! how and when they proved it (for single sign-on, `prompt`, `max_age` and step-up).

use crate::{
    db::{db_row, with_reader},
    error::ApiError,
    request::Caller,
    secret,
    state::AppState,
    users::{session, store::UserRow},
};
use uuid::Uuid;

db_row! {
    /// What the browser's live session says about how and when its person signed in.
    pub struct SessionFacts {
        pub id: Uuid,
        pub created_at: i64,
        pub reauthenticated_at: Option<i64>,
        pub amr: Option<String>,
        pub strong_at: Option<i64>,
    }
}

impl SessionFacts {
    /// When the person last proved who they are in this session.
    pub fn auth_time(&self) -> i64 {
        self.reauthenticated_at
            .map_or(self.created_at, |a| a.max(self.created_at))
    }
}

/// The person signed in in this browser (the session rules are `session::current`'s), and
/// their session's facts.
pub async fn signed_in(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<(UserRow, SessionFacts)>, ApiError> {
    let Some(user) = session::current(state, caller).await? else {
        return Ok(None);
    };
    let Some(cookie) = session::secret_of(caller, &state.config) else {
        return Ok(None);
    };
    let sql = "SELECT id, created_at, reauthenticated_at, amr, strong_at FROM sessions WHERE token_hash = $1";
    let facts: Option<SessionFacts> = with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(secret::hash(cookie))
        .fetch_optional(c)
        .await)?;
    Ok(facts.map(|f| (user, f)))
}
