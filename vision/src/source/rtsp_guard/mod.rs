//! The RTSP guard: a relay on 127.0.0.1 between `retina` and an RTSP camera that caps what
//! the camera may send.
//!
//! `retina` (0.4.21) reads RTSP messages with a parser that has no size limit: a camera
//! answering DESCRIBE with `Content-Length: 2000000000`, or with 400 MB of header lines, is
//! buffered whole (its header bytes are only counted at the end of the head). It also
//! gathers the RTP packets of one video frame with no cap. And it takes no TCP stream of
//! ours. So each connection attempt goes through a relay of its own:
//!
//! 1. [`RtspGuard::start`] connects to the camera (within the connect timeout: a camera that
//!    cannot be reached is reported as such, before retina is involved), binds
//!    `127.0.0.1:0`, and gives retina [`RtspGuard::relay_url`]: the camera's path and query on
//!    the relay's address (credentials are passed to retina apart, as before).
//! 2. It accepts exactly one connection (within the connect timeout), then copies
//!    retina → camera as it is, and camera → retina through a [`ResponseChecker`] that follows
//!    the framing: interleaved data (`$`, channel, 16-bit length: bounded by its framing) passes,
//!    with the RTP packets of one timestamp on one channel counted up to [`MAX_FRAME_BYTES`];
//!    RTSP messages (a status or request line and headers up to the blank line) pass with a
//!    head of at most [`MAX_HEAD_BYTES`] and a `Content-Length` of at most [`MAX_BODY_BYTES`].
//! 3. Anything else (a head over the cap, a `Content-Length` over the cap or malformed, bytes
//!    that start neither a message nor interleaved data) closes both sides, and the reason is
//!    kept ([`RtspGuard::violation`]): the RTSP source reports it instead of retina's vague
//!    "connection closed".
//!
//! The copies are cheap: one read buffer of [`RELAY_BUFFER_BYTES`] per direction, reused, no
//! allocation per byte or per packet; a message head is copied once into a buffer capped at
//! [`MAX_HEAD_BYTES`].
//!
//! Consequences to know: the DESCRIBE request-URI names the loopback relay
//! (`rtsp://127.0.0.1:PORT/path?query`), not the camera's host. Cameras match requests on the
//! path (and answer with a `Content-Base` naming themselves, which retina then uses for SETUP),
//! so this works with the cameras and servers tried, including GStreamer's. A server that
//! insists on its own host name in the request-URI would refuse it. Any local process could
//! connect to the relay's port before retina does (the relay takes the first connection only);
//! it would get the camera's stream that hadir was about to get, no more.
//!
//! The checker that follows the framing is in `checker` ([`ResponseChecker`]); this file holds
//! the caps, the [`Violation`]s and the relay.

mod checker;

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

pub use checker::ResponseChecker;

use super::{SourceError, h264};

/// Largest RTSP message head (status or request line and headers) a camera may send.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Largest RTSP message body (an SDP is a few KB) a camera may announce.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Largest sum of the RTP packets of one timestamp on one channel (one video frame, which
/// retina gathers whole before handing it on).
pub const MAX_FRAME_BYTES: usize = h264::MAX_ACCESS_UNIT_BYTES;

/// The relay's read buffer, one per direction.
pub const RELAY_BUFFER_BYTES: usize = 64 * 1024;

/// The port RTSP cameras listen on when the URL names none.
pub const DEFAULT_RTSP_PORT: u16 = 554;

/// What a camera sent that the guard refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A message head over [`MAX_HEAD_BYTES`] without its blank line.
    #[error("an RTSP message head runs over {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    /// A `Content-Length` over [`MAX_BODY_BYTES`].
    #[error("an RTSP message says Content-Length {0}; hadir accepts at most {MAX_BODY_BYTES}")]
    BodyTooLarge(u64),
    /// A `Content-Length` that is not a length, or two that differ.
    #[error("an RTSP message has a malformed Content-Length ({0})")]
    BadLength(String),
    /// Bytes that start neither an RTSP message nor interleaved data.
    #[error("the camera sent {0} where an RTSP message or interleaved data should start")]
    Garbage(String),
    /// The RTP packets of one timestamp run over [`MAX_FRAME_BYTES`].
    #[error("one video frame (RTP packets of one timestamp) runs over {MAX_FRAME_BYTES} bytes")]
    FrameTooLarge,
}

