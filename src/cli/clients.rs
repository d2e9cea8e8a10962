//! `fypass client ...`: the admin commands. JSON on stdout for scripts; a one-line error
//! naming the problem (and a non-zero exit) for bad input, with nothing written.
//! They work on the same database as a running server: changes reach its key cache within
//! a second (see `ClientCache`).

use crate::clients::{
    Grant,
    branding::{AccentColor, LogoUrl},
    store,
};
use crate::{db::Db, oidc::keys::SigningAlg, secret, status::Status};
use clap::Subcommand;
use serde::Serialize;
use uuid::Uuid;

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create a client and print it with its key (shown only this once).
    Create {
        /// Display name, e.g. the app's name.
        #[arg(long, value_parser = parse_name)]
        name: String,
        /// An endpoint grant (repeatable); without any, the client gets every grant (`*`).
        #[arg(long = "grant")]
        grants: Vec<Grant>,
        /// Where fypass may send the user after a login (repeatable).
        #[arg(long = "redirect-url", value_parser = parse_redirect_url)]
        redirect_urls: Vec<String>,
        /// An OAuth public client (an app on a phone, a TV, in a browser): it gets no key
        /// and proves its sign-ins with PKCE alone (SPEC §15).
        #[arg(long)]
        public: bool,
    },
    /// List every client (never their keys).
    List,
    /// Set a client's status: active, inactive, suspended or deleted.
    SetStatus {
        #[arg(value_parser = parse_id)]
        id: Uuid,
        status: Status,
    },
    /// Replace a client's grants.
    SetGrants {
        #[arg(value_parser = parse_id)]
        id: Uuid,
        #[arg(required = true)]
        grants: Vec<Grant>,
    },
    /// How a client's OpenID Connect ID tokens are signed: ES256 (the default) or RS256,
    /// for a library that knows only RSA (its key is made at the first token).
    SetIdTokenAlg {
        #[arg(value_parser = parse_id)]
        id: Uuid,
        #[arg(value_parser = parse_alg)]
        alg: SigningAlg,
    },
    /// Issue a new key for a client; the old key stops working.
    RotateKey {
        #[arg(value_parser = parse_id)]
        id: Uuid,
    },
    /// Set how the app looks on the pages its users see: its logo (an https URL) and
    /// accent colour (`#rrggbb`). A part not given is cleared.
    SetBranding {
        #[arg(value_parser = parse_id)]
        id: Uuid,
        #[arg(long, value_parser = LogoUrl::parse)]
        logo_url: Option<LogoUrl>,
        #[arg(long, value_parser = AccentColor::parse)]
        color: Option<AccentColor>,
    },
}

#[derive(Serialize)]
struct WithKey<'a> {
    #[serde(flatten)]
    client: &'a store::Client,
    key: &'a str,
}

#[derive(Serialize)]
struct Public<'a> {
    #[serde(flatten)]
    client: &'a store::Client,
    public: bool,
}

