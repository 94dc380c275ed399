//! Where frames come from: one small trait, [`FrameSource`], and its implementations.
//!
//! - [`http`]: HTTP cameras: MJPEG streams (`multipart/x-mixed-replace`) and JPEG snapshot
//!   URLs (polled).
//! - [`file`]: folders of images, single images and video recordings as cameras (tests,
//!   replays).
//! - [`recording`]: MP4/MOV and raw H.264 recordings, decoded and sampled for [`file`].
//! - [`h264`]: what the H.264 sources share (key frames only or not, undecodable streams, RGB).
//! - [`mjpeg`]: the multipart parser the MJPEG source reads with.
//! - [`webcam`]: local webcams through Video4Linux2 (Linux).
//! - [`rtsp`]: RTSP cameras: `retina` for the stream, `openh264` for H.264, key frames only
//!   where that is enough.
//!
//! A source delivers decoded RGB frames; sampling, reconnection and health are the caller's
//! (hadir's camera tasks). Tests and replays feed files through the same trait.

pub mod file;
pub mod h264;
pub mod http;
pub mod mjpeg;
pub mod recording;
pub mod rtsp;
#[cfg(target_os = "linux")]
pub mod webcam;

use std::time::{Duration, SystemTime};

use image::RgbImage;

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
}

/// Something that delivers frames, one after another.
#[async_trait::async_trait]
pub trait FrameSource: Send {
    /// The next frame; after an error the caller reconnects by opening a new source.
    async fn next_frame(&mut self) -> Result<Frame, SourceError>;
}

/// How long a source waits for a frame before it gives up.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Opens the source a camera's stream URL names.
pub async fn open(
    url: &str,
    sample_interval: Duration,
) -> Result<Box<dyn FrameSource>, SourceError> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Box::new(
            http::HttpSource::connect(url.trim(), sample_interval, DEFAULT_FRAME_TIMEOUT).await?,
        ));
    }
    if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") {
        return Ok(Box::new(
            rtsp::RtspSource::connect(url.trim(), sample_interval, DEFAULT_FRAME_TIMEOUT).await?,
        ));
    }
    if lower.starts_with("file://") {
        return Ok(Box::new(file::FileSource::open(
            url.trim(),
            sample_interval,
        )?));
    }
    if lower.chars().all(|c| c.is_ascii_digit()) || lower.starts_with("/dev/video") {
        return open_webcam(url.trim(), sample_interval);
    }
    Err(SourceError::Unsupported(format!(
        "{url:?} names no source hadir can read"
    )))
}

#[cfg(target_os = "linux")]
fn open_webcam(url: &str, sample_interval: Duration) -> Result<Box<dyn FrameSource>, SourceError> {
    let device = webcam::device_path(url)
        .ok_or_else(|| SourceError::Connect(format!("{url:?} names no webcam")))?;
    Ok(Box::new(webcam::WebcamSource::open(
        &device,
        sample_interval,
        DEFAULT_FRAME_TIMEOUT,
    )?))
}

#[cfg(not(target_os = "linux"))]
fn open_webcam(url: &str, _sample_interval: Duration) -> Result<Box<dyn FrameSource>, SourceError> {
    Err(SourceError::Unsupported(format!(
        "webcam {url:?}: hadir reads local webcams through Video4Linux2, on Linux only"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_percent_decoded() {
        assert_eq!(percent_decode("admin"), "admin");
        assert_eq!(percent_decode("p%40ss%3Aword"), "p@ss:word");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("%aé%"), "%aé%", "no escape, no panic");
    }
}
