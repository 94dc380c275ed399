//! What the H.264 sources (RTSP cameras, recordings) share: when key frames alone are enough
//! for the sampling rate, when a stream counts as undecodable, and decoded frames to RGB.

use std::time::Duration;

use image::RgbImage;
use openh264::formats::YUVSource;

use super::SourceError;

/// Failed decodes of key frames in a row after which a stream is declared undecodable.
pub const MAX_FAILED_KEY_FRAMES: u32 = 3;

/// How much longer than the sampling interval the key-frame interval may be for key frames
/// alone to be decoded (arrival times jitter; timestamps are rounded to a timescale).
pub const KEY_FRAME_SLACK: Duration = Duration::from_millis(50);

/// Whether key frames coming every `key_frame_interval` (where known) are enough for one
/// frame every `sample_interval`.
pub fn key_frames_suffice(key_frame_interval: Option<Duration>, sample_interval: Duration) -> bool {
    key_frame_interval.is_some_and(|gop| gop <= sample_interval + KEY_FRAME_SLACK)
}

/// A decoded frame as RGB.
pub fn to_rgb(yuv: &openh264::decoder::DecodedYUV<'_>) -> Result<RgbImage, SourceError> {
    let (width, height) = yuv.dimensions();
    let mut rgb = vec![0u8; width * height * 3];
    yuv.write_rgb8(&mut rgb);
    RgbImage::from_raw(width as u32, height as u32, rgb)
        .ok_or_else(|| SourceError::Decode("a decoded frame has the wrong size".into()))
}
