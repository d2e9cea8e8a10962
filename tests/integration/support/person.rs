//! Someone with an account, made the way a person makes one: through the hosted
//! registration, from a browser, optionally for an app's login request. One builder for
//! every test whose subject is not the registration itself:
//!
//! ```ignore
//! let ana = t.person("ana@example.com").whatsapp("0812-1111-2222").via(&app).register().await;
//! ```

use super::{App, REGISTER, TestApp, cookie_named, session_cookie};
use serde_json::{Value, json};
use uuid::Uuid;

/// The password of the people the tests register (unless a test picks another).
pub const PASSWORD: &str = "correct horse";

/// The name the people the tests register go by (pages and ID tokens show it).
pub const NAME: &str = "Alice";

impl TestApp {
    /// Someone about to register with the email address `email`.
    pub fn person(&self, email: &str) -> NewPerson<'_> {
        NewPerson::new(self, Some(email), None)
    }

    /// Someone about to register with a WhatsApp number and no email address.
    pub fn person_on_whatsapp(&self, number: &str) -> NewPerson<'_> {
        NewPerson::new(self, None, Some(number))
    }
}

/// A registration about to be sent; [`NewPerson::register`] sends it.
pub struct NewPerson<'t> {
    t: &'t TestApp,
    email: Option<String>,
    whatsapp: Option<String>,
    password: &'t str,
    /// `X-Forwarded-For`: the network the browser is on (the app is behind a proxy).
    ip: Option<&'t str>,
    /// The app whose login request the registration completes, and the request's
    /// `deviceInfo`.
    app: Option<(&'t App, Option<Value>)>,
    /// Whether the app collects the completed request (polls it once).
    collect: bool,
}

impl<'t> NewPerson<'t> {
    fn new(t: &'t TestApp, email: Option<&str>, whatsapp: Option<&str>) -> Self {
        NewPerson {
            t,
            email: email.map(str::to_string),
            whatsapp: whatsapp.map(str::to_string),
            password: PASSWORD,
            ip: None,
            app: None,
            collect: true,
        }
    }

    /// Their WhatsApp number too.
    pub fn whatsapp(mut self, number: &str) -> Self {
        self.whatsapp = Some(number.to_string());
        self
    }

    /// Another password than [`PASSWORD`].
    pub fn password(mut self, password: &'t str) -> Self {
        self.password = password;
        self
    }

    /// From a browser on `ip` (as a trusted proxy forwards it; see `spawn_behind_proxy`).
    pub fn from(mut self, ip: &'t str) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Through a login request of `app`, which then collects the person and their tokens
    /// (its first poll).
    pub fn via(mut self, app: &'t App) -> Self {
        self.app = Some((app, None));
        self
    }

    /// The app of [`NewPerson::via`] does not poll its request: what happens to a completed,
    /// uncollected request is the test's subject.
    pub fn uncollected(mut self) -> Self {
        assert!(self.app.is_some(), "uncollected goes with via(app)");
        self.collect = false;
        self
    }

    /// The login request of [`NewPerson::via`] comes from the device `info`.
    pub fn on_device(mut self, info: Value) -> Self {
        let (_, device) = self.app.as_mut().expect("on_device goes with via(app)");
        *device = Some(info);
        self
    }

    /// Registers them (asserting it worked): who they are, their browser's cookies, and
    /// what the app collected when it was through an app.
    pub async fn register(self) -> Person {
        let t = self.t;
        let request = match &self.app {
            Some((app, device)) => {
                let body = match device {
                    Some(info) => json!({"deviceInfo": info}),
                    None => json!({}),
                };
                Some(t.start(app, body).await)
            }
            None => None,
        };
        let mut body = json!({
            "name": NAME,
            "email": self.email,
            "whatsapp": self.whatsapp,
            "password": self.password,
        });
        if let Some(request) = &request {
            body["reqToken"] = json!(request);
        }
        let res = match self.ip {
            Some(ip) => t.post_from(ip, REGISTER, body).await,
            None => t.post(REGISTER, body).await,
        };
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let session = session_cookie(&res);
        let browser = cookie_named(&res, "fypass_browser").expect("a browser cookie is left");
        let identifier = self.email.or(self.whatsapp).expect("an identifier");
        let id = t.holder(&identifier).await.expect("the account exists");
        let reply = match (&self.app, &request) {
            (Some((app, _)), Some(request)) if self.collect => {
                let reply: Value = t.poll(app, request).await.json().await.unwrap();
                assert!(reply["accessToken"].is_string(), "{reply}");
                Some(reply)
            }
            _ => None,
        };
        Person {
            id,
            session,
            browser,
            request,
            reply,
        }
    }
}

/// A registered person.
pub struct Person {
    pub id: Uuid,
    /// `fypass_session=…`: the session the registration started in their browser.
    pub session: String,
    /// `fypass_browser=…`: the cookie that remembers their browser (which strangers'
    /// guesses at the account then do not slow down).
    pub browser: String,
    /// Through an app: the login request the registration completed.
    request: Option<String>,
    /// What the app's poll of it got, unless it was left uncollected.
    reply: Option<Value>,
}

impl Person {
    /// The login request's token (`reqToken`) the registration completed.
    pub fn request(&self) -> &str {
        self.request
            .as_deref()
            .expect("registered through an app (`via`)")
    }

    /// The app's first poll of that request: the person, their access and refresh tokens.
    pub fn reply(&self) -> &Value {
        self.reply
            .as_ref()
            .expect("registered through an app (`via`) that collected it")
    }

    /// The access token the app collected.
    pub fn access_token(&self) -> &str {
        self.reply()["accessToken"].as_str().unwrap()
    }
}
