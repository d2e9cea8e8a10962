//! The `devices` table.

use super::{Device, DeviceInfo, Platform};
use crate::{
    db::{
        Db, Tx, db_row,
        group::{Group, GroupWrite},
        now_ms, rfc3339, with_reader, with_tx,
    },
    error::{ApiError, ErrorCode},
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
///
/// A device **held** by a person — one with a token of theirs bound to it that still
/// works — is theirs (`/docs#devices`): a save for anyone else (another person's token, or
/// a login request another person completed) changes nothing, nor does a save without a
/// token that would change its push token. Otherwise whoever took the device could remove
/// it from their own dashboard and so revoke its owner's tokens, or redirect the owner's
/// notifications. The rule is the upsert's `WHERE`, so it holds under concurrent saves; a
/// save it stops returns no row, and is answered [`refused`]. Once the person's tokens on it are revoked
/// or expired (they signed out there), the device is free again; a save without a token
/// that then gives it another push token leaves it nobody's (kept as theirs, the app would
/// send that person's notifications to whoever sent the save).
const UPSERT: &str = "INSERT INTO devices (id, client_id, user_id, device_id, device_name, platform, os_version,
        app_version, model, manufacturer, push_token, locale, timezone, ip_address, user_agent,
        created_at, updated_at, last_seen_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16)
    ON CONFLICT (client_id, device_id) DO UPDATE SET
        user_id = CASE WHEN excluded.user_id IS NULL
                            AND excluded.push_token IS DISTINCT FROM devices.push_token
                       THEN NULL ELSE COALESCE(excluded.user_id, devices.user_id) END,
        device_name = excluded.device_name, platform = excluded.platform,
        os_version = excluded.os_version, app_version = excluded.app_version, model = excluded.model,
        manufacturer = excluded.manufacturer, push_token = excluded.push_token,
        locale = excluded.locale, timezone = excluded.timezone,
        ip_address = COALESCE(excluded.ip_address, devices.ip_address),
        user_agent = COALESCE(excluded.user_agent, devices.user_agent),
        updated_at = excluded.updated_at, last_seen_at = excluded.last_seen_at
    WHERE devices.user_id IS NULL
       OR devices.user_id = excluded.user_id
       OR (excluded.user_id IS NULL AND excluded.push_token IS NOT DISTINCT FROM devices.push_token)
       OR (NOT EXISTS (SELECT 1 FROM access_tokens a
                       WHERE a.device_id = devices.id AND a.user_id = devices.user_id
                         AND a.revoked_at IS NULL AND a.expires_at > excluded.updated_at)
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens r
                           WHERE r.device_id = devices.id AND r.user_id = devices.user_id
                             AND r.revoked_at IS NULL AND r.rotated_at IS NULL
                             AND r.expires_at > excluded.updated_at))
    RETURNING id, client_id, user_id, device_id, device_name, platform, os_version, app_version, model,
        manufacturer, push_token, locale, timezone, ip_address, user_agent, created_at, updated_at, last_seen_at";

/// The answer to a save [`UPSERT`]'s rule stopped: the device is another person's.
pub fn refused() -> ApiError {
    ApiError::with_message(ErrorCode::DuplicateKey, crate::tr!(devices.msg.held))
        .and_field("deviceId", crate::tr!(devices.msg.held_field))
}

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
            .fetch_optional($c)
            .await
    }};
}

/// The saves `$jobs` in one multi-row upsert on connection `$c` of backend `$db` (the
/// statement of [`UPSERT`] with one `VALUES` row per save).
macro_rules! upsert_many {
    ($db:ty, $c:expr, $jobs:expr) => {{
        let (insert, rest) = UPSERT.split_once("VALUES").expect("UPSERT has VALUES");
        let (_, on_conflict) = rest
            .split_once("ON CONFLICT")
            .expect("UPSERT has ON CONFLICT");
        let now = now_ms();
        let mut query = sqlx::QueryBuilder::<$db>::new(insert);
        query.push_values($jobs, |mut b, job: &SaveJob| {
            let info = &job.info;
            b.push_bind(job.new_id)
                .push_bind(job.client_id)
                .push_bind(job.user_id)
                .push_bind(info.device_id.clone())
                .push_bind(info.device_name.clone())
                .push_bind(info.platform.as_str())
                .push_bind(info.os_version.clone())
                .push_bind(info.app_version.clone())
                .push_bind(info.model.clone())
                .push_bind(info.manufacturer.clone())
                .push_bind(info.push_token.clone())
                .push_bind(info.locale.clone())
                .push_bind(info.timezone.clone())
                .push_bind(job.ip_address.clone())
                .push_bind(job.user_agent.clone())
                .push_bind(now)
                .push_bind(now)
                .push_bind(now);
        });
        query.push(" ON CONFLICT");
        query.push(on_conflict);
        query.build_query_as::<DeviceRow>().fetch_all($c).await
    }};
}

