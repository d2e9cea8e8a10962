//! The database handle's own tests (the queries are tested through the features).

use super::{Db, Pooler};

/// A transaction's start abandoned at each point of its way (polled once, twice, … then
/// dropped, with the driver's thread given time to run between polls) leaves the writer
/// usable: the next write commits, and a reader sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_begin_leaves_the_writer_usable() {
    use std::{future::Future, task::Poll};
    let dir = std::env::temp_dir().join(format!("fypass-begin-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/db.sqlite", dir.display());
    let db = Db::connect(&url, 2, Pooler::None).await.expect("open");
    let mut tx = db.begin().await.expect("begin");
    with_tx!(&mut tx, |c| sqlx::query("CREATE TABLE t (n INTEGER)")
        .execute(c)
        .await
        .map(drop))
    .expect("create");
    tx.commit().await.expect("commit");
    for polls in 1..=6 {
        let mut begin = Box::pin(db.begin());
        for _ in 0..polls {
            let polled = std::future::poll_fn(|cx| {
                Poll::Ready(begin.as_mut().poll(cx).map(|r| r.map(drop)))
            })
            .await;
            if polled.is_ready() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(begin);
        let mut tx = db
            .begin()
            .await
            .unwrap_or_else(|e| panic!("begin after one abandoned at poll {polls}: {e:?}"));
        with_tx!(&mut tx, |c| sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(polls)
            .execute(c)
            .await
            .map(drop))
        .expect("insert");
        tx.commit().await.expect("commit");
    }
    let seen: i64 = with_reader!(&db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM t")
        .fetch_one(c)
        .await)
    .expect("count");
    assert_eq!(seen, 6, "every write after an abandoned start is committed");
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn times_are_rfc3339_utc() {
    assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        super::rfc3339(1_764_000_000_123),
        "2025-11-24T16:00:00.123Z"
    );
}

/// Temporary data is kept in memory by every connection the server uses, the writer after
/// migrating too (migrations run with files: they may sort whole tables).
#[tokio::test]
async fn temporary_data_stays_in_memory_after_migrations() {
    let dir = std::env::temp_dir().join(format!("fypass-temp-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/db.sqlite", dir.display());
    let db = Db::connect(&url, 1, Pooler::None).await.expect("open");
    db.migrate(None).await.expect("migrate");
    let Db::Sqlite { writer, reader } = &db else {
        unreachable!()
    };
    for pool in [writer, reader] {
        let store: i64 = sqlx::query_scalar("PRAGMA temp_store")
            .fetch_one(pool)
            .await
            .expect("temp_store");
        assert_eq!(store, 2, "MEMORY");
    }
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
