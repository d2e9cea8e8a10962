//! Languages and looks: which language a page and an API reply speak (the switch's cookie,
//! then the app's login request, then `Accept-Language`), the switch itself, and a branded
//! app's pages.

use crate::support::{
    LOGIN, NAME, PASSWORD, Page, REGISTER, TestApp, expect_error, no_redirects, session_cookie,
};
use fypass::{error::ErrorCode, locale::Locale};
use serde_json::{Value, json};

fn lang_of(html: &str) -> &str {
    let start = html
        .find("<html lang=\"")
        .expect("an html element with lang")
        + 12;
    &html[start..start + html[start..].find('"').unwrap()]
}

#[tokio::test]
async fn a_page_follows_the_switch_then_the_app_then_the_browser() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let indonesian_app = t.start(&app, json!({"locale": "id-ID"})).await;
    let plain = t.start(&app, json!({})).await;
    let at = |token: &str| format!("/fypass?reqToken={token}");

    // The app asked for Indonesian: it beats the browser's English.
    let Page { headers, html, .. } = t
        .page(&at(&indonesian_app))
        .language("en-US,en;q=0.9")
        .await
        .ok();
    assert_eq!(lang_of(&html), "id");
    assert_eq!(headers["content-language"], "id");
    assert!(html.contains("Masuk untuk melanjutkan ke"), "{html}");
    assert!(html.contains("Kata sandi"));
    // The person's own switch beats the app.
    let html = t
        .page(&at(&indonesian_app))
        .cookie("fypass_lang=en")
        .language("id")
        .await
        .ok()
        .html;
    assert_eq!(lang_of(&html), "en");
    assert!(html.contains("Sign in to continue to"));
    // Without either, the browser decides, by quality.
    let html = t
        .page(&at(&plain))
        .language("fr;q=1, id-ID;q=0.8, en;q=0.5")
        .await
        .ok()
        .html;
    assert_eq!(lang_of(&html), "id");
    let html = t.page(&at(&plain)).language("de-DE").await.ok().html;
    assert_eq!(lang_of(&html), "en");
    let html = t.page("/fypass").await.ok().html;
    assert_eq!(lang_of(&html), "en");
    // A page without a request, in Indonesian by the browser; the docs too.
    let html = t.page("/docs/errors").language("id").await.ok().html;
    assert_eq!(lang_of(&html), "id");
    assert!(html.contains(ErrorCode::UserNotFound.message_in(Locale::id)));
}

