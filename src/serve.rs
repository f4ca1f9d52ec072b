//! A server bound to its address with its database migrated, started with
//! its background jobs.
//!
//! The accept loop and the rules every HTTP connection lives by: at most
//! `max_connections` open at once (WebSockets included, for as long as they
//! last), request headers complete within `header_read_timeout` of the
//! connection opening or of the next request's first byte, and a keep-alive
//! connection idle for `idle_timeout` is closed. Accept errors (such as
//! running out of file descriptors) back off instead of spinning.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::{Config, ConnectionLimits};
use crate::state::AppState;

/// A server bound to its address with its database migrated, ready to run.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        let db = crate::db::connect(
            &config.database_url,
            config.db_max_connections,
            config.sqlite_cache_mib,
        )
        .await?;
        crate::db::migrate(&db).await?;
        let listener = TcpListener::bind(&config.bind_addr).await?;
        let addr = listener.local_addr()?;
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{addr}"));
        }
        Ok(Self {
            listener,
            state: AppState::new(db, config)?,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        crate::jobs::spawn(&self.state).map_err(std::io::Error::other)?;
        tracing::info!("listening on http://{}", self.listener.local_addr()?);
        let limits = self.state.config.connections;
        serve(
            self.listener,
            crate::http::router(self.state),
            limits,
            shutdown,
        )
        .await
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const LAST_BACKOFF: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, all are done.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                backoff = FIRST_BACKOFF;
                accepted
            }
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "accept error");
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(LAST_BACKOFF);
                continue;
            }
        };
        // Live events are small writes that should leave at once.
        let _ = tcp.set_nodelay(true);
        let connection = Connection {
            router: router.clone(),
            peer,
            limits,
            activity: Arc::new(Activity::new()),
        };
        let closing = closing_rx.clone();
        let alive = alive_tx.clone();
        tokio::spawn(async move {
            connection.run(tcp, permit, closing).await;
            drop(alive);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
    Ok(())
}

/// Errors of one connection that say nothing about the listener.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

struct Connection {
    router: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    activity: Arc<Activity>,
}

impl Connection {
    async fn run(
        self,
        tcp: TcpStream,
        permit: OwnedSemaphorePermit,
        mut closing: watch::Receiver<bool>,
    ) {
        let io = TokioIo::new(Tracked {
            io: tcp,
            activity: self.activity.clone(),
            _permit: permit,
        });
        let (router, peer, activity) = (self.router, self.peer, self.activity.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = Busy::new(activity.clone());
            let response = router.clone().oneshot(request.map(axum::body::Body::new));
            async move {
                let response = response.await;
                drop(busy);
                response
            }
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        // The header deadline is kept here, not by hyper, so that an idle
        // keep-alive connection has its own, longer one.
        http.header_read_timeout(None);
        let connection = http.serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let mut draining = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                    return;
                }
                () = self.activity.expired(self.limits) => {
                    tracing::debug!(peer = %self.peer, "closing a connection past its deadline");
                    return;
                }
                changed = closing.changed(), if !draining => {
                    draining = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// When a connection last did something, and what it is waiting for.
struct Activity {
    origin: Instant,
    /// Milliseconds after `origin` when the current wait began.
    since: AtomicU64,
    /// Requests being answered.
    busy: AtomicUsize,
    /// Waiting for a request's headers (since accept, or since the first
    /// byte after an idle spell), not idle.
    reading_head: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            since: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            reading_head: AtomicBool::new(true),
        }
    }

    fn now(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    fn touch(&self) {
        self.since.store(self.now(), Ordering::Relaxed);
    }

    fn read_some(&self) {
        if self.busy.load(Ordering::Relaxed) == 0
            && !self.reading_head.swap(true, Ordering::Relaxed)
        {
            self.touch();
        }
    }

    fn wrote_some(&self) {
        if self.busy.load(Ordering::Relaxed) == 0 && !self.reading_head.load(Ordering::Relaxed) {
            self.touch();
        }
    }

    /// The instant the connection's current wait runs out; None while a
    /// request is being answered.
    fn deadline(&self, limits: ConnectionLimits) -> Option<Instant> {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let wait = if self.reading_head.load(Ordering::Relaxed) {
            limits.header_read_timeout
        } else {
            limits.idle_timeout
        };
        let since = Duration::from_millis(self.since.load(Ordering::Relaxed));
        Some(self.origin + since + wait)
    }

    /// Completes once the connection has waited past its deadline.
    async fn expired(&self, limits: ConnectionLimits) {
        loop {
            match self.deadline(limits) {
                Some(deadline) if deadline <= Instant::now() => return,
                // Looked at again within the header timeout: an idle
                // connection that starts a request gets the shorter deadline.
                Some(deadline) => {
                    let soon = Instant::now() + limits.header_read_timeout;
                    tokio::time::sleep_until(deadline.min(soon)).await;
                }
                None => {
                    tokio::time::sleep(limits.idle_timeout.min(limits.header_read_timeout)).await
                }
            }
        }
    }
}

/// Marks a request as being answered while it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::Relaxed);
        activity.reading_head.store(false, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that reports its traffic and holds its connection's permit
/// until it closes, after an upgrade too.
struct Tracked {
    io: TcpStream,
    activity: Arc<Activity>,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote_some();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
