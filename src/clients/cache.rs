//! The client-key cache: most requests authenticate without a database round trip.
//!
//! Entries never expire by age. Instead a background task reads the `clients` generation
//! (bumped by every change, from this node, another node or an admin command) once per
//! [`POLL_INTERVAL`] and drops every entry when it moved — so a status, grant or key
//! change takes effect within about a second everywhere, far inside the 5 s promise.

use super::store::{self, Client};
use crate::{db::Db, error::ApiError, secret, state::AppState};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Bound on cached keys; past it the cache starts over (keys are few in practice).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct ClientCache {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_hash: HashMap<Vec<u8>, Arc<Client>>,
    /// Increments at every flush: a lookup that read the database before a flush must not
    /// insert its (possibly stale) row after it.
    epoch: u64,
    generation: Option<i64>,
}

impl ClientCache {
    /// This server's cache (kept in the app state's services).
    pub fn of(state: &AppState) -> &ClientCache {
        state.services.get()
    }

    /// The client holding `key`, from the cache or the database.
    pub async fn lookup(&self, db: &Db, key: &str) -> Result<Option<Arc<Client>>, ApiError> {
        let hash = secret::hash(key);
        let epoch = {
            let inner = self.inner.read().expect("client cache lock");
            if let Some(client) = inner.by_hash.get(&hash) {
                return Ok(Some(client.clone()));
            }
            inner.epoch
        };
        let Some(client) = store::find_by_key_hash(db, &hash).await? else {
            return Ok(None);
        };
        let client = Arc::new(client);
        let mut inner = self.inner.write().expect("client cache lock");
        if inner.epoch == epoch {
            if inner.by_hash.len() >= MAX_ENTRIES {
                inner.by_hash.clear();
            }
            inner.by_hash.insert(hash, client.clone());
        }
        Ok(Some(client))
    }

    /// Drops every entry if the stored generation moved since the last call.
    pub async fn refresh(&self, db: &Db) -> Result<(), ApiError> {
        let generation = store::generation(db).await?;
        let mut inner = self.inner.write().expect("client cache lock");
        if inner.generation != Some(generation) {
            inner.by_hash.clear();
            inner.epoch += 1;
            inner.generation = Some(generation);
        }
        Ok(())
    }

    /// Keeps the cache fresh for as long as the server runs.
    pub fn spawn_refresher(self: &Arc<Self>, db: Db) {
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(cache) = cache.upgrade() else { return };
                if let Err(e) = cache.refresh(&db).await {
                    // Without the generation a revoked key could not be noticed: fail
                    // closed, and let lookups go to the database (and its error codes).
                    tracing::warn!(error = %e, "could not refresh the client cache");
                    cache.flush();
                }
            }
        });
    }

    fn flush(&self) {
        let mut inner = self.inner.write().expect("client cache lock");
        inner.by_hash.clear();
        inner.epoch += 1;
        inner.generation = None;
    }
}
