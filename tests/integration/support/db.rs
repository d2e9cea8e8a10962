//! The database of each test: a new SQLite file, or — when `FYPASS_TEST_DATABASE_URL`
//! points at a PostgreSQL server — a new database created on that server and dropped
//! afterwards. The same tests thus run on both backends.

use super::TestApp;
use uuid::Uuid;

/// A test database as the app and the tests reach it.
#[derive(Clone)]
pub(super) struct DbTarget {
    /// What the app is configured with: the database itself, or the pooler in front of it.
    pub(super) app_url: String,
    /// The database itself.
    pub(super) direct_url: String,
    pub(super) through_pooler: bool,
}

/// A database of the backend under test, removed when the test ends.
pub struct TestDb {
    /// The database itself (the admin commands' and the tests' own connections).
    pub url: String,
    pub(super) target: DbTarget,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn create() -> TestDb {
        let id = Uuid::now_v7().simple().to_string();
        match std::env::var("FYPASS_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                use sqlx::Connection;
                let name = format!("fypass_t_{id}");
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("PostgreSQL for tests");
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let on = |server: &str| {
                    let mut url = url::Url::parse(server).unwrap();
                    url.set_path(&name);
                    url.to_string()
                };
                let direct_url = on(&admin_url);
                let pooler = std::env::var("FYPASS_TEST_POOLER_URL")
                    .ok()
                    .filter(|u| !u.is_empty());
                TestDb {
                    url: direct_url.clone(),
                    target: DbTarget {
                        app_url: pooler.as_deref().map_or_else(|| direct_url.clone(), on),
                        through_pooler: pooler.is_some(),
                        direct_url,
                    },
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            None => {
                let dir = std::env::temp_dir().join(format!("fypass-test-{id}"));
                let url = format!("sqlite://{}/fypass.db", dir.display());
                TestDb {
                    url: url.clone(),
                    target: DbTarget {
                        app_url: url.clone(),
                        direct_url: url,
                        through_pooler: false,
                    },
                    cleanup: Cleanup::SqliteDir(dir),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop cannot await; a short-lived runtime on its own thread does the work.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .execute(&mut admin)
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Whether this run tests PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("FYPASS_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// What a test reads or changes in the app's database behind the app's back.
impl TestApp {
    /// Runs one statement on the app's database, to set a scene (an aged session, an
    /// expired code: time passing).
    pub async fn execute(&self, sql: &str) {
        let mut tx = self.db().begin().await.unwrap();
        match &mut tx {
            fypass::db::Tx::Sqlite(c) => drop(sqlx::query(sql).execute(&mut **c).await.unwrap()),
            fypass::db::Tx::Postgres(c) => drop(sqlx::query(sql).execute(c.exec()).await.unwrap()),
        }
        tx.commit().await.unwrap();
    }

    /// The id of the account that has `identifier` (an email address or a number, in any
    /// spelling), verified or not.
    pub async fn holder(&self, identifier: &str) -> Option<Uuid> {
        let parsed = fypass::users::identifier::Identifier::parse(identifier, 62).unwrap();
        fypass::users::store::find_by_identifier(self.db(), &parsed)
            .await
            .unwrap()
            .map(|u| u.id)
    }

    /// Marks `identifier` verified for the account that claims it, as a code sent there
    /// would (only a verified identifier is exclusive).
    pub async fn verified(&self, identifier: &str) {
        let parsed = fypass::users::identifier::Identifier::parse(identifier, 62).unwrap();
        let user = fypass::users::store::find_by_identifier(self.db(), &parsed)
            .await
            .unwrap()
            .expect("someone claims it");
        let mut tx = self.db().begin().await.unwrap();
        fypass::users::store::verify_identifier(&mut tx, user.id, &parsed, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}