/// Runs one command, returning the JSON to print.
pub async fn run(db: &Db, command: ClientCommand) -> Result<String, String> {
    let fail = |e: crate::error::ApiError| e.message;
    let missing = |id: Uuid| format!("no client with id {id}");
    match command {
        ClientCommand::Create {
            name,
            grants,
            redirect_urls,
            public,
        } => {
            let grants = if grants.is_empty() {
                vec![Grant::All]
            } else {
                dedup(grants)
            };
            let mut tx = db.begin().await.map_err(fail)?;
            let created = store::create(&mut tx, &name, &grants, &redirect_urls)
                .await
                .map_err(fail)?;
            if public {
                // Its key is never shown: nobody holds it.
                crate::oidc::client::make_public(&mut tx, created.client.id)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                return Ok(json(&Public {
                    client: &created.client,
                    public: true,
                }));
            }
            tx.commit().await.map_err(fail)?;
            Ok(json(&WithKey {
                client: &created.client,
                key: &created.key,
            }))
        }
        ClientCommand::List => Ok(json(&store::list(db).await.map_err(fail)?)),
        ClientCommand::SetStatus { id, status } => {
            change(db, id, store::Change::Status(status)).await?;
            Ok(json(
                &store::find(db, id)
                    .await
                    .map_err(fail)?
                    .ok_or_else(|| missing(id))?,
            ))
        }
        ClientCommand::SetGrants { id, grants } => {
            change(db, id, store::Change::Grants(&dedup(grants))).await?;
            Ok(json(
                &store::find(db, id)
                    .await
                    .map_err(fail)?
                    .ok_or_else(|| missing(id))?,
            ))
        }
        ClientCommand::SetBranding {
            id,
            logo_url,
            color,
        } => {
            let branding = store::Change::Branding {
                logo_url: logo_url.as_ref(),
                color: color.as_ref(),
            };
            change(db, id, branding).await?;
            Ok(json(
                &store::find(db, id)
                    .await
                    .map_err(fail)?
                    .ok_or_else(|| missing(id))?,
            ))
        }
        ClientCommand::SetIdTokenAlg { id, alg } => {
            let mut tx = db.begin().await.map_err(fail)?;
            if !crate::oidc::client::set_id_token_alg(&mut tx, id, alg)
                .await
                .map_err(fail)?
            {
                return Err(missing(id));
            }
            tx.commit().await.map_err(fail)?;
            Ok(json(
                &serde_json::json!({ "id": id, "idTokenAlg": alg.as_str() }),
            ))
        }
        ClientCommand::RotateKey { id } => {
            let key = secret::issue("fyk_");
            let prefix = secret::display_prefix(&key.plaintext);
            change(
                db,
                id,
                store::Change::Key {
                    hash: &key.hash,
                    prefix: &prefix,
                },
            )
            .await?;
            Ok(json(&serde_json::json!({ "id": id, "key": key.plaintext })))
        }
    }
}

async fn change(db: &Db, id: Uuid, change: store::Change<'_>) -> Result<(), String> {
    let mut tx = db.begin().await.map_err(|e| e.message)?;
    if !store::update(&mut tx, id, change)
        .await
        .map_err(|e| e.message)?
    {
        return Err(format!("no client with id {id}"));
    }
    tx.commit().await.map_err(|e| e.message)
}

fn dedup(mut grants: Vec<Grant>) -> Vec<Grant> {
    let mut seen = Vec::with_capacity(grants.len());
    grants.retain(|g| {
        let new = !seen.contains(g);
        seen.push(*g);
        new
    });
    grants
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plain data serializes")
}

fn parse_id(s: &str) -> Result<Uuid, String> {
    Uuid::parse_str(s)
        .map_err(|_| format!("'{s}' is not a client id (a UUID, as `fypass client list` shows)"))
}

fn parse_alg(s: &str) -> Result<SigningAlg, String> {
    SigningAlg::parse(&s.to_ascii_uppercase())
        .ok_or_else(|| format!("'{s}' is not a signing algorithm fypass offers (ES256 or RS256)"))
}

fn parse_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    match name.chars().count() {
        0 => Err("the name must not be empty".into()),
        1..=100 => Ok(name.to_string()),
        _ => Err("the name must be at most 100 characters".into()),
    }
}

/// An absolute URL a browser may be sent to: http(s), or an app's own scheme
/// (`com.example.app:/done`), never a scheme that runs code or reads files.
pub fn parse_redirect_url(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|e| format!("'{s}' is not an absolute URL: {e}"))?;
    if matches!(
        url.scheme(),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about"
    ) {
        return Err(format!(
            "'{s}' uses the {}: scheme, which cannot be a redirect URL",
            url.scheme()
        ));
    }
    if url.fragment().is_some() {
        return Err(format!("'{s}' has a #fragment; redirect URLs cannot"));
    }
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{s}' has no host"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_urls() {
        assert_eq!(
            parse_redirect_url("https://app.example.com/done").unwrap(),
            "https://app.example.com/done"
        );
        assert!(parse_redirect_url("com.example.app:/done").is_ok());
        assert!(parse_redirect_url("javascript:alert(1)").is_err());
        assert!(parse_redirect_url("/relative").is_err());
        assert!(parse_redirect_url("https://x.example/#frag").is_err());
    }

    #[test]
    fn grants_keep_their_first_order_once() {
        assert_eq!(
            dedup(vec![
                Grant::DevicesRead,
                Grant::ClientsInfo,
                Grant::DevicesRead
            ]),
            vec![Grant::DevicesRead, Grant::ClientsInfo]
        );
    }
}
