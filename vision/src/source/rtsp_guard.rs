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

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use memchr::memmem;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::{
    SourceError,
    framing::{self, BadLength},
    h264,
};

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

/// Where the checker is in the camera's byte stream.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Between messages.
    Idle,
    /// After a `$`: `have` of the three header bytes (channel, length).
    FrameHeader { have: usize, header: [u8; 3] },
    /// Interleaved data: `left` of `len` bytes to pass on `channel`.
    FramePayload { channel: u8, len: u16, left: u16 },
    /// A message head being gathered (in the head buffer).
    Head,
    /// A message body: `left` bytes to pass.
    Body { left: u64 },
}

/// The RTP packets of one timestamp so far, on one channel.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    timestamp: u32,
    bytes: usize,
    open: bool,
}

const BLANK_LINE: &[u8] = b"\r\n\r\n";
const RTP_HEADER: usize = 12;

/// Checks what a camera sends over an RTSP connection, as it passes, in chunks of any size.
pub struct ResponseChecker {
    state: State,
    head: Vec<u8>,
    /// The first bytes of the interleaved packet passing (its RTP header).
    rtp: [u8; RTP_HEADER],
    runs: Box<[Run; 256]>,
}

impl Default for ResponseChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseChecker {
    pub fn new() -> Self {
        Self {
            state: State::Idle,
            head: Vec::new(),
            rtp: [0; RTP_HEADER],
            runs: Box::new([Run::default(); 256]),
        }
    }

    /// Checks the next bytes; after an error the connection is to be closed.
    pub fn check(&mut self, bytes: &[u8]) -> Result<(), Violation> {
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::Idle => {
                    let b = bytes[i];
                    if b == b'\r' || b == b'\n' {
                        i += 1;
                    } else if b == b'$' {
                        self.state = State::FrameHeader {
                            have: 0,
                            header: [0; 3],
                        };
                        i += 1;
                    } else if b.is_ascii_alphabetic() {
                        self.head.clear();
                        self.state = State::Head;
                    } else {
                        return Err(Violation::Garbage(format!("the byte 0x{b:02x}")));
                    }
                }
                State::FrameHeader {
                    mut have,
                    mut header,
                } => {
                    let n = (3 - have).min(bytes.len() - i);
                    header[have..have + n].copy_from_slice(&bytes[i..i + n]);
                    have += n;
                    i += n;
                    self.state = if have == 3 {
                        let len = u16::from_be_bytes([header[1], header[2]]);
                        if len == 0 {
                            State::Idle
                        } else {
                            State::FramePayload {
                                channel: header[0],
                                len,
                                left: len,
                            }
                        }
                    } else {
                        State::FrameHeader { have, header }
                    };
                }
                State::FramePayload { channel, len, left } => {
                    let n = usize::from(left).min(bytes.len() - i);
                    let seen = usize::from(len - left);
                    if seen < RTP_HEADER {
                        let copy = (RTP_HEADER - seen).min(n);
                        self.rtp[seen..seen + copy].copy_from_slice(&bytes[i..i + copy]);
                    }
                    i += n;
                    // `n` ≤ `left` ≤ u16::MAX.
                    let left = left - n as u16;
                    if left == 0 {
                        self.state = State::Idle;
                        self.count_packet(channel, len)?;
                    } else {
                        self.state = State::FramePayload { channel, len, left };
                    }
                }
                State::Head => {
                    let rest = &bytes[i..];
                    match self.head_end(rest) {
                        Some(end) => {
                            if self.head.len() + end > MAX_HEAD_BYTES {
                                return Err(Violation::HeadTooLarge);
                            }
                            self.head.extend_from_slice(&rest[..end]);
                            i += end;
                            let body = check_head(&self.head)?;
                            self.state = if body == 0 {
                                State::Idle
                            } else {
                                State::Body { left: body }
                            };
                        }
                        None => {
                            if self.head.len() + rest.len() > MAX_HEAD_BYTES {
                                return Err(Violation::HeadTooLarge);
                            }
                            self.head.extend_from_slice(rest);
                            i = bytes.len();
                        }
                    }
                }
                State::Body { left } => {
                    let n = (bytes.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    i += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::Idle
                    } else {
                        State::Body { left }
                    };
                }
            }
        }
        Ok(())
    }

    /// Where in `rest` the head gathered so far ends (just after its blank line), if it does.
    fn head_end(&self, rest: &[u8]) -> Option<usize> {
        // The blank line may straddle the bytes gathered and these.
        let kept = self.head.len().min(BLANK_LINE.len() - 1);
        if kept > 0 {
            let mut joint = [0u8; 6];
            let from_rest = rest.len().min(BLANK_LINE.len() - 1);
            joint[..kept].copy_from_slice(&self.head[self.head.len() - kept..]);
            joint[kept..kept + from_rest].copy_from_slice(&rest[..from_rest]);
            if let Some(at) = memmem::find(&joint[..kept + from_rest], BLANK_LINE)
                && at < kept
            {
                return Some(at + BLANK_LINE.len() - kept);
            }
        }
        // No need to look further than the cap allows.
        let window = rest
            .len()
            .min(MAX_HEAD_BYTES.saturating_sub(self.head.len()));
        memmem::find(&rest[..window], BLANK_LINE).map(|at| at + BLANK_LINE.len())
    }

    /// Counts a whole interleaved packet of `len` bytes on `channel` (even channels carry RTP).
    fn count_packet(&mut self, channel: u8, len: u16) -> Result<(), Violation> {
        if !channel.is_multiple_of(2) || usize::from(len) < RTP_HEADER || self.rtp[0] >> 6 != 2 {
            return Ok(());
        }
        let timestamp = u32::from_be_bytes([self.rtp[4], self.rtp[5], self.rtp[6], self.rtp[7]]);
        let marker = self.rtp[1] & 0x80 != 0;
        let run = &mut self.runs[usize::from(channel)];
        if run.open && run.timestamp == timestamp {
            run.bytes += usize::from(len);
        } else {
            *run = Run {
                timestamp,
                bytes: usize::from(len),
                open: true,
            };
        }
        if run.bytes > MAX_FRAME_BYTES {
            return Err(Violation::FrameTooLarge);
        }
        if marker {
            run.open = false;
        }
        Ok(())
    }
}

