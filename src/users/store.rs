//! The `users` table.
//!
//! One identifier, one account: an email address or WhatsApp number belongs to the one
//! account that has it, verified or not (a unique index on each), so a code sent to it acts
//! on that account only, and registering or adding it elsewhere is `DUPLICATE_KEY`. An
//! identifier is unverified until someone proves they receive its codes; an account whose
//! identifier was never verified belongs to whoever proves it (`codes::recovery`).

use super::{User, identifier::Identifier};
use crate::{
    db::{Db, Tx, db_row, now_ms, rfc3339, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    status::Status,
};
use uuid::Uuid;

db_row! {
    /// A stored user, with what only the server may see.
    #[derive(Clone, Debug)]
    pub struct UserRow {
        pub id: Uuid,
        pub name: String,
        pub email: Option<String>,
        pub whatsapp: Option<String>,
        pub password_hash: String,
        pub status: String,
        pub created_at: i64,
        pub email_verified_at: Option<i64>,
        pub whatsapp_verified_at: Option<i64>,
        // When everything of theirs was last revoked (`tokens::revoke_for_user`): as read
        // with the rest of the row, it tells [`hold`] whether that happened since.
        pub revoked_before: Option<i64>,
    }
}

const COLUMNS: &str = "id, name, email, whatsapp, password_hash, status, created_at, email_verified_at, whatsapp_verified_at, revoked_before";
macro_rules! u_but_id {
    () => {
        "u.name, u.email, u.whatsapp, u.password_hash, u.status, u.created_at, u.email_verified_at, u.whatsapp_verified_at, u.revoked_before"
    };
}
/// [`UserRow`]'s columns from a table aliased `u`, for joins.
pub const U_COLUMNS: &str = concat!("u.id, ", u_but_id!());
/// [`UserRow`]'s columns but `id`, from a table aliased `u`: for a join whose row has an
/// `id` of its own, where the person's id is already known (the caller sets it).
pub const U_COLUMNS_BUT_ID: &str = u_but_id!();

impl UserRow {
    pub fn status(&self) -> Status {
        self.status.parse().unwrap_or_else(|e| {
            tracing::error!(user = %self.id, "corrupt user status: {e}");
            Status::Deleted
        })
    }

    pub fn view(&self) -> User {
        User {
            id: self.id.to_string(),
            name: self.name.clone(),
            email: self.email.clone(),
            whatsapp: self.whatsapp.clone(),
            status: self.status(),
            created_at: rfc3339(self.created_at),
            email_verified_at: self.email_verified_at.map(rfc3339),
            whatsapp_verified_at: self.whatsapp_verified_at.map(rfc3339),
        }
    }

    /// Whether the person proved one of their identifiers.
    pub fn has_verified(&self) -> bool {
        self.email_verified_at.is_some() || self.whatsapp_verified_at.is_some()
    }

    /// Their current identifier of `identifier`'s kind (verified or not).
    pub fn of_kind(&self, identifier: &Identifier) -> Option<&str> {
        match identifier {
            Identifier::Email(_) => self.email.as_deref(),
            Identifier::Whatsapp(_) => self.whatsapp.as_deref(),
        }
    }

    /// Whether `identifier` is their current one of its kind (verified or not).
    pub fn claims(&self, identifier: &Identifier) -> bool {
        self.of_kind(identifier) == Some(identifier.as_str())
    }

    /// Whether `identifier` is this person's, verified.
    pub fn verified(&self, identifier: &Identifier) -> bool {
        match identifier {
            Identifier::Email(e) => {
                self.email.as_deref() == Some(e.as_str()) && self.email_verified_at.is_some()
            }
            Identifier::Whatsapp(w) => {
                self.whatsapp.as_deref() == Some(w.as_str()) && self.whatsapp_verified_at.is_some()
            }
        }
    }
}

fn column(identifier: &Identifier) -> &'static str {
    match identifier {
        Identifier::Email(_) => "email",
        Identifier::Whatsapp(_) => "whatsapp",
    }
}

