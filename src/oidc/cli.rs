//! `fypass keys ...`: the OpenID Connect signing keys.

use crate::{config::Config, db::Db};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new signing key: published in the JWKS now, signing after the publish delay
    /// (`--publish-delay-secs`, default `FYPASS_KEY_PUBLISH_DELAY_SECS`); the old key stays
    /// published until every ID token it signed has expired. Prints what the JWKS holds.
    Rotate {
        /// Seconds before the new key signs (0: at once, for a key that must go now).
        #[arg(long)]
        publish_delay_secs: Option<u64>,
    },
    /// List the published keys (ids, when each signs), never the private keys.
    List,
}

/// Runs one command, returning the JSON to print.
pub async fn run(db: &Db, config: &Config, command: KeysCommand) -> Result<String, String> {
    let fail = |e: crate::error::ApiError| e.message;
    match command {
        KeysCommand::Rotate { publish_delay_secs } => {
            let delay = publish_delay_secs.unwrap_or(config.key_publish_delay_secs);
            let rotation = super::keys::rotate(db, config, delay).await.map_err(fail)?;
            Ok(json(&rotation))
        }
        KeysCommand::List => {
            let set = super::keys::jwks(db, config).await.map_err(fail)?;
            Ok(json(&set))
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plain data serializes")
}
