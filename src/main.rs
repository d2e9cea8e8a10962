//! The `fypass` binary: reads the configuration, then serves (the default) or runs an
//! admin command.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fypass::config::Config;
use std::{io::IsTerminal, process::ExitCode};
use tracing_subscriber::{EnvFilter, fmt};

#[derive(Parser, Debug)]
#[command(
    name = "fypass",
    version,
    about = "Self-hosted identity core: client keys, hosted login, devices."
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API, the fypass pages and the docs (the default).
    Serve,
    /// Manage client apps and their keys.
    #[command(subcommand)]
    Client(fypass::cli::clients::ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(fypass::cli::users::UserCommand),
    /// Read the messages (codes) waiting to be delivered.
    #[command(subcommand)]
    Outbox(fypass::cli::outbox::OutboxCommand),
    /// The OpenID Connect signing keys (rotate, list).
    #[command(subcommand)]
    Keys(fypass::oidc::cli::KeysCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parse_command_line();
    let command = cli.command.unwrap_or(Command::Serve);
    // Admin commands keep stderr quiet unless something is wrong; their output is JSON.
    let default_level = if matches!(command, Command::Serve) {
        "info,sqlx=warn"
    } else {
        "warn"
    };
    init_logging(&cli.config, default_level);

    let result = match command {
        Command::Serve => fypass::server::serve(cli.config)
            .await
            .map_err(|e| e.to_string()),
        Command::Client(cmd) => {
            admin(&cli.config, async |db| {
                fypass::cli::clients::run(db, cmd).await
            })
            .await
        }
        Command::User(cmd) => {
            admin(&cli.config, async |db| {
                fypass::cli::users::run(db, &cli.config, cmd).await
            })
            .await
        }
        Command::Keys(cmd) => {
            admin(&cli.config, async |db| {
                fypass::oidc::cli::run(db, &cli.config, cmd).await
            })
            .await
        }
        Command::Outbox(cmd) => {
            admin(&cli.config, async |db| {
                fypass::cli::outbox::run(db, cmd).await
            })
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The command line, with each setting's environment variable named in `--help` but never
/// its value: several hold secrets (the database and SMTP URLs carry passwords, the WhatsApp
/// token), and help output ends up in terminals, CI logs and bug reports. The rule is set
/// on every argument here, so a setting added later cannot forget it.
fn parse_command_line() -> Cli {
    let mut command = Cli::command().mut_args(|arg| arg.hide_env_values(true));
    let matches = command.get_matches_mut();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// Runs an admin command on the (migrated) database and prints its JSON.
async fn admin(
    config: &Config,
    command: impl AsyncFnOnce(&fypass::db::Db) -> Result<String, String>,
) -> Result<(), String> {
    let db = fypass::db::Db::open(config, 2).await?;
    let output = command(&db).await;
    db.close().await;
    output.map(|json| println!("{json}"))
}

fn init_logging(config: &Config, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colours only for a person at a terminal: a log file or journald gets plain text.
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if config.log_format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