/// The column of the other kind of identifier than `identifier`'s.
fn other_column(identifier: &Identifier) -> &'static str {
    match identifier {
        Identifier::Email(_) => "whatsapp",
        Identifier::Whatsapp(_) => "email",
    }
}

/// The account that has `identifier` (verified or not), if any.
pub async fn find_by_identifier(
    db: &Db,
    identifier: &Identifier,
) -> Result<Option<UserRow>, ApiError> {
    let sql = by_identifier(identifier);
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(identifier.as_str())
        .fetch_optional(c)
        .await)?)
}

/// The `SELECT` of the person whose identifier of `identifier`'s kind is `$1`.
fn by_identifier(identifier: &Identifier) -> String {
    format!(
        "SELECT {COLUMNS} FROM users WHERE {} = $1",
        column(identifier)
    )
}

/// [`find_by_identifier`] as `tx` sees it.
pub async fn find_by_identifier_in(
    tx: &mut Tx<'_>,
    identifier: &Identifier,
) -> Result<Option<UserRow>, ApiError> {
    let sql = by_identifier(identifier);
    Ok(with_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(identifier.as_str())
        .fetch_optional(c)
        .await)?)
}

pub async fn find(db: &Db, id: Uuid) -> Result<Option<UserRow>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// The user `id` as `tx` sees it (with what it changed).
pub async fn find_in(tx: &mut Tx<'_>, id: Uuid) -> Result<Option<UserRow>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(with_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

pub async fn list(db: &Db) -> Result<Vec<UserRow>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY created_at, id");
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .fetch_all(c)
        .await)?)
}

pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub whatsapp: Option<&'a str>,
    pub password_hash: &'a str,
}

/// `DUPLICATE_KEY` naming each of `taken` (`email`, `whatsapp`), or `Ok` when none is.
fn refuse_taken(taken: &[&str]) -> Result<(), ApiError> {
    if taken.is_empty() {
        return Ok(());
    }
    let mut error = ApiError::with_message(
        ErrorCode::DuplicateKey,
        crate::tr!(common.field.account_exists),
    );
    for field in taken {
        let message = if *field == "email" {
            crate::tr!(common.field.email_registered)
        } else {
            crate::tr!(common.field.whatsapp_registered)
        };
        error = error.and_field(*field, message);
    }
    Err(error)
}

/// The identifiers of `new`, by column.
fn identifiers<'a>(new: &NewUser<'a>) -> impl Iterator<Item = (&'static str, &'a str)> {
    [("email", new.email), ("whatsapp", new.whatsapp)]
        .into_iter()
        .filter_map(|(field, value)| Some((field, value?)))
}

const HELD: &str = "SELECT COUNT(*) FROM users WHERE {field} = $1";

/// Whether `new`'s email address and number are free — no account has them, verified or
/// not —: `DUPLICATE_KEY` naming each one that is not (a read, before anything costly is
/// done for a registration).
pub async fn check_free(db: &Db, new: &NewUser<'_>) -> Result<(), ApiError> {
    let mut taken = Vec::new();
    for (field, value) in identifiers(new) {
        let sql = HELD.replace("{field}", field);
        let (count,): (i64,) =
            with_reader!(db, |c| sqlx::query_as(&sql).bind(value).fetch_one(c).await)?;
        if count > 0 {
            taken.push(field);
        }
    }
    refuse_taken(&taken)
}

