//! Local webcams through Video4Linux2 (Linux): `"0"` is `/dev/video0`.
//!
//! The device is opened, asked for its formats and set to Motion-JPEG where it offers it
//! (USB webcams give their full resolution only that way), else to YUYV 4:2:2; the size asked
//! for is [`WEBCAM_SIZE`], which the driver rounds to the nearest it has. Frames arrive in
//! [`WEBCAM_BUFFERS`] memory-mapped buffers read by a capture thread of the source's own; a
//! frame is converted to RGB only when it is due at the sampling interval, and only when the
//! previous one has been taken (the rest are handed straight back to the driver). Unplugging
//! the camera, a device in use by another program, a node that captures no video (the
//! metadata node UVC cameras expose beside the video one) and formats hadir cannot read are
//! each a clear error naming the device.
//!
//! - `formats`: the pixel formats read and their conversion to RGB ([`to_rgb`],
//!   [`yuyv_to_rgb`]).
//! - `capture`: the device: opening and checking it, setting its format, the mapped buffers
//!   and the capture thread's loop.
//! - `v4l2`: the few Video4Linux2 ioctls and structs used, their layouts checked by tests.

mod capture;
mod formats;
mod v4l2;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

pub use formats::{PixelFormat, to_rgb, yuyv_to_rgb};

use super::{Frame, FrameSource, SourceError};
use capture::Capture;
use formats::fourcc_text;

/// The frame size asked of a webcam; the driver picks the nearest it offers.
pub const WEBCAM_SIZE: (u32, u32) = (1920, 1080);
/// Memory-mapped capture buffers asked of the driver.
pub const WEBCAM_BUFFERS: u32 = 4;
/// How often the capture thread looks whether the source was dropped while no frame comes.
const STOP_POLL: Duration = Duration::from_millis(200);

/// The device path a webcam stream URL names: `"0"` → `/dev/video0`, `/dev/video2` as is.
pub fn device_path(stream_url: &str) -> Option<PathBuf> {
    let text = stream_url.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return Some(PathBuf::from(format!("/dev/video{text}")));
    }
    text.starts_with("/dev/video").then(|| PathBuf::from(text))
}

/// A webcam being captured.
pub struct WebcamSource {
    frames: tokio::sync::mpsc::Receiver<Result<Frame, SourceError>>,
    stop: Arc<AtomicBool>,
    capture_thread: Option<std::thread::JoinHandle<()>>,
    frame_timeout: Duration,
    /// What the device was set to: `MJPG 1280×720`.
    pub description: String,
}

impl WebcamSource {
    /// Opens the device, sets its format and starts capturing.
    pub fn open(
        device: &Path,
        sample_interval: impl Into<super::Pace>,
        frame_timeout: Duration,
    ) -> Result<Self, SourceError> {
        let mut capture = Capture::open(device)?;
        let description = format!(
            "{} {}×{}",
            fourcc_text(capture.format.fourcc()),
            capture.width,
            capture.height
        );
        let (sender, frames) = tokio::sync::mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let sample_interval = sample_interval.into();
        let capture_thread = std::thread::Builder::new()
            .name(format!("webcam {}", device.display()))
            .spawn(move || capture.run(sample_interval, &sender, &stopped))
            .map_err(|e| SourceError::Connect(format!("cannot start a capture thread: {e}")))?;
        Ok(Self {
            frames,
            stop,
            capture_thread: Some(capture_thread),
            frame_timeout,
            description,
        })
    }
}

impl Drop for WebcamSource {
    /// Stops the capture thread and waits for it (at most `STOP_POLL` and one conversion),
    /// so that the device is closed before a reconnect opens it again.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.capture_thread.take() {
            let _ = thread.join();
        }
    }
}

#[async_trait::async_trait]
impl FrameSource for WebcamSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        match tokio::time::timeout(self.frame_timeout, self.frames.recv()).await {
            Err(_) => Err(SourceError::Timeout(self.frame_timeout)),
            Ok(None) => Err(SourceError::Ended),
            Ok(Some(frame)) => frame,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcam_urls_name_devices() {
        assert_eq!(device_path("0"), Some(PathBuf::from("/dev/video0")));
        assert_eq!(device_path(" 12 "), Some(PathBuf::from("/dev/video12")));
        assert_eq!(
            device_path("/dev/video2"),
            Some(PathBuf::from("/dev/video2"))
        );
        assert_eq!(device_path("rtsp://cam/0"), None);
        assert_eq!(device_path(""), None);
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let error = WebcamSource::open(
            Path::new("/dev/video987"),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .err()
        .expect("no such device")
        .to_string();
        assert!(error.contains("no webcam /dev/video987"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_a_device_is_a_clear_error() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let error = WebcamSource::open(file.path(), Duration::from_secs(1), Duration::from_secs(1))
            .err()
            .expect("not a V4L2 device")
            .to_string();
        assert!(error.contains("is not a Video4Linux2 device"), "{error}");
    }
}
