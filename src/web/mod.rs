//! Web: story pages for readers and a view of the running bot for its operators, served by
//! axum on the program's tokio runtime (`storybot serve`, or inside `storybot run` when
//! `[web] listen` is set).
//!
//! Public pages ([`pages`]): `/` (trending), `/blindspot`, `/search?q=`, `/story/{id}`,
//! `/outlet/{name}`, and their JSON in [`api`]. Operators' pages ([`admin`]): `/feeds`,
//! `/subscriptions`, `/healthz`, `/metrics`, on `[web] admin_listen` (loopback by default),
//! and under `/admin/` on the public listener to requests carrying the token from
//! `[web] admin_token_env`. Every response passes [`http`]: only GET and HEAD, a
//! Content-Security-Policy with no script at all, ETags so an unchanged page costs a 304.
//! HTML comes from maud templates ([`layout`]), which escape every string they are given.

mod admin;
mod admission;
mod api;
mod cache;
mod http;
mod layout;
mod listener;
mod pages;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;

/// Why the web server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "web.admin_listen {0} is not a loopback address: the operators' pages would be open to \
         the network. Keep it on 127.0.0.1 or ::1 (behind a proxy that authenticates), or leave \
         it empty and set the token variable to serve them under /admin/ on web.listen"
    )]
    AdminExposed(SocketAddr),
    #[error("the web server stopped: {0}")]
    Serve(std::io::Error),
}

/// What every handler shares; cheap to clone.
#[derive(Clone)]
struct Web {
    app: App,
    /// The operators' token, when its variable is set (never logged).
    admin_token: Option<Arc<str>>,
    /// Story pages rendered while their story is unchanged.
    pages: Arc<cache::Pages>,
}

/// Connections the operators' listener holds at once, apart from the public one's.
const ADMIN_CONNECTIONS: usize = 64;
/// File descriptors kept for everything but the public listener (the store, feeds, Discord,
/// the operators' listener).
const RESERVED_FDS: u64 = 512;

/// The bound listeners, before serving: their addresses are known (port 0 picks one).
pub struct Server {
    public: TcpListener,
    admin: Option<TcpListener>,
    web: Web,
    limits: crate::config::ConnectionLimits,
}

impl Server {
    /// Binds the public listener at `listen` and, when configured, the operators' listener.
    pub async fn bind(app: App, listen: SocketAddr) -> Result<Server, WebError> {
        let settings = &app.settings.web;
        let admin_token = std::env::var(&settings.admin_token_env)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(|t| {
                crate::secrets::register(&t);
                Arc::from(t)
            });
        let admin_addr = settings.admin_listen;
        if let Some(addr) = admin_addr {
            if !addr.ip().is_loopback() {
                return Err(WebError::AdminExposed(addr));
            }
        }
        let public = bind(listen, "web.listen").await?;
        let admin = match admin_addr {
            Some(addr) => Some(bind(addr, "web.admin_listen").await?),
            None => None,
        };
        let limits = within_descriptors(settings.connections);
        Ok(Server {
            public,
            admin,
            limits,
            web: Web {
                app,
                admin_token,
                pages: Arc::default(),
            },
        })
    }

    /// Where the public pages are served.
    pub fn public_addr(&self) -> Option<SocketAddr> {
        self.public.local_addr().ok()
    }

    /// Where the operators' pages are served, if they have a listener.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes; requests under way finish first.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), WebError> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tracing::info!(
            public = ?self.public_addr(),
            admin = ?self.admin_addr(),
            admin_by_bearer = self.web.admin_token.is_some(),
            "serving web pages"
        );
        let metrics = self.web.app.metrics.clone();
        let public = listener::serve(
            listener::Listener {
                name: "public",
                socket: self.public,
                limits: self.limits,
                metrics: metrics.clone(),
                pick: |m| &m.web.public,
            },
            public_router(self.web.clone()),
            stop_rx.clone(),
        );
        let admin_limits = crate::config::ConnectionLimits {
            max_connections: ADMIN_CONNECTIONS,
            max_per_address: None,
            ..self.limits
        };
        let admin = self.admin.map(|socket| {
            listener::serve(
                listener::Listener {
                    name: "admin",
                    socket,
                    limits: admin_limits,
                    metrics,
                    pick: |m| &m.web.admin,
                },
                admin_router(self.web.clone()),
                stop_rx,
            )
        });
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let (_, public, admin) = tokio::join!(signal, public, async move {
            match admin {
                Some(a) => a.await,
                None => Ok(()),
            }
        });
        public.and(admin).map_err(WebError::Serve)
    }
}

/// The public listener's cap, lowered when the process may not open that many descriptors
/// beside [`RESERVED_FDS`] and the operators' connections (raising the soft limit to the
/// hard one first, as Go's runtime does).
fn within_descriptors(
    mut limits: crate::config::ConnectionLimits,
) -> crate::config::ConnectionLimits {
    let available = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the file descriptor limit");
            return limits;
        }
    };
    let room = available.saturating_sub(RESERVED_FDS + ADMIN_CONNECTIONS as u64);
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(8);
    if limits.max_connections > room {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_files_limit = available,
            lowered_to = room,
            "web.max_connections is more than this process may open: lowered (raise `ulimit -n` to keep it)"
        );
        limits.max_connections = room;
    }
    limits
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, WebError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Bind { addr, what, source })
}

/// The public pages, their JSON, and (with a token) the operators' pages under `/admin/`.
fn public_router(web: Web) -> Router {
    let mut router = pages::routes().merge(api::routes());
    if web.admin_token.is_some() {
        router = router.nest(
            "/admin",
            admin::routes().layer(axum::middleware::from_fn_with_state(
                web.clone(),
                admin::require_token,
            )),
        );
    }
    http::finish(router, web)
}

/// The operators' pages at the root of their own listener.
fn admin_router(web: Web) -> Router {
    http::finish(admin::routes(), web)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_cap_is_kept_under_what_the_process_may_open() {
        let limits = crate::config::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(60),
            max_connections: usize::MAX,
            max_per_address: Some(64),
        };
        let lowered = within_descriptors(limits);
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        let room = soft.saturating_sub(RESERVED_FDS + ADMIN_CONNECTIONS as u64);
        assert_eq!(lowered.max_connections as u64, room.max(8));
        assert_eq!(
            lowered.max_per_address,
            Some(64),
            "only the cap in all changes"
        );
        let small = crate::config::ConnectionLimits {
            max_connections: 16,
            ..limits
        };
        assert_eq!(within_descriptors(small), small, "a cap that fits is kept");
    }
}