#[tokio::test]
async fn the_switch_remembers_the_choice_and_goes_back_only_within_the_site() {
    let t = TestApp::spawn().await;
    let http = no_redirects();
    let res = http
        .get(t.url("/lang?to=id&next=%2Ffypass%3FreqToken%3Dfyr_abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/fypass?reqToken=fyr_abc");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("fypass_lang=id;"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    // Never to another site, and an unknown language sets nothing.
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let url = format!("/lang?to=xx&next={}", urlencode(next));
        let res = http.get(t.url(&url)).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/", "{next}");
        assert!(res.headers().get("set-cookie").is_none());
    }
    // The remembered choice speaks on the next page.
    let html = t
        .page("/fypass")
        .cookie("fypass_lang=id")
        .language("en")
        .await
        .ok()
        .html;
    assert_eq!(lang_of(&html), "id");
}

/// Browsers drop tabs and newlines from a URL and read `\` as `/`, so `/%09/evil.example`
/// is `//evil.example` to them: another site. The switch sends every such `next` home.
#[tokio::test]
async fn the_switch_never_sends_the_browser_to_another_site() {
    let t = TestApp::spawn().await;
    let http = no_redirects();
    for next in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D%0A/evil.example",
        "/%09%5Cevil.example",
        "%09//evil.example",
        "/%5Cevil.example",
        "/x%5C..%5C..%5C%5Cevil.example",
        "/%00/evil.example",
        "/%1F/evil.example",
        "/%7F/evil.example",
        "/%C2%85/evil.example",
        "//evil.example",
        "///evil.example",
        "%20//evil.example",
        "https://evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "evil.example",
    ] {
        let res = http
            .get(t.url(&format!("/lang?to=id&next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{next}");
        assert_eq!(res.headers()["location"], "/", "{next}");
        // The language is still switched.
        assert!(res.headers().get("set-cookie").is_some(), "{next}");
    }
    // A page of this site keeps its path, query and fragment.
    for (next, location) in [
        ("%2Ffypass%3FreqToken%3Dfyr_abc", "/fypass?reqToken=fyr_abc"),
        (
            "%2Ffypass%2Fcode%3FreqToken%3Dfyr_abc%26to%3Dnia%2540example.com",
            "/fypass/code?reqToken=fyr_abc&to=nia%40example.com",
        ),
        ("%2Fdocs%2Ferrors%23codes", "/docs/errors#codes"),
        ("%2F", "/"),
    ] {
        let res = http
            .get(t.url(&format!("/lang?to=en&next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["location"], location, "{next}");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn api_messages_follow_accept_language_and_codes_stay() {
    let t = TestApp::spawn().await;
    let ask = |accept: Option<&'static str>| {
        let mut req = t
            .http
            .get(t.url("/api/v1/clients/info"))
            .header("x-client-key", "fyk_unknown");
        if let Some(accept) = accept {
            req = req.header("accept-language", accept);
        }
        async move { req.send().await.unwrap() }
    };
    let body = expect_error(
        ask(Some("id-ID,id;q=0.9,en;q=0.8")).await,
        401,
        "UNITSYSTEM00001",
    )
    .await;
    assert_eq!(
        body["message"],
        ErrorCode::UnknownClientKey.message_in(Locale::id)
    );
    assert_eq!(
        body["message"],
        "Client key yang digunakan pada permintaan tidak ditemukan atau tidak terdaftar."
    );
    let body = expect_error(ask(None).await, 401, "UNITSYSTEM00001").await;
    assert_eq!(
        body["message"],
        "Client key used in the request is not found or not registered."
    );
    // Field details and precise messages too.
    let res = t
        .http
        .post(t.url(REGISTER))
        .header("accept-language", "id")
        .json(&json!({"name": "Sari", "email": "sari@", "password": ""}))
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(body["message"], "Permintaan tidak valid.");
    let details = body["details"].as_array().unwrap();
    assert!(
        details.contains(&json!({"field": "email", "message": "bukan alamat email yang valid"}))
    );
    assert!(
        details.contains(&json!({"field": "password", "message": "paling sedikit 8 karakter"}))
    );
    // Codes never change with the language.
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("accept-language", "id")
        .json(&json!({"identifier": "nobody@example.com", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 404, "USER_NOT_FOUND").await;
    assert_eq!(
        body["message"],
        "Tidak ada akun yang terdaftar dengan email atau nomor WhatsApp ini."
    );
}

#[tokio::test]
async fn a_plain_form_post_answers_in_the_page_language() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("dewi@example.com").register().await;
    // The app asked for Indonesian; the browser says English and has no cookie.
    let token = t.start(&app, json!({"locale": "id"})).await;
    let res = no_redirects()
        .post(t.url(&format!("/fypass?reqToken={token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .header("accept-language", "en")
        .body("intent=login&identifier=dewi%40example.com&password=wrong+horse")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let html = TestApp::page_html(res).await;
    assert_eq!(lang_of(&html), "id");
    assert!(
        html.contains("Kata sandi yang digunakan untuk masuk tidak valid."),
        "{html}"
    );
}

#[tokio::test]
async fn times_and_whatsapp_numbers_read_as_the_language_writes_them() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person_on_whatsapp("081234567890").register().await;
    // They sign in for an app's request that names their TV.
    let token = t
        .start(&app, json!({"deviceInfo": {"deviceId": "tv-1", "platform": "android", "deviceName": "Living room TV"}}))
        .await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "+62 812-3456-7890", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res);
    let html = t
        .page("/account")
        .cookie(&cookie)
        .language("id")
        .await
        .ok()
        .html;
    assert!(html.contains("0812-3456-7890"), "national format: {html}");
    assert!(html.contains(&format!("Masuk sebagai {NAME}")));
    let html = t
        .page("/account")
        .cookie(&cookie)
        .language("en")
        .await
        .ok()
        .html;
    assert!(html.contains("+62 812-3456-7890"), "international format");
    // Seen a moment ago: "baru saja", with the exact time in words beside it.
    let html = t
        .page("/devices")
        .cookie(&cookie)
        .language("id")
        .await
        .ok()
        .html;
    assert!(html.contains("Living room TV"), "{html}");
    assert!(html.contains("Terakhir terlihat"));
    assert!(html.contains("baru saja"));
    let html = t
        .page("/devices")
        .cookie(&cookie)
        .language("en")
        .await
        .ok()
        .html;
    assert!(html.contains("just now"));
}

/// Sets a client's branding through the admin command.
fn set_branding(db_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fypass"))
        .args(["client", "set-branding"])
        .args(args)
        .env("FYPASS_DATABASE_URL", db_url)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_branded_app_shows_its_name_logo_and_colour_and_no_developer_links() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let id = app.id.to_string();
    // Bad input is refused with a clear line, and nothing changes.
    for (args, says) in [
        (
            vec![id.as_str(), "--logo-url", "http://cdn.example.com/l.png"],
            "https://",
        ),
        (vec![id.as_str(), "--color", "teal"], "hex colour"),
        (vec!["not-an-id", "--color", "#0a7d5a"], "client id"),
    ] {
        let out = set_branding(t.database_url(), &args);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}"
        );
    }
    let out = set_branding(
        t.database_url(),
        &[
            &id,
            "--logo-url",
            "https://cdn.example.com/brand/logo.png",
            "--color",
            "#0A7D5A",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["logoUrl"], "https://cdn.example.com/brand/logo.png");
    assert_eq!(shown["accentColor"], "#0a7d5a");

    let token = t.start(&app, json!({})).await;
    let res = t
        .http
        .get(t.url(&format!("/fypass?reqToken={token}")))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.example.com;"),
        "{csp}"
    );
    let html = TestApp::page_html(res).await;
    assert!(
        html.contains(r#"src="https://cdn.example.com/brand/logo.png""#),
        "{html}"
    );
    assert!(
        html.contains(r#"class="app-name">Test app<"#),
        "the app's name in the bar"
    );
    assert!(html.contains("--brand:#0a7d5a"), "the accent colour");
    assert!(
        !html.contains(r#"href="/docs/api""#),
        "no developer links on an end-user page"
    );
    assert!(html.contains("fypass"), "fypass's own small footer");
    // The docs keep fypass's look and navigation, and the default image policy.
    let res = t
        .http
        .get(t.url("/docs"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!csp.contains("cdn.example.com"));
    let html = TestApp::page_html(res).await;
    assert!(html.contains(r#"href="/docs/api""#));
    assert!(!html.contains("--brand:#0a7d5a"));
}

#[tokio::test]
async fn the_dashboard_shows_the_app_whose_request_opened_the_session() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let out = set_branding(
        t.database_url(),
        &[&app.id.to_string(), "--color", "#123456"],
    );
    assert!(out.status.success());
    let direct = t.person("eka@example.com").register().await.session;
    // Signed in for the app's request: its pages carry the app's look.
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "eka@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let through_app = session_cookie(&res);
    let html = t.page("/devices").cookie(&through_app).await.ok().html;
    assert!(html.contains("--brand:#123456"), "{html}");
    // Signed in on fypass itself: fypass's look.
    let html = t.page("/devices").cookie(&direct).await.ok().html;
    assert!(!html.contains("--brand:"));
}

#[tokio::test]
async fn codes_are_sent_in_the_language_of_the_page_that_asked() {
    let t = TestApp::spawn().await;
    t.person("fajar@example.com").register().await;
    let res = t
        .http
        .post(t.url("/api/v1/fypass/recovery"))
        .header("accept-language", "id-ID")
        .json(&json!({"identifier": "fajar@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    // (The code is stored just after the reply.)
    let mut recovery = None;
    for _ in 0..100 {
        let sent = fypass::courier::outbox::list(t.db(), 10).await.unwrap();
        recovery = sent.into_iter().find(|m| m.purpose == "recovery");
        if recovery.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let recovery = recovery.expect("a recovery code");
    let body = recovery.body.clone().unwrap_or_default();
    assert!(
        body.contains("Gunakan kode ini untuk membuat kata sandi baru"),
        "{body}"
    );
}

#[test]
fn every_key_exists_in_both_languages() {
    // build.rs refuses a build that lacks one; this says which, for anyone who edits the
    // files by hand and runs only the tests.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/locales");
    fn keys(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    keys(&format!("{prefix}.{k}"), v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut per_language = Vec::new();
    for lang in ["en", "id"] {
        let mut all = Vec::new();
        for file in std::fs::read_dir(root.join(lang)).unwrap() {
            let path = file.unwrap().path();
            let ns = path.file_stem().unwrap().to_string_lossy().to_string();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            keys(&ns, &v, &mut all);
        }
        all.sort();
        per_language.push(all);
    }
    let (en, id) = (&per_language[0], &per_language[1]);
    let missing: Vec<_> = en.iter().filter(|k| !id.contains(k)).collect();
    let extra: Vec<_> = id.iter().filter(|k| !en.contains(k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing in id: {missing:?}; only in id: {extra:?}"
    );
    assert!(en.len() > 300, "{} keys", en.len());
}

/// A logo URL whose host is not a plain host name is refused, and one stored before that
/// rule never reaches a page's Content-Security-Policy: `;` in a host would end the
/// `img-src` directive and add the attacker's own (`sandbox` on every page of the app).
#[tokio::test]
async fn a_logo_url_cannot_write_its_own_content_security_policy() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let id = app.id.to_string();
    let injected = "https://cdn.example;sandbox;x/logo.png";
    for bad in [
        injected,
        "https://cdn.example;script-src;/logo.png",
        "https://cdn.example*/logo.png",
    ] {
        let out = set_branding(t.database_url(), &[&id, "--logo-url", bad]);
        assert!(!out.status.success(), "{bad} was accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("plain host"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // As a database written before the rule may hold it.
    let sql = format!("UPDATE clients SET logo_url = '{injected}'");
    t.execute(&sql).await;
    let token = t.start(&app, json!({})).await;
    let Page { headers, html, .. } = t.page(&format!("/fypass?reqToken={token}")).await.ok();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("sandbox"), "{csp}");
    assert!(!csp.contains("cdn.example"), "{csp}");
    assert!(
        csp.contains("img-src 'self' data:;"),
        "only the default image sources: {csp}"
    );
    assert!(!html.contains("cdn.example"), "no logo from a refused URL");
}
