//! What a running deployment keeps across an upgrade of fypass: the tokens its apps hold.

use crate::support::{TestApp, expect_error};
use crate::tokens::{field, introspect, logout, refresh};
use fypass::db::Tx;
use serde_json::{Value, json};

/// Replaces `token` of `table` with a token of the same sign-in as every release before
/// ordered token keys issued (`secret::issue`) and stored it (under its SHA-256); the new
/// token.
async fn as_before(t: &TestApp, table: &str, token: &str) -> String {
    let prefix = &token[..4];
    let keys = fypass::secret::Keys::of(prefix, token, fypass::db::now_ms()).expect("a token");
    let before = fypass::secret::issue(prefix);
    let sql = format!("UPDATE {table} SET token_hash = $1 WHERE token_hash = $2");
    let mut tx = t.db().begin().await.unwrap();
    macro_rules! run {
        ($c:expr) => {
            sqlx::query(&sql)
                .bind(&before.hash)
                .bind(&keys.ordered)
                .execute($c)
                .await
                .map(|r| r.rows_affected())
        };
    }
    let changed = match &mut tx {
        Tx::Sqlite(c) => run!(&mut **c),
        Tx::Postgres(c) => run!(c.exec()),
    };
    assert_eq!(changed.unwrap(), 1, "{table}");
    tx.commit().await.unwrap();
    before.plaintext
}

/// A pair from the last release (stored under the tokens' hashes) keeps working after the
/// upgrade: the person behind the access token, introspection, a refresh (beside one of
/// this release) and its grace window, and logout with it.
#[tokio::test]
async fn tokens_the_last_release_issued_keep_working() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let first = t
        .person("old@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let access = as_before(&t, "access_tokens", &field(&first, "accessToken")).await;
    let old = as_before(&t, "refresh_tokens", &field(&first, "refreshToken")).await;

    let me = t.me(&app, &access).await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "old@example.com"
    );
    // Refreshed at the same moment as someone's token of this release. Whether the two land
    // in one group is up to timing; a group that reads both is `tokens::rotation`'s test.
    let other = t
        .person("new@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let (res, res_other) = tokio::join!(
        refresh(&t, &app, &old).send(),
        refresh(&t, &app, &field(&other, "refreshToken")).send()
    );
    assert_eq!(res_other.unwrap().status(), 200);
    let res = res.unwrap();
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    // Its parallel request, in the window: the same pair.
    let again = refresh(&t, &app, &old).send().await.unwrap();
    assert_eq!(again.json::<Value>().await.unwrap(), second);
    assert_eq!(
        t.me(&app, &field(&second, "accessToken")).await.status(),
        200
    );
    let introspected = introspect(&t, &app, &access).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["tokenType"], "access");

    // Logout with the old access token ends the sign-in, new pair included.
    assert_eq!(logout(&t, &app, &access, json!({})).await.status(), 204);
    expect_error(
        refresh(&t, &app, &field(&second, "refreshToken"))
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
}
