//! The `devices` table.

use super::{Device, DeviceInfo, Platform};
use crate::{
    db::{Db, Tx, db_row, now_ms, rfc3339, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    users::access,
};
use uuid::Uuid;

db_row! {
    #[derive(Clone, Debug)]
    pub struct DeviceRow {
        pub id: Uuid,
        pub client_id: Uuid,
        pub user_id: Option<Uuid>,
        pub device_id: String,
        pub device_name: Option<String>,
        pub platform: String,
        pub os_version: Option<String>,
        pub app_version: Option<String>,
        pub model: Option<String>,
        pub manufacturer: Option<String>,
        pub push_token: Option<String>,
        pub locale: Option<String>,
        pub timezone: Option<String>,
        pub ip_address: Option<String>,
        pub user_agent: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        pub last_seen_at: i64,
    }
}

const COLUMNS: &str = "id, client_id, user_id, device_id, device_name, platform, os_version, app_version, model,
    manufacturer, push_token, locale, timezone, ip_address, user_agent, created_at, updated_at, last_seen_at";

impl DeviceRow {
    pub fn view(&self) -> Device {
        Device {
            id: self.id.to_string(),
            client_id: self.client_id.to_string(),
            user_id: self.user_id.map(|u| u.to_string()),
            info: DeviceInfo {
                device_id: self.device_id.clone(),
                device_name: self.device_name.clone(),
                platform: self.platform.parse().unwrap_or(Platform::Other),
                os_version: self.os_version.clone(),
                app_version: self.app_version.clone(),
                model: self.model.clone(),
                manufacturer: self.manufacturer.clone(),
                push_token: self.push_token.clone(),
                locale: self.locale.clone(),
                timezone: self.timezone.clone(),
            },
            ip_address: self.ip_address.clone(),
            user_agent: self.user_agent.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            last_seen_at: rfc3339(self.last_seen_at),
        }
    }
}

/// Where a save came from.
#[derive(Clone, Copy, Default)]
pub struct Seen<'a> {
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Insert-or-update on (client, deviceId) in one statement: concurrent saves of one device
/// never fail and never duplicate. The info is replaced by what the app sent now; the
/// owner is kept unless this save names one; so are the address and user agent when this
/// save has none (a device saved at login completion, from the person's browser).
const UPSERT: &str = "INSERT INTO devices (id, client_id, user_id, device_id, device_name, platform, os_version,
        app_version, model, manufacturer, push_token, locale, timezone, ip_address, user_agent,
        created_at, updated_at, last_seen_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16)
    ON CONFLICT (client_id, device_id) DO UPDATE SET
        user_id = COALESCE(excluded.user_id, devices.user_id),
        device_name = excluded.device_name, platform = excluded.platform,
        os_version = excluded.os_version, app_version = excluded.app_version, model = excluded.model,
        manufacturer = excluded.manufacturer, push_token = excluded.push_token,
        locale = excluded.locale, timezone = excluded.timezone,
        ip_address = COALESCE(excluded.ip_address, devices.ip_address),
        user_agent = COALESCE(excluded.user_agent, devices.user_agent),
        updated_at = excluded.updated_at, last_seen_at = excluded.last_seen_at
    RETURNING id, client_id, user_id, device_id, device_name, platform, os_version, app_version, model,
        manufacturer, push_token, locale, timezone, ip_address, user_agent, created_at, updated_at, last_seen_at";

macro_rules! upsert {
    ($c:expr, $new_id:expr, $client_id:expr, $user_id:expr, $info:expr, $seen:expr) => {{
        let info: &DeviceInfo = $info;
        let seen: Seen = $seen;
        sqlx::query_as(UPSERT)
            .bind($new_id)
            .bind($client_id)
            .bind($user_id)
            .bind(&info.device_id)
            .bind(&info.device_name)
            .bind(info.platform.as_str())
            .bind(&info.os_version)
            .bind(&info.app_version)
            .bind(&info.model)
            .bind(&info.manufacturer)
            .bind(&info.push_token)
            .bind(&info.locale)
            .bind(&info.timezone)
            .bind(seen.ip_address)
            .bind(seen.user_agent)
            .bind(now_ms())
            .fetch_one($c)
            .await
    }};
}

