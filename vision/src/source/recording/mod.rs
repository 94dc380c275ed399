//! Video recordings played as cameras: raw H.264 (Annex B) and MP4/MOV files with an H.264
//! track, decoded by openh264 and sampled as a live camera would be.
//!
//! Raw H.264 carries no timestamps: its frame rate is taken to be [`H264_FILE_FPS`] and every
//! frame is decoded. An MP4 has them, and its sync-sample table says where key frames are: when
//! key frames come at least as often as frames are sampled, only key frames are decoded (the
//! others are skipped unread, as the RTSP source does); otherwise every frame is decoded and
//! only the sampled ones are converted to RGB. Tracks openh264 cannot decode (H.265, VP9,
//! B-frames) are refused when the file is opened, with the ffmpeg command that converts them.
//!
//! A recording is no more trusted than a camera: a raw file is read in chunks of
//! [`READ_CHUNK_BYTES`] and split as it is read (never loaded whole), NAL units and MP4
//! samples over [`super::h264::MAX_ACCESS_UNIT_BYTES`] are refused, and an MP4's tables are
//! checked when it is opened for what would make the `mp4` crate panic or overflow when a
//! sample is read (tables that do not cover every sample, empty chunks, offsets past the
//! file's end).
//!
//! - `raw`: raw H.264 files ([`RawH264`]), read in chunks.
//! - `mp4_file`: MP4/MOV files ([`Mp4Recording`]): the track, its samples as Annex B, key
//!   frames only where they suffice.
//! - `tables`: the checks of an MP4 track's sample tables made when it is opened.

mod mp4_file;
mod raw;
mod tables;

use std::path::Path;

use image::RgbImage;

pub use mp4_file::Mp4Recording;
pub use raw::RawH264;

use super::{Pace, SourceError};

/// The frame rate assumed for raw H.264 files.
pub const H264_FILE_FPS: f64 = 25.0;

/// How much of a raw H.264 file is read at a time.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// The ffmpeg command that turns any video into what openh264 decodes.
pub(super) fn convert_hint(path: &Path) -> String {
    format!(
        "convert it with `ffmpeg -i {} -an -c:v libx264 -profile:v baseline -bf 0 recording.mp4`",
        path.display()
    )
}

/// A recording being played: which kind of file, and where playback is.
pub enum Recording {
    RawH264(Box<RawH264>),
    Mp4(Box<Mp4Recording>),
}

impl Recording {
    /// Opens `path` when its extension names a recording (`.h264`, `.264`, `.mp4`, `.mov`,
    /// `.m4v`); `None` for any other file.
    pub fn open(
        path: &Path,
        sample_interval: impl Into<Pace>,
    ) -> Option<Result<Self, SourceError>> {
        let sample_interval = sample_interval.into();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match extension.as_str() {
            "h264" | "264" => Some(
                RawH264::open(path, sample_interval.clone())
                    .map(|raw| Self::RawH264(Box::new(raw))),
            ),
            "mp4" | "mov" | "m4v" => Some(
                Mp4Recording::open(path, sample_interval.clone())
                    .map(|mp4| Self::Mp4(Box::new(mp4))),
            ),
            "mkv" | "webm" | "avi" | "ts" => Some(Err(SourceError::Unsupported(format!(
                "{}: hadir plays MP4 and raw H.264 recordings; {}",
                path.display(),
                convert_hint(path)
            )))),
            _ => None,
        }
    }

    /// The next sampled frame, or `None` at the end of the recording.
    pub fn next_sampled(&mut self) -> Result<Option<RgbImage>, SourceError> {
        match self {
            Self::RawH264(raw) => raw.next_sampled(),
            Self::Mp4(mp4) => mp4.next_sampled(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn files_that_are_not_mp4_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("door.mp4");
        std::fs::write(&fake, b"this is no video").unwrap();
        let error = Recording::open(&fake, Duration::from_secs(1))
            .expect("an .mp4 is a recording")
            .err()
            .expect("an error")
            .to_string();
        assert!(error.contains("door.mp4"), "{error}");
        let mkv = dir.path().join("door.mkv");
        std::fs::write(&mkv, b"...").unwrap();
        let error = Recording::open(&mkv, Duration::from_secs(1))
            .expect("an .mkv is a recording")
            .err()
            .expect("an error")
            .to_string();
        assert!(error.contains("ffmpeg -i"), "{error}");
        assert!(Recording::open(&dir.path().join("notes.txt"), Duration::from_secs(1)).is_none());
    }
}
