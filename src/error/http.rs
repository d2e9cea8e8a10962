//! Server side of [`ApiError`]: how it becomes an HTTP response, and how database errors
//! become codes.

use super::{ApiError, ErrorCode};
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

impl ApiError {
    pub fn http_status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The only way an error body is written. The code also rides along as a response
/// extension so the metrics and access log can count it without parsing the body.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.http_status();
        let retry_after = self.retry_after;
        let code = self.code;
        let mut res = (status, axum::Json(self)).into_response();
        if let Some(seconds) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        res.extensions_mut().insert(code);
        res
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let field = duplicate_column(db.as_ref()).unwrap_or_else(|| "value".into());
                ApiError::new(ErrorCode::DuplicateKey)
                    .and_field(field.clone(), crate::tr!(common.field.in_use))
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => {
                tracing::warn!(error = %e, "database unreachable");
                ApiError::new(ErrorCode::ServiceUnavailable)
            }
            sqlx::Error::Database(db) if db.code().is_some_and(|c| connection_lost(&c)) => {
                tracing::warn!(error = %e, "database unreachable");
                ApiError::new(ErrorCode::ServiceUnavailable)
            }
            _ => {
                tracing::error!(error = %e, "database error");
                ApiError::new(ErrorCode::InternalError)
            }
        }
    }
}

/// Whether a PostgreSQL SQLSTATE says the server or the path to it is gone or full, rather
/// than that the statement is wrong: class 08 (connection exception; every error PgBouncer
/// itself sends is 08P01), 57P01–57P03 (administrator shutdown, crash shutdown, cannot
/// connect now: a restart or a failover) and class 53 (insufficient resources, such as too
/// many connections). The connection is closed by then, and the pool replaces it when it is
/// returned, so the next request gets a fresh one.
fn connection_lost(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
        || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

/// The column behind a unique violation, as the API names it (`camelCase`).
///
/// PostgreSQL reports the constraint (`users_email_key` by its default naming), SQLite
/// only the message (`UNIQUE constraint failed: users.email`); both are read here so the
/// callers never have to.
fn duplicate_column(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    let column = if let Some(constraint) = db.constraint() {
        let table = db.table().unwrap_or_default();
        constraint
            .strip_prefix(table)
            .unwrap_or(constraint)
            .trim_start_matches('_')
            .trim_end_matches("_key")
            .to_string()
    } else {
        let msg = db.message();
        let cols = msg.split("UNIQUE constraint failed: ").nth(1)?;
        // For a composite key the last column is the one a caller chose.
        let last = cols.split(", ").last()?;
        last.rsplit('.').next()?.to_string()
    };
    Some(camel_case(&column))
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn camel_case_of_columns() {
        assert_eq!(super::camel_case("device_id"), "deviceId");
        assert_eq!(super::camel_case("email"), "email");
    }
}