/// Checks a whole message head; returns the length of its body.
fn check_head(head: &[u8]) -> Result<u64, Violation> {
    let (first_line, headers) = match memchr::memchr(b'\n', head) {
        Some(at) => (&head[..at], &head[at + 1..]),
        None => (head, &[][..]),
    };
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let is_response = first_line.starts_with(b"RTSP/");
    let is_request = memmem::find(first_line, b" RTSP/").is_some();
    if !(is_response || is_request) {
        let shown: String = String::from_utf8_lossy(first_line)
            .chars()
            .take(40)
            .flat_map(char::escape_default)
            .collect();
        return Err(Violation::Garbage(format!("{shown:?}")));
    }
    let length = framing::content_length(headers)
        .map_err(|bad| {
            Violation::BadLength(match bad {
                BadLength::NotALength(shown) => format!("{shown:?}"),
                BadLength::TwoValues => "two different values".into(),
            })
        })?
        .unwrap_or(0);
    if length > MAX_BODY_BYTES as u64 {
        return Err(Violation::BodyTooLarge(length));
    }
    Ok(length)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check_in_chunks(bytes: &[u8], chunk: usize) -> Result<(), Violation> {
        let mut checker = ResponseChecker::new();
        for piece in bytes.chunks(chunk) {
            checker.check(piece)?;
        }
        Ok(())
    }

    fn rtp(channel: u8, timestamp: u32, marker: bool, payload: usize) -> Vec<u8> {
        let len = (RTP_HEADER + payload) as u16;
        let mut packet = vec![b'$', channel];
        packet.extend_from_slice(&len.to_be_bytes());
        packet.extend_from_slice(&[0x80, if marker { 0xE0 } else { 0x60 }, 0, 1]);
        packet.extend_from_slice(&timestamp.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 1]);
        packet.resize(packet.len() + payload, 0xAB);
        packet
    }

    #[test]
    fn responses_requests_and_interleaved_data_pass_in_any_chunking() {
        let mut stream = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nv=0\r\n".to_vec();
        stream.extend(rtp(0, 90_000, false, 1000));
        stream.extend(rtp(0, 90_000, true, 10));
        stream.extend(b"\r\n$\x01\x00\x04abcd");
        stream.extend(b"GET_PARAMETER rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 7\r\n\r\n");
        stream.extend(b"RTSP/1.0 200 OK\r\ncontent-length:0\r\n\r\n");
        for chunk in [1, 2, 3, 4, 7, 100, 10_000] {
            assert_eq!(check_in_chunks(&stream, chunk), Ok(()), "chunks of {chunk}");
        }
    }

    #[test]
    fn oversized_and_malformed_messages_are_refused() {
        let huge = b"RTSP/1.0 200 OK\r\nContent-Length: 2000000000\r\n\r\n";
        assert_eq!(
            check_in_chunks(huge, 5),
            Err(Violation::BodyTooLarge(2_000_000_000))
        );
        let mut endless = b"RTSP/1.0 200 OK\r\n".to_vec();
        while endless.len() <= MAX_HEAD_BYTES {
            endless.extend(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        for chunk in [1, 1000, 100_000] {
            assert_eq!(
                check_in_chunks(&endless, chunk),
                Err(Violation::HeadTooLarge),
                "chunks of {chunk}"
            );
        }
        for bad in ["-1", "12x", "", "99999999999999999999999"] {
            let head = format!("RTSP/1.0 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(
                matches!(
                    check_in_chunks(head.as_bytes(), 3),
                    Err(Violation::BadLength(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            check_in_chunks(b"\x00\x01garbage", 10),
            Err(Violation::Garbage(_))
        ));
        assert!(matches!(
            check_in_chunks(b"HTTP/1.1 200 OK\r\n\r\n", 10),
            Err(Violation::Garbage(_))
        ));
    }

    #[test]
    fn a_frame_of_endless_rtp_packets_is_refused() {
        let mut checker = ResponseChecker::new();
        let packet = rtp(0, 1234, false, 60_000);
        let mut sent = 0;
        let result = loop {
            if let Err(violation) = checker.check(&packet) {
                break violation;
            }
            sent += packet.len();
            assert!(sent <= MAX_FRAME_BYTES, "refused by the cap");
        };
        assert_eq!(result, Violation::FrameTooLarge);
        // The same packets with a marker (a frame each) pass for ever.
        let mut checker = ResponseChecker::new();
        let packet = rtp(0, 1234, true, 60_000);
        for _ in 0..(2 * MAX_FRAME_BYTES / 60_000) {
            assert_eq!(checker.check(&packet), Ok(()));
        }
    }
}
