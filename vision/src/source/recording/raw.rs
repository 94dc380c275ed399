//! Raw H.264 (Annex B) files: no timestamps, so every frame is decoded and one in
//! `H264_FILE_FPS / samples per second` is taken; the file is read in chunks of
//! [`READ_CHUNK_BYTES`] and split into NAL units as it is read.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use image::RgbImage;
use openh264::decoder::Decoder;

use super::{H264_FILE_FPS, READ_CHUNK_BYTES};
use crate::source::{SourceError, h264, pace::Pace};

/// A raw H.264 (Annex B) recording, read in chunks and split into NAL units as it is read.
pub struct RawH264 {
    path: PathBuf,
    file: std::fs::File,
    splitter: h264::AnnexBSplitter,
    /// The read buffer, reused.
    chunk: Vec<u8>,
    at_end: bool,
    decoder: Decoder,
    /// The sampling interval: decoded frames are skipped between samples, at
    /// [`H264_FILE_FPS`].
    pace: Pace,
    decoded: usize,
}

impl RawH264 {
    pub(super) fn open(path: &Path, pace: Pace) -> Result<Self, SourceError> {
        let file = std::fs::File::open(path)
            .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?;
        let decoder = Decoder::new().map_err(|e| SourceError::Decode(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            splitter: h264::AnnexBSplitter::default(),
            chunk: vec![0; READ_CHUNK_BYTES],
            at_end: false,
            decoder,
            pace,
            decoded: 0,
        })
    }

    pub(super) fn next_sampled(&mut self) -> Result<Option<RgbImage>, SourceError> {
        let name = self.path.display().to_string();
        loop {
            let next = if self.at_end {
                self.splitter.finish()
            } else {
                self.splitter.next_nal()
            };
            let nal = match next {
                Ok(Some(nal)) => nal,
                Ok(None) if self.at_end => return Ok(None),
                Ok(None) => {
                    let read = self
                        .file
                        .read(&mut self.chunk)
                        .map_err(|e| SourceError::Connect(format!("{name}: {e}")))?;
                    if read == 0 {
                        self.at_end = true;
                    } else {
                        self.splitter.push(&self.chunk[..read]);
                    }
                    continue;
                }
                Err(e) => return Err(SourceError::TooLarge(format!("{name}: {e}"))),
            };
            match self.decoder.decode(nal) {
                Ok(Some(yuv)) => {
                    let per_second = 1.0 / self.pace.interval().as_secs_f64().max(1e-3);
                    let stride = (H264_FILE_FPS / per_second).round().max(1.0) as usize;
                    let sampled = self.decoded.is_multiple_of(stride);
                    self.decoded += 1;
                    if sampled {
                        return h264::to_rgb(&yuv).map(Some);
                    }
                }
                Ok(None) => {}
                Err(e) => return Err(SourceError::Decode(format!("{name}: {e}"))),
            }
        }
    }
}