impl From<Violation> for SourceError {
    fn from(violation: Violation) -> Self {
        let text = format!("the RTSP guard closed the connection: {violation}");
        match violation {
            Violation::HeadTooLarge | Violation::BodyTooLarge(_) | Violation::FrameTooLarge => {
                SourceError::TooLarge(text)
            }
            Violation::BadLength(_) | Violation::Garbage(_) => SourceError::Protocol(text),
        }
    }
}

/// A relay for one connection attempt to an RTSP camera.
pub struct RtspGuard {
    relay_url: url::Url,
    violation: Arc<Mutex<Option<Violation>>>,
}

impl RtspGuard {
    /// Connects to the camera `camera` names (its credentials, if any, are ignored here) within
    /// `connect_timeout`, and starts the relay.
    pub async fn start(camera: &url::Url, connect_timeout: Duration) -> Result<Self, SourceError> {
        let port = camera.port().unwrap_or(DEFAULT_RTSP_PORT);
        let connecting = async {
            match camera.host() {
                Some(url::Host::Domain(name)) => TcpStream::connect((name, port)).await,
                Some(url::Host::Ipv4(ip)) => TcpStream::connect(SocketAddr::from((ip, port))).await,
                Some(url::Host::Ipv6(ip)) => TcpStream::connect(SocketAddr::from((ip, port))).await,
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the URL names no host",
                )),
            }
        };
        let shown = format!("{}:{port}", camera.host_str().unwrap_or_default());
        let camera_stream = tokio::time::timeout(connect_timeout, connecting)
            .await
            .map_err(|_| {
                SourceError::Connect(format!("{shown}: no connection within {connect_timeout:?}"))
            })?
            .map_err(|e| SourceError::Connect(format!("{shown}: {e}")))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| SourceError::Connect(format!("cannot start the RTSP guard: {e}")))?;
        let relay_port = listener
            .local_addr()
            .map_err(|e| SourceError::Connect(format!("cannot start the RTSP guard: {e}")))?
            .port();
        let mut relay_url = url::Url::parse(&format!("rtsp://127.0.0.1:{relay_port}/"))
            .map_err(|e| SourceError::Connect(format!("cannot start the RTSP guard: {e}")))?;
        relay_url.set_path(camera.path());
        relay_url.set_query(camera.query());
        let violation: Arc<Mutex<Option<Violation>>> = Arc::default();
        let slot = violation.clone();
        tokio::spawn(async move {
            let accepted = tokio::time::timeout(connect_timeout, listener.accept()).await;
            drop(listener);
            let Ok(Ok((client, _))) = accepted else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = camera_stream.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (camera_read, camera_write) = camera_stream.into_split();
            // Whichever side ends first ends both (the halves are dropped: both sockets close).
            tokio::select! {
                _ = copy_up(client_read, camera_write) => {}
                _ = relay_down(camera_read, client_write, &slot) => {}
            }
        });
        Ok(Self {
            relay_url,
            violation,
        })
    }

    /// The URL to hand retina: the camera's path and query on the relay.
    pub fn relay_url(&self) -> &url::Url {
        &self.relay_url
    }

    /// Why the relay closed the connection, if it did.
    pub fn violation(&self) -> Option<Violation> {
        self.violation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// retina → camera, as it is.
async fn copy_up(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) {
    let mut buffer = vec![0u8; RELAY_BUFFER_BYTES];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// camera → retina, through the checker; a violation is recorded in `slot` before both sides
/// close.
async fn relay_down(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    slot: &Mutex<Option<Violation>>,
) {
    let mut checker = ResponseChecker::new();
    let mut buffer = vec![0u8; RELAY_BUFFER_BYTES];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Err(violation) = checker.check(&buffer[..n]) {
            tracing::debug!("RTSP guard: {violation}");
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(violation);
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
