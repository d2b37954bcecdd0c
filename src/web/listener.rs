//! One listener's connections, bounded: the accept loop, each connection served by hyper with
//! a deadline for a request's headers (idle keep-alive included) and an idle deadline, the
//! caps of [`admission`](super::admission), and a graceful stop. What a client can hold of a
//! port is bounded here, so no number of silent connections can exhaust the process's file
//! descriptors or keep a reader out. A cap that bites, an accept that fails, is logged (at
//! most once a minute per listener, with the count) and counted in `/metrics`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service as _;

use super::admission::{Admitted, Cap, Caps, Slot, Table, Ticket};
use crate::config::ConnectionLimits;
use crate::metrics::ListenerStats;

/// How long requests under way may take to finish once a stop is asked.
const GRACE: Duration = Duration::from_secs(10);
/// What a refused connection is told.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
    retry-after: 5\r\nconnection: close\r\ncontent-length: 29\r\n\r\nToo many connections; retry.\n";

/// One listener to serve: its name in logs and metrics, its bounds, its counters.
pub(super) struct Listener {
    pub name: &'static str,
    pub socket: TcpListener,
    pub limits: ConnectionLimits,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This listener's counters among the process's.
    pub pick: fn(&crate::metrics::Metrics) -> &ListenerStats,
}

/// Serves `router` on the listener until `stop` turns true, then lets requests under way
/// finish (for up to [`GRACE`]).
pub(super) async fn serve(
    listener: Listener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let table = Table::new(Caps {
        total: listener.limits.max_connections,
        per_address: listener.limits.max_per_address,
    });
    let shared = Arc::new(Shared {
        name: listener.name,
        limits: listener.limits,
        metrics: listener.metrics,
        pick: listener.pick,
        warned: Mutex::new(None),
        unwarned: AtomicU64::new(0),
    });
    let (done_tx, done_rx) = watch::channel(());
    loop {
        let accepted = tokio::select! {
            a = listener.socket.accept() => a,
            () = stopped(&mut stop) => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                shared.stats().accepted.fetch_add(1, Ordering::Relaxed);
                match table.admit(peer.ip()) {
                    Ok(admitted) => {
                        let ticket = match admitted {
                            Admitted::Free(t) => t,
                            Admitted::Evicted(t, cap) => {
                                shared.stats().evicted.fetch_add(1, Ordering::Relaxed);
                                shared.warn(&format!("at the cap of {}, the connection quiet the longest was closed for a new one", cap.name()));
                                t
                            }
                        };
                        let conn = Connection {
                            shared: shared.clone(),
                            router: router.clone(),
                            ticket,
                            stop: stop.clone(),
                            done: done_rx.clone(),
                        };
                        shared.stats().open.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(conn.run(stream));
                    }
                    Err(cap) => refuse(&shared, stream, cap),
                }
            }
            Err(e) => {
                shared.stats().accept_errors.fetch_add(1, Ordering::Relaxed);
                shared.warn(&format!("cannot accept a connection: {e}"));
                // Out of descriptors, the pending connection stays ready: wait, or spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(done_rx);
    drop(listener.socket);
    if tokio::time::timeout(GRACE, done_tx.closed()).await.is_err() {
        tracing::warn!(
            listener = shared.name,
            open = table.open(),
            "connections still open after the grace period were closed"
        );
    }
    Ok(())
}

/// Resolves once a stop is asked (the guard of the value is not held past it).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Answers 503 without reading the request (it does not wait: a full send buffer drops it).
fn refuse(shared: &Shared, stream: TcpStream, cap: Cap) {
    shared.stats().refused.fetch_add(1, Ordering::Relaxed);
    shared.warn(&format!(
        "at the cap of {}, with every connection busy, a new one was refused",
        cap.name()
    ));
    let _ = stream.try_write(REFUSAL);
}

/// What every connection of a listener shares.
struct Shared {
    name: &'static str,
    limits: ConnectionLimits,
    metrics: Arc<crate::metrics::Metrics>,
    pick: fn(&crate::metrics::Metrics) -> &ListenerStats,
    /// When the last warning was logged, and how many were held back since.
    warned: Mutex<Option<Instant>>,
    unwarned: AtomicU64,
}

impl Shared {
    fn stats(&self) -> &ListenerStats {
        (self.pick)(&self.metrics)
    }

    /// Logs `what`, at most once a minute; the line says how many were held back.
    fn warn(&self, what: &str) {
        let mut last = self
            .warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
            self.unwarned.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(Instant::now());
        let since = self.unwarned.swap(0, Ordering::Relaxed);
        tracing::warn!(listener = self.name, more_since_last = since, "{what}");
    }
}

/// One connection being served.
struct Connection {
    shared: Arc<Shared>,
    router: Router,
    ticket: Ticket,
    stop: watch::Receiver<bool>,
    /// Held until the connection ends: the listener waits for every one at a stop.
    done: watch::Receiver<()>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream) {
        let slot = self.ticket.slot.clone();
        let io = TokioIo::new(Tracked {
            inner: stream,
            slot: slot.clone(),
        });
        let router = self.router.clone();
        let in_request = slot.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = in_request.busy();
            let mut router = router.clone();
            async move {
                let response = router.call(request).await;
                drop(busy);
                response
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.shared.limits.header_timeout)
            .max_buf_size(64 * 1024);
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let idle = self.shared.limits.idle_timeout;
        let stats = self.shared.stats();
        loop {
            let quiet = slot.quiet_for();
            let check_in = idle.saturating_sub(quiet).max(Duration::from_millis(100));
            tokio::select! {
                result = conn.as_mut() => {
                    if result.is_err_and(|e| e.is_timeout()) {
                        stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                () = slot.evict.notified() => break,
                () = tokio::time::sleep(check_in) => {
                    if !slot.is_busy() && slot.quiet_for() >= idle {
                        stats.idle_closed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                () = stopped(&mut self.stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(GRACE, conn.as_mut()).await;
                    break;
                }
            }
        }
        drop(self.ticket);
        stats.open.fetch_sub(1, Ordering::Relaxed);
        drop(self.done);
    }
}

/// The socket, noting each byte read or written on its slot.
struct Tracked {
    inner: TcpStream,
    slot: Arc<Slot>,
}

impl Tracked {
    fn note<T>(&self, result: &Poll<io::Result<T>>, moved: bool) {
        if matches!(result, Poll::Ready(Ok(_))) && moved {
            self.slot.touch();
        }
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.note(&result, buf.filled().len() > before);
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        let moved = matches!(result, Poll::Ready(Ok(n)) if n > 0);
        this.note(&result, moved);
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        let moved = matches!(result, Poll::Ready(Ok(n)) if n > 0);
        this.note(&result, moved);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