/// Saves a device for `client_id` (and `user_id`, when the app sent a user's token).
/// Returns the row and whether it was created now.
pub async fn save(
    db: &Db,
    client_id: Uuid,
    user_id: Option<Uuid>,
    info: &DeviceInfo,
    seen: Seen<'_>,
) -> Result<(DeviceRow, bool), ApiError> {
    let new_id = Uuid::now_v7();
    let row: DeviceRow = with_writer!(db, |c| upsert!(c, new_id, client_id, user_id, info, seen))?;
    let created = row.id == new_id;
    Ok((row, created))
}

/// Saves the device a login request carried, for the person who completed it.
pub async fn save_for_login(
    tx: &mut Tx,
    client_id: Uuid,
    user_id: Uuid,
    info: &DeviceInfo,
) -> Result<Uuid, ApiError> {
    let new_id = Uuid::now_v7();
    let row: DeviceRow = with_tx!(tx, |c| upsert!(
        c,
        new_id,
        client_id,
        Some(user_id),
        info,
        Seen::default()
    ))?;
    Ok(row.id)
}

pub async fn find(db: &Db, client_id: Uuid, id: Uuid) -> Result<Option<DeviceRow>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM devices WHERE id = $1 AND client_id = $2");
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(client_id)
        .fetch_optional(c)
        .await)?)
}

/// A page of a client's devices, newest first: those created before `before` (the cursor).
/// Ids are UUIDv7, so ordering by id is ordering by creation and a cursor stays stable
/// however many devices are added meanwhile.
pub async fn list(
    db: &Db,
    client_id: Uuid,
    user_id: Option<Uuid>,
    before: Option<Uuid>,
    limit: u32,
) -> Result<Vec<DeviceRow>, ApiError> {
    let mut sql = format!("SELECT {COLUMNS} FROM devices WHERE client_id = $1");
    let mut next = 2;
    if user_id.is_some() {
        sql.push_str(&format!(" AND user_id = ${next}"));
        next += 1;
    }
    if before.is_some() {
        sql.push_str(&format!(" AND id < ${next}"));
        next += 1;
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${next}"));
    Ok(with_reader!(db, |c| {
        let mut q = sqlx::query_as(&sql).bind(client_id);
        if let Some(user_id) = user_id {
            q = q.bind(user_id);
        }
        if let Some(before) = before {
            q = q.bind(before);
        }
        q.bind(i64::from(limit)).fetch_all(c).await
    })?)
}

/// A person's devices across all apps, newest first, with each app's name.
pub async fn list_for_user(db: &Db, user_id: Uuid) -> Result<Vec<(DeviceRow, String)>, ApiError> {
    let sql = "SELECT d.id, d.client_id, d.user_id, d.device_id, d.device_name, d.platform, d.os_version,
                      d.app_version, d.model, d.manufacturer, d.push_token, d.locale, d.timezone, d.ip_address,
                      d.user_agent, d.created_at, d.updated_at, d.last_seen_at, c.name AS client_name
               FROM devices d JOIN clients c ON c.id = d.client_id
               WHERE d.user_id = $1 ORDER BY d.last_seen_at DESC, d.id DESC";
    Ok(with_reader!(db, |c| {
        use sqlx::Row;
        sqlx::query(sql)
            .bind(user_id)
            .fetch_all(c)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((sqlx::FromRow::from_row(r)?, r.try_get("client_name")?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
    })?)
}

/// Whose device to delete: an app deletes its own, a person theirs.
pub enum Owner {
    Client(Uuid),
    User(Uuid),
}

/// Deletes a device and revokes the access tokens bound to it, in one transaction.
pub async fn delete(db: &Db, owner: Owner, id: Uuid) -> Result<(), ApiError> {
    let (column, owner_id) = match owner {
        Owner::Client(id) => ("client_id", id),
        Owner::User(id) => ("user_id", id),
    };
    let mut tx = db.begin().await?;
    access::revoke_for_device(&mut tx, id).await?;
    let sql = format!("DELETE FROM devices WHERE id = $1 AND {column} = $2");
    let deleted = with_tx!(&mut tx, |c| sqlx::query(&sql)
        .bind(id)
        .bind(owner_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if deleted == 0 {
        return Err(ApiError::new(ErrorCode::DeviceNotFound));
    }
    tx.commit().await?;
    Ok(())
}
