//! The accept loop: HTTP/1.1 connections with bounds a stranger cannot stretch.
//!
//! `axum::serve` runs hyper without a timer, so a connection that never finishes its
//! request head (slowloris) is kept forever, and nothing bounds how many are open. Here:
//!
//! * the whole request head must arrive within [`Limits::header_timeout`]; hyper starts
//!   the same timer again after each reply, so an idle keep-alive connection is closed
//!   after that long too (a reverse proxy's upstream keep-alive must be shorter);
//! * at most [`Limits::max_connections`] are open: past it, fypass stops accepting until
//!   one closes, and new connections wait in the kernel's backlog rather than being
//!   reset (a slot a slow client holds is freed by the header timeout);
//! * at most [`Limits::per_address`] of them from one address (an IPv6 /64 counts as one,
//!   an IPv4-mapped address as its IPv4 address): one more from there is closed at once,
//!   so a single party holding idle sockets cannot take every slot from everyone else. A
//!   trusted proxy (`FYPASS_TRUSTED_PROXIES`) carries everyone's connections and is not
//!   capped;
//! * shutdown stops accepting, closes idle connections at once and lets requests in
//!   flight finish, for at most [`Limits::drain_timeout`].
//!
//! A request's body and its processing are bounded elsewhere: by the body limit and the
//! request deadline (`observe`).

use axum::{Router, extract::ConnectInfo};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::Layer as _;

#[derive(Clone, Debug)]
pub struct Limits {
    /// The request head must arrive within this; also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections from one network (an IPv4 address, an IPv6 /64) at most.
    pub per_address: usize,
    /// Peers not capped per address: the trusted proxies, canonical.
    pub uncapped: Arc<[IpAddr]>,
    /// How long shutdown waits for the requests in flight.
    pub drain_timeout: Duration,
}

impl Limits {
    pub fn of(config: &crate::config::Config) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(config.header_timeout_secs),
            max_connections: config.max_connections.max(1),
            per_address: config.max_connections_per_address.max(1),
            uncapped: config
                .trusted_proxies
                .iter()
                .map(|ip| ip.to_canonical())
                .collect(),
            // A request in flight has at most its deadline left.
            drain_timeout: config.request_timeout() + Duration::from_secs(2),
        }
    }
}

/// Open connections per network, for [`Limits::per_address`].
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<String, usize>>>);

/// One connection counted for its network; uncounted when dropped (the connection closed).
struct Counted {
    table: PerAddress,
    network: String,
}

impl PerAddress {
    /// Counts a connection from `ip`, or `None` when its network has `cap` open already.
    fn admit(&self, ip: IpAddr, cap: usize) -> Option<Counted> {
        let network = crate::throttle::network(ip);
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(network.clone()).or_default();
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(Counted {
            table: self.clone(),
            network,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.network) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.network);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot before accepting: at the cap, accepting simply pauses.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let peer_ip = peer.ip().to_canonical();
        let counted = if limits.uncapped.contains(&peer_ip) {
            None
        } else {
            match per_address.admit(peer_ip, limits.per_address) {
                Some(counted) => Some(counted),
                None => {
                    // Closed at once: its slot goes back to everyone else.
                    tracing::debug!(%peer, "too many connections from this address; closed");
                    continue;
                }
            }
        };
        // Replies go out in more than one write (head, then body): with Nagle's algorithm
        // on, the second waits for the peer's delayed ACK, about 40 ms.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        // What `into_make_service_with_connect_info` does: the peer rides in each request.
        let service = axum::Extension(ConnectInfo::<SocketAddr>(peer)).layer(app.clone());
        let connection =
            http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Header timeouts, resets and malformed requests are routine.
                tracing::debug!(%peer, error = %e, timeout = e.is_timeout(), "connection ended");
            }
            drop((permit, counted));
        });
    }
    // New connections are refused from here on.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!("requests still running after the drain timeout were cut off");
        }
    }
}

/// As axum does: a peer's reset is nothing; anything else (out of file descriptors, say)
/// is logged and retried after a moment, rather than spinning.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
