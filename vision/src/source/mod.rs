//! Where frames come from: one small trait, [`FrameSource`], and its implementations.
//!
//! - [`http`]: HTTP cameras: MJPEG streams (`multipart/x-mixed-replace`) and JPEG snapshot
//!   URLs (polled).
//! - [`file`](mod@file): folders of images, single images and video recordings as cameras (tests,
//!   replays).
//! - [`recording`]: MP4/MOV and raw H.264 recordings, decoded and sampled for [`file`](mod@file).
//! - [`h264`]: what the H.264 sources share (key frames only or not, undecodable streams, RGB).
//! - [`decoders`]: H.264 decoding on the blocking pool, and the one pool of decoders every
//!   stream decoded from its key frames shares (a decoder is ~32 MB at 1080p).
//! - [`mjpeg`]: the multipart parser the MJPEG source reads with.
//! - [`pace`]: a camera's sampling interval, which its reader may change while it runs.
//! - [`webcam`]: local webcams through Video4Linux2 (Linux).
//! - [`rtsp`]: RTSP cameras: `retina` for the stream, `openh264` for H.264, key frames only
//!   where that is enough.
//! - [`probe`]: what a camera's stream is (codec, profile, size, frame rate, key-frame
//!   interval) and how far reading it gets, time-bound (`hadir doctor`).
//!
//! - [`rtsp_guard`]: the relay between `retina` and an RTSP camera that caps what the camera
//!   may send (retina's own parser buffers messages of any size).
//!
//! A source delivers decoded RGB frames; sampling, reconnection and health are the caller's
//! (hadir's camera tasks). Tests and replays feed files through the same trait.
//!
//! # Hostile cameras
//! Every byte from a camera is hostile until checked. Every read has a size cap and a
//! timeout ([`SourceOptions`]: connecting, then each frame; the caps are named constants of the
//! modules: [`mjpeg::MAX_PART_BYTES`], [`http::MAX_SNAPSHOT_BYTES`],
//! [`rtsp_guard::MAX_HEAD_BYTES`], [`rtsp_guard::MAX_BODY_BYTES`],
//! [`h264::MAX_ACCESS_UNIT_BYTES`], [`file::MAX_IMAGE_FILE_BYTES`]); every frame's size is
//! checked where it enters ([`crate::bounds::check_frame_size`]) and images are decoded only
//! through [`crate::bounds::decode_image`]. What is refused is a [`SourceError`] that says
//! what the camera sent and what the limit is: hadir shows it as the camera's status.

pub mod decoders;
pub mod file;
mod framing;
pub mod h264;
pub mod http;
pub mod mjpeg;
pub mod pace;
pub mod probe;
pub mod recording;
pub mod rtsp;
pub mod rtsp_guard;
#[cfg(target_os = "linux")]
pub mod webcam;

use std::time::{Duration, SystemTime};

use image::RgbImage;

pub use pace::Pace;

use crate::bounds::{self, FrameSizeError};

/// A decoded frame and when it was captured (received, where the camera gives no time).
#[derive(Clone, Debug)]
pub struct Frame {
    pub image: RgbImage,
    pub captured_at: SystemTime,
}

/// Why a source cannot deliver.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The camera cannot be reached or refused the connection.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The camera refused the credentials of its URL, or asks for some and the URL has none
    /// (RTSP or HTTP 401); says which.
    #[error("{0}")]
    Unauthorized(String),
    /// The camera answered with something this source cannot read.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// A frame could not be decoded.
    #[error("cannot decode a frame: {0}")]
    Decode(String),
    /// Nothing arrived within the timeout.
    #[error("no frame for {0:?}")]
    Timeout(Duration),
    /// The stream ended.
    #[error("the stream ended")]
    Ended,
    /// This kind of source is not available here.
    #[error("{0}")]
    Unsupported(String),
    /// The camera delivered a frame of a size or shape hadir refuses (see
    /// [`crate::bounds::check_frame_size`]).
    #[error("the camera sent a frame hadir refuses: {0}")]
    FrameSize(#[from] FrameSizeError),
    /// The camera sent more than a cap allows (an image, a part, a message head or body):
    /// says what, how much, and the cap.
    #[error("the camera sent too much: {0}")]
    TooLarge(String),
}

impl From<bounds::ImageError> for SourceError {
    fn from(error: bounds::ImageError) -> Self {
        match error {
            bounds::ImageError::Size(size) => Self::FrameSize(size),
            bounds::ImageError::Decode(_) => Self::Decode(error.to_string()),
        }
    }
}

/// Checks a decoded frame's size ([`crate::bounds::check_frame_size`]).
pub fn check_frame(image: &RgbImage) -> Result<(), SourceError> {
    bounds::check_frame_size(image.width(), image.height()).map_err(SourceError::FrameSize)
}