/// Inserts a user; an email or number already in use is `DUPLICATE_KEY` naming every
/// field that collides.
pub async fn insert(tx: &mut Tx<'_>, new: NewUser<'_>) -> Result<UserRow, ApiError> {
    let mut taken = Vec::new();
    for (field, value) in identifiers(&new) {
        let sql = HELD.replace("{field}", field);
        let (count,): (i64,) =
            with_tx!(tx, |c| sqlx::query_as(&sql).bind(value).fetch_one(c).await)?;
        if count > 0 {
            taken.push(field);
        }
    }
    refuse_taken(&taken)?;
    let now = now_ms();
    let row = UserRow {
        id: Uuid::now_v7(),
        name: new.name.to_string(),
        email: new.email.map(String::from),
        whatsapp: new.whatsapp.map(String::from),
        password_hash: new.password_hash.to_string(),
        status: Status::Active.as_str().to_string(),
        created_at: now,
        email_verified_at: None,
        whatsapp_verified_at: None,
        revoked_before: None,
    };
    // The unique constraints stay the authority for a concurrent registration (the
    // database error becomes DUPLICATE_KEY naming the column).
    let sql = "INSERT INTO users (id, name, email, whatsapp, password_hash, status, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(row.id)
        .bind(&row.name)
        .bind(&row.email)
        .bind(&row.whatsapp)
        .bind(&row.password_hash)
        .bind(&row.status)
        .bind(now)
        .execute(c)
        .await
        .map(drop))?;
    Ok(row)
}

/// Locks the person `user_id`'s row until `tx` ends. Everything that revokes what a person
/// holds (`tokens::revoke_for_user`) and everything that issues them something new takes
/// this lock first, so the two never interleave: a revocation either sees what was issued
/// (and revokes it) or comes after it was refused.
pub async fn lock(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    lock_many(tx, &[user_id]).await
}

/// Locks the rows of `users` (sorted, without repeats) for `tx`, as [`lock`] locks one,
/// in one statement; taken in that order, two transactions locking several never wait
/// for each other in a circle.
pub async fn lock_many(tx: &mut Tx<'_>, users: &[Uuid]) -> Result<(), ApiError> {
    // On SQLite every write transaction begins IMMEDIATE, holding the database's one write
    // lock: nothing else changes anything beside it, and a row lock would only cost a
    // statement.
    let Tx::Postgres(t) = tx else {
        return Ok(());
    };
    let sql = "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";
    sqlx::query(sql).bind(users).fetch_all(t.exec()).await?;
    Ok(())
}

