//! The `clients` table. Every change also bumps the `clients` generation in the same
//! transaction, which is how running servers learn that their key cache is stale.

use super::{
    ClientInfo, Grant,
    branding::{AccentColor, LogoUrl},
};
use crate::{
    db::{Db, Tx, db_row, now_ms, rfc3339, with_reader, with_tx},
    error::{ApiError, ErrorCode},
    secret,
    status::Status,
};
use serde::Serialize;
use uuid::Uuid;

/// A client as stored (without its key hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub id: Uuid,
    pub name: String,
    pub key_prefix: String,
    pub status: Status,
    pub grants: Vec<Grant>,
    pub redirect_urls: Vec<String>,
    /// The app's look on the pages (`fypass client set-branding`).
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub created_at: i64,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: i64,
}

fn ser_time<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

impl Client {
    /// Whether the client may call an endpoint declared with `grant`.
    pub fn has(&self, grant: Grant) -> bool {
        self.grants.iter().any(|g| *g == grant || *g == Grant::All)
    }

    pub fn info(&self, public_origin: &str) -> ClientInfo {
        ClientInfo {
            id: self.id.to_string(),
            name: self.name.clone(),
            status: self.status,
            grants: self.grants.clone(),
            redirect_urls: self.redirect_urls.clone(),
            fypass_url: format!("{public_origin}/fypass"),
            created_at: rfc3339(self.created_at),
        }
    }
}

db_row! {
    struct ClientRow {
        id: Uuid,
        name: String,
        key_prefix: String,
        status: String,
        grants: String,
        redirect_urls: String,
        logo_url: Option<String>,
        accent_color: Option<String>,
        created_at: i64,
        updated_at: i64,
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = ApiError;
    fn try_from(r: ClientRow) -> Result<Self, ApiError> {
        let corrupt = |what: String| {
            tracing::error!(client = %r.id, "corrupt client row: {what}");
            ApiError::new(ErrorCode::InternalError)
        };
        Ok(Client {
            status: r.status.parse().map_err(corrupt)?,
            grants: r
                .grants
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(corrupt)?,
            redirect_urls: r
                .redirect_urls
                .split_whitespace()
                .map(String::from)
                .collect(),
            id: r.id,
            name: r.name,
            key_prefix: r.key_prefix,
            logo_url: r.logo_url,
            accent_color: r.accent_color,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "id, name, key_prefix, status, grants, redirect_urls, logo_url, accent_color, created_at, updated_at";

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
}

/// A new client and its key, shown once.
pub struct Created {
    pub client: Client,
    pub key: String,
}

pub async fn create(
    tx: &mut Tx<'_>,
    name: &str,
    grants: &[Grant],
    redirect_urls: &[String],
) -> Result<Created, ApiError> {
    let key = secret::issue("fyk_");
    let now = now_ms();
    let client = Client {
        id: Uuid::now_v7(),
        name: name.to_string(),
        key_prefix: secret::display_prefix(&key.plaintext),
        status: Status::Active,
        grants: grants.to_vec(),
        redirect_urls: redirect_urls.to_vec(),
        logo_url: None,
        accent_color: None,
        created_at: now,
        updated_at: now,
    };
    let sql = "INSERT INTO clients (id, name, key_hash, key_prefix, status, grants, redirect_urls, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(client.id)
        .bind(&client.name)
        .bind(&key.hash)
        .bind(&client.key_prefix)
        .bind(client.status.as_str())
        .bind(join(grants))
        .bind(join(redirect_urls))
        .bind(now)
        .execute(c)
        .await
        .map(drop))?;
    bump_generation(tx).await?;
    Ok(Created {
        client,
        key: key.plaintext,
    })
}

pub async fn find_by_key_hash(db: &Db, hash: &[u8]) -> Result<Option<Client>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE key_hash = $1");
    let row: Option<ClientRow> = with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(hash)
        .fetch_optional(c)
        .await)?;
    row.map(Client::try_from).transpose()
}

pub async fn find(db: &Db, id: Uuid) -> Result<Option<Client>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE id = $1");
    let row: Option<ClientRow> = with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    row.map(Client::try_from).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Client>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY created_at, id");
    let rows: Vec<ClientRow> = with_reader!(db, |c| sqlx::query_as(&sql).fetch_all(c).await)?;
    rows.into_iter().map(Client::try_from).collect()
}