/// A frame received now from untrusted JPEG/PNG bytes ([`crate::bounds::decode_image`]).
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, SourceError> {
    Ok(Frame {
        image: bounds::decode_image(bytes)?,
        captured_at: SystemTime::now(),
    })
}

/// Something that delivers frames, one after another.
#[async_trait::async_trait]
pub trait FrameSource: Send {
    /// The next frame; after an error the caller reconnects by opening a new source.
    async fn next_frame(&mut self) -> Result<Frame, SourceError>;
}

/// How long a source waits for a frame before it gives up.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connecting to a camera may take (TCP, and TLS where there is one).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many HTTP redirects a camera URL may go through: none. A camera that answers with a
/// redirect is an error that names where it points, unless configured otherwise.
pub const DEFAULT_MAX_REDIRECTS: usize = 0;

/// How sources talk to cameras. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// HTTP cameras: how many redirects are followed ([`DEFAULT_MAX_REDIRECTS`]); with 0 a
    /// redirect is an error.
    pub max_redirects: usize,
    /// Connecting to a camera ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
    /// Waiting for anything from a camera once connected: the answer to a request, each
    /// chunk of a stream, and each whole frame ([`DEFAULT_FRAME_TIMEOUT`]).
    pub frame_timeout: Duration,
    /// H.264 streams decoded from their key frames only: the decoders they share (by
    /// default the process's, [`decoders::KeyFrameDecoders::shared`]).
    pub key_frame_decoders: std::sync::Arc<decoders::KeyFrameDecoders>,
}

/// Equal when they read cameras the same way: the same limits and the same decoders.
impl PartialEq for SourceOptions {
    fn eq(&self, other: &Self) -> bool {
        self.max_redirects == other.max_redirects
            && self.connect_timeout == other.connect_timeout
            && self.frame_timeout == other.frame_timeout
            && std::sync::Arc::ptr_eq(&self.key_frame_decoders, &other.key_frame_decoders)
    }
}

impl Eq for SourceOptions {}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            max_redirects: DEFAULT_MAX_REDIRECTS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            key_frame_decoders: decoders::KeyFrameDecoders::shared(),
        }
    }
}

/// Decodes `%XX` escapes (user names and passwords in URLs); anything else is kept as it is
/// (a `+` stays a `+`).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a stream URL names a network camera (RTSP, HTTP), which any machine can read;
/// anything else (a webcam, a file) can be read only where its device or file is.
pub fn is_network(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["http://", "https://", "rtsp://", "rtsps://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// Opens the source a camera's stream URL names, sampled at `pace` (an interval, or a
/// [`Pace`] the caller keeps to change it while the source runs).
pub async fn open(
    url: &str,
    pace: impl Into<Pace>,
    options: &SourceOptions,
) -> Result<Box<dyn FrameSource>, SourceError> {
    let sample_interval = pace.into();
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Box::new(
            http::HttpSource::connect(url.trim(), sample_interval, options).await?,
        ));
    }
    if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") {
        return Ok(Box::new(
            rtsp::RtspSource::connect(url.trim(), sample_interval, options).await?,
        ));
    }
    if lower.starts_with("file://") {
        return Ok(Box::new(file::FileSource::open(
            url.trim(),
            sample_interval,
        )?));
    }
    if lower.chars().all(|c| c.is_ascii_digit()) || lower.starts_with("/dev/video") {
        return open_webcam(url.trim(), sample_interval, options);
    }
    Err(SourceError::Unsupported(format!(
        "{url:?} names no source hadir can read"
    )))
}

#[cfg(target_os = "linux")]
fn open_webcam(
    url: &str,
    sample_interval: Pace,
    options: &SourceOptions,
) -> Result<Box<dyn FrameSource>, SourceError> {
    let device = webcam::device_path(url)
        .ok_or_else(|| SourceError::Connect(format!("{url:?} names no webcam")))?;
    Ok(Box::new(webcam::WebcamSource::open(
        &device,
        sample_interval,
        options.frame_timeout,
    )?))
}

#[cfg(not(target_os = "linux"))]
fn open_webcam(
    url: &str,
    _sample_interval: Pace,
    _options: &SourceOptions,
) -> Result<Box<dyn FrameSource>, SourceError> {
    Err(SourceError::Unsupported(format!(
        "webcam {url:?}: hadir reads local webcams through Video4Linux2, on Linux only"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_cameras_are_told_from_local_ones() {
        assert!(is_network("rtsp://cam/stream"));
        assert!(is_network(" HTTP://cam/x.mjpg"));
        assert!(is_network("rtsps://cam"));
        assert!(!is_network("0"));
        assert!(!is_network("/dev/video2"));
        assert!(!is_network("file:///videos/door.mp4"));
    }

    #[test]
    fn credentials_are_percent_decoded() {
        assert_eq!(percent_decode("admin"), "admin");
        assert_eq!(percent_decode("p%40ss%3Aword"), "p@ss:word");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("%aé%"), "%aé%", "no escape, no panic");
    }
}
