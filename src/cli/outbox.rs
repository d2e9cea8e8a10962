//! `fypass outbox list`: the messages waiting in (or gone through) the outbox, newest first,
//! as JSON — how someone without an email or WhatsApp channel reads their codes.

use crate::courier::outbox;
use crate::db::Db;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// List messages, newest first (a sent message no longer has its body).
    List {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(db: &Db, command: OutboxCommand) -> Result<String, String> {
    match command {
        OutboxCommand::List { limit } => {
            let messages = outbox::list(db, limit.clamp(1, 10_000))
                .await
                .map_err(|e| e.message)?;
            serde_json::to_string_pretty(&messages).map_err(|e| e.to_string())
        }
    }
}
