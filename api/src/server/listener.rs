//! The listening socket, in front of the router: at most `max_connections` connections at
//! once (one more is answered `503` and closed at once), a connection that sends no request
//! head within `header_read_timeout` is closed (half-sent headers, and idle keep-alive
//! connections between requests), and TLS when a certificate is configured (its files are
//! re-read when they change, without a restart). HTTP/1.1, with WebSocket upgrades.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    pin::Pin,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

/// How long a refused connection is given to read its `503`.
pub const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Refusals being written at once; beyond that, a refused connection is closed unanswered.
pub const MAX_PENDING_REFUSALS: usize = 256;
/// How often the TLS certificate and key files are checked for changes.
pub const TLS_RELOAD_INTERVAL: Duration = Duration::from_secs(10);
/// How long open connections get to finish when the server stops.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The most a request head (request line and headers) may hold.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Connections the kernel may hold, handshaken, until they are accepted. When a crowd of
/// clients connects at once (every dashboard reconnecting after a restart) a full queue
/// makes the kernel drop their SYNs, and each dropped client waits for its retransmission
/// (1 s, then 3 s, 7 s, 15 s after its first try). Linux caps this at `net.core.somaxconn`
/// (4096 by default since 5.4): raise that for more.
pub const LISTEN_BACKLOG: u32 = 16_384;

/// How the listener treats connections.
#[derive(Clone, Debug)]
pub struct ListenSettings {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Connections counted for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionCounters {
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub tls_failures: AtomicU64,
}

/// The TLS configuration in use, replaced when the files change.
pub struct TlsState {
    files: TlsFiles,
    current: RwLock<(
        Option<SystemTime>,
        Option<SystemTime>,
        Arc<rustls::ServerConfig>,
    )>,
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl TlsState {
    /// Reads the certificate and key; an error names the file at fault.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, String> {
        let (cert_time, key_time) = (modified(&files.cert), modified(&files.key));
        let config = server_config(&files)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new((cert_time, key_time, config)),
        }))
    }

    fn config(&self) -> Arc<rustls::ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .2
            .clone()
    }

    /// Re-reads the files when they changed; a broken new pair is logged and the old kept.
    pub fn reload_if_changed(&self) {
        let (cert_time, key_time) = (modified(&self.files.cert), modified(&self.files.key));
        {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            if current.0 == cert_time && current.1 == key_time {
                return;
            }
        }
        match server_config(&self.files) {
            Ok(config) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) =
                    (cert_time, key_time, config);
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
            }
            Err(error) => {
                // Remember the times, so the same broken files are not retried every tick.
                let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
                current.0 = cert_time;
                current.1 = key_time;
                tracing::error!(%error, "the new TLS certificate cannot be used; keeping the previous one");
            }
        }
    }
}

fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let cert_pem = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            files.cert.display()
        ));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("{}: not a PEM private key: {e}", files.key.display()))?
        .ok_or_else(|| format!("{} holds no PEM private key", files.key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        format!(
            "{} and {} do not make a usable certificate and key: {e}",
            files.cert.display(),
            files.key.display()
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The listening socket on `addr`, with a backlog of [`LISTEN_BACKLOG`] (tokio's `bind`
/// uses 1,024) and `SO_REUSEADDR`, so a restarted server listens again on its port at once.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` until `shutdown` completes, then gives open connections
/// [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ListenSettings,
    tls: Option<Arc<TlsState>>,
    counters: Arc<ConnectionCounters>,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_PENDING_REFUSALS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (in_flight_tx, mut in_flight_rx) = tokio::sync::mpsc::channel::<()>(1);
    let reload = tls.clone().map(|tls| {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(TLS_RELOAD_INTERVAL);
            loop {
                ticker.tick().await;
                let tls = tls.clone();
                let _ = tokio::task::spawn_blocking(move || tls.reload_if_changed()).await;
            }
        })
    });
    let mut last_accept_error: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors, most often: wait a little instead of spinning.
                if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!(%error, "cannot accept a connection");
                    last_accept_error = Some(std::time::Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            if let Ok(slot) = refusals.clone().try_acquire_owned() {
                let limit = settings.max_connections;
                tokio::spawn(async move {
                    refuse(stream, limit).await;
                    drop(slot);
                });
            }
            continue;
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        counters.open.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        // The permit goes with the socket: an upgraded WebSocket keeps it until it closes.
        let stream = Counted {
            inner: stream,
            _permit: permit,
            counters: counters.clone(),
        };
        let router = router.clone();
        let tls = tls.clone();
        let counters = counters.clone();
        let mut stop = stop_rx.clone();
        let in_flight = in_flight_tx.clone();
        let header_timeout = settings.header_read_timeout;
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, peer, router, header_timeout, &mut stop).await,
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, peer, router, header_timeout, &mut stop).await
                        }
                        Ok(Err(error)) => {
                            counters.tls_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                        }
                        Err(_) => {
                            counters.tls_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                }
            }
            drop(in_flight);
        });
    }
    drop(listener);
    if let Some(task) = reload {
        task.abort();
    }
    let _ = stop_tx.send(true);
    // Each connection's task holds a sender: when all are gone, every HTTP exchange has
    // ended (upgraded WebSockets live on their own and end with the process).
    drop(in_flight_tx);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, in_flight_rx.recv()).await;
}

/// A connection's socket, holding its place under `max_connections` until it closes.
struct Counted<S> {
    inner: S,
    _permit: tokio::sync::OwnedSemaphorePermit,
    counters: Arc<ConnectionCounters>,
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Tells a connection over the limit why it is closed.
async fn refuse(mut stream: TcpStream, limit: usize) {
    let body = format!(
        "hadir is serving its limit of {limit} connections (max_connections); try again shortly\n"
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// One connection, until the client closes it, it times out, or the server stops.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router
                .oneshot(request.map(axum::body::Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES.max(8192));
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        }
        () = async {
            // The borrow `wait_for` returns is not kept across the await below.
            let _ = stop.wait_for(|stopping| *stopping).await;
        } => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
        }
    }
}