/// Locks `user`'s row ([`lock`]) for `tx`, which acts on what was proved when `user` was
/// read (a password checked against that row's hash, a session, a passkey): `UNAUTHORIZED`
/// if since then everything of theirs was revoked (a recovery, a new password, "sign out
/// everywhere", a status change) or they are no longer active. Without it, a sign-in whose
/// password was checked just before a recovery replaced it would start a session and
/// complete a login request just after the recovery ended everything.
pub async fn hold(tx: &mut Tx<'_>, user: &UserRow) -> Result<(), ApiError> {
    let sql = "UPDATE users SET revoked_before = revoked_before
               WHERE id = $1 AND status = 'active' AND revoked_before IS NOT DISTINCT FROM $2";
    let held = with_tx!(tx, |c| sqlx::query(sql)
        .bind(user.id)
        .bind(user.revoked_before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if held == 1 {
        Ok(())
    } else {
        Err(ApiError::with_message(
            ErrorCode::Unauthorized,
            crate::tr!(common.revoked_meanwhile),
        ))
    }
}

/// Writes a user's status, the row alone (`false`: no such user). Only for
/// `tokens::set_user_status`, which also revokes their tokens and sessions in the same
/// transaction: the tokens sit above the users, so the users cannot revoke them.
pub(crate) async fn write_status(
    tx: &mut Tx<'_>,
    id: Uuid,
    status: Status,
) -> Result<bool, ApiError> {
    let now = now_ms();
    let sql = "UPDATE users SET status = $2, updated_at = $3 WHERE id = $1";
    let changed = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(status.as_str())
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed != 0)
}

/// Marks `identifier` verified for `user_id`, who proved they receive its codes: as their
/// current one (`false` when they no longer have it), or (`replace`) in place of their
/// current one of that kind. Nothing moves from another account: an identifier another
/// account has is `DUPLICATE_KEY` (the unique index decides, also against a concurrent
/// change).
pub async fn verify_identifier(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    identifier: &Identifier,
    replace: bool,
) -> Result<bool, ApiError> {
    let column = column(identifier);
    let now = now_ms();
    let mine = if replace {
        // A new identifier in place of the old: verified from now on.
        format!(
            "UPDATE users SET {column} = $1, {column}_verified_at = $3, updated_at = $3 WHERE id = $2"
        )
    } else {
        format!(
            "UPDATE users SET {column}_verified_at = COALESCE({column}_verified_at, $3), updated_at = $3
             WHERE id = $2 AND {column} = $1"
        )
    };
    let changed = with_tx!(tx, |c| sqlx::query(&mine)
        .bind(identifier.as_str())
        .bind(user_id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Leaves `user_id` with `identifier` alone: their identifier of the other kind is removed
/// (a recovery that hands an account to whoever proved `identifier`: `codes::recovery`).
pub async fn keep_only(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    identifier: &Identifier,
) -> Result<(), ApiError> {
    clear(tx, user_id, other_column(identifier)).await
}

/// Removes `user_id`'s identifier of the other kind than `keep` if it was verified at or
/// after `since` (when a "this wasn't me" link was made: whoever got in may have added it,
/// to recover the account through it later); whether it did.
pub async fn remove_other_verified_since(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    keep: &Identifier,
    since: i64,
) -> Result<bool, ApiError> {
    let other = other_column(keep);
    let sql = format!(
        "UPDATE users SET {other} = NULL, {other}_verified_at = NULL, updated_at = $2
         WHERE id = $1 AND {other}_verified_at >= $3"
    );
    let removed = with_tx!(tx, |c| sqlx::query(&sql)
        .bind(user_id)
        .bind(now_ms())
        .bind(since)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(removed == 1)
}

/// Removes `user_id`'s identifier of `like`'s kind, whatever it is (a "this wasn't me" link
/// whose address another account holds now: the one that replaced it goes all the same).
pub async fn remove_of_kind(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    like: &Identifier,
) -> Result<(), ApiError> {
    clear(tx, user_id, column(like)).await
}

/// Sets `user_id`'s identifier `column` (`email`, `whatsapp`) and its verified time to NULL.
async fn clear(tx: &mut Tx<'_>, user_id: Uuid, column: &str) -> Result<(), ApiError> {
    let sql = format!(
        "UPDATE users SET {column} = NULL, {column}_verified_at = NULL, updated_at = $2 WHERE id = $1"
    );
    with_tx!(tx, |c| sqlx::query(&sql)
        .bind(user_id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Offers `user_id` a passkey again after their next sign-in (their passkeys were removed).
pub async fn offer_passkey_again(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE users SET passkey_offered_at = NULL WHERE id = $1";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Marks that `user_id` was offered to create a passkey; `true` the first time only.
pub async fn mark_passkey_offered(db: &Db, user_id: Uuid) -> Result<bool, ApiError> {
    let sql =
        "UPDATE users SET passkey_offered_at = $2 WHERE id = $1 AND passkey_offered_at IS NULL";
    let first = with_writer!(db, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(first == 1)
}

/// Sets a new password hash.
pub async fn set_password(tx: &mut Tx<'_>, user_id: Uuid, hash: &str) -> Result<(), ApiError> {
    let sql = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(hash)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// The error a person with `status` is refused with (after their password), if any.
pub fn refusal(status: Status) -> Option<ErrorCode> {
    match status {
        Status::Active => None,
        Status::Inactive => Some(ErrorCode::UserNotActive),
        Status::Suspended => Some(ErrorCode::UserSuspended),
        Status::Deleted => Some(ErrorCode::UserDeleted),
    }
}
