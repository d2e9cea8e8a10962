//! The schema migrations, embedded in the binary so a deployment is one file. SQLite and
//! PostgreSQL each have their own numbered set under `migrations/` because their types
//! differ (BLOB / UUID, INTEGER / BIGINT); the versions of both sets advance together.

use sqlx::{
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
};
use std::{borrow::Cow, future::Future, pin::Pin};

type Set = &'static [(i64, &'static str, &'static str)];

macro_rules! embed {
    ($backend:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$((
            $version,
            $name,
            include_str!(concat!("../../migrations/", $backend, "/", $name, ".sql")),
        )),*]
    };
}

const SQLITE: Set = embed!("sqlite":
    1 "0001_clients", 2 "0002_users", 3 "0003_devices", 4 "0004_abuse", 5 "0005_tokens",
    6 "0006_codes", 7 "0007_passkeys", 8 "0008_branding", 9 "0009_one_account", 10 "0010_account", 11 "0011_refresh_grace", 12 "0012_oidc",
    13 "0013_security", 14 "0014_alert_address", 15 "0015_session_facts", 16 "0016_oidc_poll_rs256",
    17 "0017_token_person_family");
const POSTGRES: Set = embed!("postgres":
    1 "0001_clients", 2 "0002_users", 3 "0003_devices", 4 "0004_abuse", 5 "0005_tokens",
    6 "0006_codes", 7 "0007_passkeys", 8 "0008_branding", 9 "0009_one_account", 10 "0010_account", 11 "0011_refresh_grace", 12 "0012_oidc",
    13 "0013_security", 14 "0014_alert_address", 15 "0015_session_facts", 16 "0016_oidc_poll_rs256",
    17 "0017_token_person_family");

#[derive(Debug)]
struct Embedded(Set);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, name, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(name),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub async fn sqlite() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(SQLITE)).await
}

pub async fn postgres() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(POSTGRES)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration file added to `migrations/` but not to the lists above would never run.
    #[test]
    fn every_migration_file_is_embedded_and_both_sets_match() {
        for (backend, set) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_string() + backend;
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| {
                    e.unwrap()
                        .file_name()
                        .to_string_lossy()
                        .trim_end_matches(".sql")
                        .to_string()
                })
                .collect();
            files.sort();
            let embedded: Vec<String> = set.iter().map(|(_, n, _)| n.to_string()).collect();
            assert_eq!(files, embedded, "{backend}");
            // Versions increase (work on branches takes numbers ahead of what has merged, so
            // one may wait for the numbers before it) and each file is named by its version.
            let mut previous = 0;
            for (version, name, _) in set.iter() {
                assert!(*version > previous, "{backend}: {name}");
                assert!(name.starts_with(&format!("{version:04}_")));
                previous = *version;
            }
        }
        let names = |s: Set| s.iter().map(|(_, n, _)| *n).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }
}
