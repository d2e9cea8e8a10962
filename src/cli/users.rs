//! `fypass user ...`: list users, and set a user's status (which revokes their tokens and
//! sessions at once unless the new status is `active`). JSON on stdout; a one-line error
//! and a non-zero exit for bad input, with nothing written.

use crate::users::{identifier::Identifier, store};
use crate::{config::Config, db::Db, status::Status};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// List every user (never their password hashes).
    List,
    /// Set a user's status: active, inactive, suspended or deleted.
    SetStatus {
        /// The user's email address or WhatsApp number, in any spelling.
        identifier: String,
        status: Status,
    },
}

pub async fn run(db: &Db, config: &Config, command: UserCommand) -> Result<String, String> {
    let json =
        |v: serde_json::Value| serde_json::to_string_pretty(&v).expect("plain data serializes");
    match command {
        UserCommand::List => {
            let users = store::list(db).await.map_err(|e| e.message)?;
            Ok(json(
                serde_json::to_value(users.iter().map(|u| u.view()).collect::<Vec<_>>())
                    .expect("serializable"),
            ))
        }
        UserCommand::SetStatus { identifier, status } => {
            let parsed =
                Identifier::parse(&identifier, config.default_country_code).map_err(|_| {
                    format!("'{identifier}' is not an email address or WhatsApp number")
                })?;
            let user = store::find_by_identifier(db, &parsed)
                .await
                .map_err(|e| e.message)?
                .ok_or_else(|| format!("no user with {}", parsed))?;
            let mut tx = db.begin().await.map_err(|e| e.message)?;
            crate::tokens::set_user_status(&mut tx, user.id, status)
                .await
                .map_err(|e| e.message)?;
            tx.commit().await.map_err(|e| e.message)?;
            let user = store::find(db, user.id)
                .await
                .map_err(|e| e.message)?
                .ok_or("the user disappeared")?;
            Ok(json(
                serde_json::to_value(user.view()).expect("serializable"),
            ))
        }
    }
}