/// One change to an existing client.
pub enum Change<'a> {
    Status(Status),
    Grants(&'a [Grant]),
    /// A new key hash and display prefix: the old key stops working.
    Key {
        hash: &'a [u8],
        prefix: &'a str,
    },
    /// The app's look on the pages; `None` clears a part.
    Branding {
        logo_url: Option<&'a LogoUrl>,
        color: Option<&'a AccentColor>,
    },
}

/// Applies `change` to client `id`; `Ok(false)` when there is no such client.
pub async fn update(tx: &mut Tx<'_>, id: Uuid, change: Change<'_>) -> Result<bool, ApiError> {
    let now = now_ms();
    let result = match change {
        Change::Status(status) => {
            let sql = "UPDATE clients SET status = $2, updated_at = $3 WHERE id = $1";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(id)
                .bind(status.as_str())
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
        }
        Change::Grants(grants) => {
            let sql = "UPDATE clients SET grants = $2, updated_at = $3 WHERE id = $1";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(id)
                .bind(join(grants))
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
        }
        Change::Branding { logo_url, color } => {
            let sql = "UPDATE clients SET logo_url = $2, accent_color = $3, updated_at = $4 WHERE id = $1";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(id)
                .bind(logo_url.map(LogoUrl::as_str))
                .bind(color.map(AccentColor::as_str))
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
        }
        Change::Key { hash, prefix } => {
            let sql =
                "UPDATE clients SET key_hash = $2, key_prefix = $3, updated_at = $4 WHERE id = $1";
            with_tx!(tx, |c| sqlx::query(sql)
                .bind(id)
                .bind(hash)
                .bind(prefix)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
        }
    }?;
    if result == 0 {
        return Ok(false);
    }
    bump_generation(tx).await?;
    Ok(true)
}

/// Marks the client rows changed, for every server's cache (see `ClientCache`).
/// Taking this row lock first also serializes concurrent first-start checks.
async fn bump_generation(tx: &mut Tx<'_>) -> Result<(), ApiError> {
    let sql = "UPDATE generations SET value = value + 1 WHERE name = 'clients'";
    with_tx!(tx, |c| sqlx::query(sql).execute(c).await.map(drop))?;
    Ok(())
}

/// The current generation of the client rows.
pub async fn generation(db: &Db) -> Result<i64, ApiError> {
    let sql = "SELECT value FROM generations WHERE name = 'clients'";
    let (value,): (i64,) = with_reader!(db, |c| sqlx::query_as(sql).fetch_one(c).await)?;
    Ok(value)
}

/// On the first start of an empty database: a client with every grant, so a new user can
/// call the API at once. Returns it (and its key, shown once) when it was created now.
pub async fn create_demo_if_empty(
    db: &Db,
    public_origin: &str,
) -> Result<Option<Created>, ApiError> {
    let mut tx = db.begin().await?;
    // The generation row lock makes a second node starting at the same moment wait here,
    // then see the first node's client.
    bump_generation(&mut tx).await?;
    let (count,): (i64,) = with_tx!(&mut tx, |c| sqlx::query_as("SELECT COUNT(*) FROM clients")
        .fetch_one(c)
        .await)?;
    if count > 0 {
        return Ok(None); // dropping `tx` rolls the bump back
    }
    let created = create(
        &mut tx,
        "Demo app",
        &[Grant::All],
        &[format!("{public_origin}/")],
    )
    .await?;
    tx.commit().await?;
    Ok(Some(created))
}