/// Device saves, committed in groups (see [`crate::db::group`]): when many apps save at
/// once, each save used to wait for the writer, run its statement and commit alone, and
/// the commit, not the statement, was most of a save's time (BENCHMARKS.md).
pub struct Saves {
    group: Group<DeviceSaves>,
}

pub struct SaveJob {
    new_id: Uuid,
    client_id: Uuid,
    user_id: Option<Uuid>,
    info: DeviceInfo,
    ip_address: Option<String>,
    user_agent: Option<String>,
}

impl Saves {
    /// This server's batcher (kept in the app state's services).
    pub fn of(state: &crate::state::AppState) -> &Saves {
        state.services.get()
    }

    /// Starts the group-commit task (it ends when the `Saves` is dropped).
    pub fn new(db: &Db) -> Saves {
        Saves {
            group: Group::start(db),
        }
    }

    /// Saves a device for `client_id` (and `user_id`, when the app sent a user's token).
    /// Returns the row and whether it was created now.
    pub async fn save(
        &self,
        client_id: Uuid,
        user_id: Option<Uuid>,
        info: DeviceInfo,
        seen: Seen<'_>,
    ) -> Result<(DeviceRow, bool), ApiError> {
        let new_id = Uuid::now_v7();
        let row = self
            .group
            .write(SaveJob {
                new_id,
                client_id,
                user_id,
                info,
                ip_address: seen.ip_address.map(String::from),
                user_agent: seen.user_agent.map(String::from),
            })
            .await?;
        let created = row.id == new_id;
        Ok((row, created))
    }
}

pub struct DeviceSaves;

impl GroupWrite for DeviceSaves {
    type Job = SaveJob;
    type Done = DeviceRow;

    /// One multi-row upsert per round, each device at most once in a round (an upsert
    /// cannot touch a row twice); a device saved twice in one group goes to the next round.
    async fn write(
        tx: &mut Tx<'_>,
        group: &[SaveJob],
    ) -> Result<Vec<Result<DeviceRow, ApiError>>, ApiError> {
        let mut rows: Vec<Option<DeviceRow>> = vec![None; group.len()];
        let mut pending: Vec<usize> = (0..group.len()).collect();
        while !pending.is_empty() {
            let mut round: Vec<usize> = Vec::new();
            let mut later = Vec::new();
            for i in pending {
                let key = (group[i].client_id, &group[i].info.device_id);
                if round
                    .iter()
                    .any(|&j| (group[j].client_id, &group[j].info.device_id) == key)
                {
                    later.push(i);
                } else {
                    round.push(i);
                }
            }
            let jobs = round.iter().map(|&i| &group[i]);
            let saved: Vec<DeviceRow> = match tx {
                Tx::Sqlite(t) => upsert_many!(sqlx::Sqlite, &mut **t, jobs),
                Tx::Postgres(t) => upsert_many!(sqlx::Postgres, t.exec(), jobs),
            }?;
            for i in round {
                let job = &group[i];
                rows[i] = saved
                    .iter()
                    .find(|r| r.client_id == job.client_id && r.device_id == job.info.device_id)
                    .cloned();
            }
            pending = later;
        }
        // A save the upsert's rule stopped has no row: the device is another person's.
        Ok(rows.into_iter().map(|r| r.ok_or_else(refused)).collect())
    }
}

/// Saves the device a login request carried, for the person who completed it; `None`
/// when the device is held by another person ([`UPSERT`]): the sign-in then completes
/// without a device, and the device stays as it was.
pub async fn save_for_login(
    tx: &mut Tx<'_>,
    client_id: Uuid,
    user_id: Uuid,
    info: &DeviceInfo,
) -> Result<Option<Uuid>, ApiError> {
    let new_id = Uuid::now_v7();
    let row: Option<DeviceRow> = with_tx!(tx, |c| upsert!(
        c,
        new_id,
        client_id,
        Some(user_id),
        info,
        Seen::default()
    ))?;
    Ok(row.map(|r| r.id))
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
#[derive(Clone, Copy)]
pub enum Owner {
    Client(Uuid),
    User(Uuid),
}

/// Deletes a device and revokes the tokens bound to it, in one transaction.
pub async fn delete(
    db: &Db,
    owner: Owner,
    id: Uuid,
    by: Option<&crate::request::Caller>,
) -> Result<(), ApiError> {
    let (column, owner_id) = match owner {
        Owner::Client(id) => ("client_id", id),
        Owner::User(id) => ("user_id", id),
    };
    let mut tx = db.begin().await?;
    crate::tokens::revoke_for_device(&mut tx, id).await?;
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
    // The person removed it themselves (`/devices`): it goes on their activity list.
    if let (Owner::User(user_id), Some(caller)) = (owner, by) {
        crate::activity::record(
            &mut tx,
            caller,
            user_id,
            crate::activity::Kind::DeviceRemoved,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
