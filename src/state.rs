//! The state every request handler reaches: what `state::AppState::init` builds once at
//! start and each request clones cheaply.
//!
//! It sits below every feature and names none of them: its fields are low types (the
//! configuration, the database, the courier, the password hasher), and a feature's own
//! service (the client cache, the batcher of device saves, the group of login starts, the
//! passkey ceremony key) lives in [`Services`], a map by type that only the owning module
//! reads, through its own accessor. So a feature reaches the state without the state
//! reaching back into the feature.

use crate::{config::Config, courier::Courier, db::Db, password::Hasher};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use metrics_exporter_prometheus::PrometheusHandle;
use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::Arc,
};

/// Everything a request handler may need, cloned cheaply into each request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub passwords: Arc<Hasher>,
    /// Delivers the outbox's messages (and is woken when one is stored).
    pub courier: Arc<Courier>,
    /// The passkey relying party; `None` where the public URL cannot have passkeys.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// The services the features own (see [`Services`]).
    pub services: Services,
    pub leptos_options: LeptosOptions,
    pub metrics: PrometheusHandle,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The features' services, one of each type, put in at start (`state::AppState::init`)
/// and read by their owners (`ClientCache::of(&state)`, say).
///
/// The map is shared, not copied: the state is cloned several times a request (each layer
/// and handler that takes it), and a copied map was an allocation each time.
#[derive(Clone, Default)]
pub struct Services(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl Services {
    /// `self` with `service` in it (replacing one of the same type).
    pub fn with<T: Any + Send + Sync>(mut self, service: Arc<T>) -> Self {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<T>(), service);
        self
    }

    /// The service of type `T`. Every service is put in at start, before the first request,
    /// so a missing one is a bug of `init`: it panics (the panic guard answers 500).
    pub fn get<T: Any + Send + Sync>(&self) -> &T {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|s| s.downcast_ref::<T>())
            .unwrap_or_else(|| panic!("{} is not in the app state", std::any::type_name::<T>()))
    }
}

/// Marks a page response that must go out uncompressed (set by `app::page_facts`, read by
/// the server's compression layer).
///
/// Every page reflects input its requester chose (the language switch carries the page's
/// whole URL back, query and all). A page that also carries something secret — what a
/// signed-in person's session shows: their email and number, their devices, the code of a
/// request they confirm — must not be compressed: someone who sees the encrypted traffic
/// and can make the browser load pages (a link, a script on another site) would learn the
/// secret a character at a time from the compressed sizes (BREACH). Pages without a
/// session (the sign-in page of an app's request, the docs) carry nothing the requester
/// does not already know and stay compressed.
#[derive(Clone, Copy, Debug)]
pub struct CarriesSecrets;
