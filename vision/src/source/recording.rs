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
//! samples over [`h264::MAX_ACCESS_UNIT_BYTES`] are refused, and an MP4's tables are checked
//! when it is opened for what would make the `mp4` crate panic or overflow when a sample is
//! read (tables that do not cover every sample, empty chunks, offsets past the file's end).

use std::{
    io::{BufReader, Read, Seek},
    path::{Path, PathBuf},
    time::Duration,
};

use image::RgbImage;
use openh264::decoder::Decoder;

use super::{SourceError, h264};

/// The frame rate assumed for raw H.264 files.
pub const H264_FILE_FPS: f64 = 25.0;

/// How much of a raw H.264 file is read at a time.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// How early a frame may fall before the next sampling time and still be taken (timestamps
/// in the track's timescale do not add up exactly to the sampling interval).
const SAMPLE_TIME_TOLERANCE: Duration = Duration::from_millis(10);

/// The ffmpeg command that turns any video into what openh264 decodes.
fn convert_hint(path: &Path) -> String {
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
    pub fn open(path: &Path, sample_interval: Duration) -> Option<Result<Self, SourceError>> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match extension.as_str() {
            "h264" | "264" => {
                Some(RawH264::open(path, sample_interval).map(|raw| Self::RawH264(Box::new(raw))))
            }
            "mp4" | "mov" | "m4v" => {
                Some(Mp4Recording::open(path, sample_interval).map(|mp4| Self::Mp4(Box::new(mp4))))
            }
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

/// A raw H.264 (Annex B) recording, read in chunks and split into NAL units as it is read.
pub struct RawH264 {
    path: PathBuf,
    file: std::fs::File,
    splitter: h264::AnnexBSplitter,
    /// The read buffer, reused.
    chunk: Vec<u8>,
    at_end: bool,
    decoder: Decoder,
    /// Decoded frames to skip between samples.
    stride: usize,
    decoded: usize,
}

impl RawH264 {
    fn open(path: &Path, sample_interval: Duration) -> Result<Self, SourceError> {
        let file = std::fs::File::open(path)
            .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?;
        let decoder = Decoder::new().map_err(|e| SourceError::Decode(e.to_string()))?;
        let per_second = 1.0 / sample_interval.as_secs_f64().max(1e-3);
        Ok(Self {
            path: path.to_owned(),
            file,
            splitter: h264::AnnexBSplitter::default(),
            chunk: vec![0; READ_CHUNK_BYTES],
            at_end: false,
            decoder,
            stride: (H264_FILE_FPS / per_second).round().max(1.0) as usize,
            decoded: 0,
        })
    }

    fn next_sampled(&mut self) -> Result<Option<RgbImage>, SourceError> {
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
                    let sampled = self.decoded.is_multiple_of(self.stride);
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

/// An MP4 (or QuickTime MOV) recording's H.264 video track.
pub struct Mp4Recording {
    path: PathBuf,
    reader: mp4::Mp4Reader<BufReader<std::fs::File>>,
    track_id: u32,
    timescale: u32,
    sample_count: u32,
    /// The next sample to read (MP4 sample numbers start at 1).
    next_sample: u32,
    /// SPS and PPS as Annex B, put before every key frame.
    parameter_sets: Vec<u8>,
    /// Bytes of each NAL unit's length prefix in the samples (1, 2 or 4).
    length_size: usize,
    decoder: Decoder,
    sample_interval: Duration,
    /// The media time from which the next frame is sampled.
    next_due: Duration,
    /// The media time between the last two key frames (from the sync-sample table where the
    /// file has one, else as they are met).
    key_frame_interval: Option<Duration>,
    last_key_frame: Option<Duration>,
    /// After a failed decode, frames are skipped up to the next key frame.
    waiting_for_key_frame: bool,
    failed_key_frames: u32,
}

impl Mp4Recording {
    /// Reads the file's header and finds its H.264 video track.
    pub fn open(path: &Path, sample_interval: Duration) -> Result<Self, SourceError> {
        let name = path.display();
        let file =
            std::fs::File::open(path).map_err(|e| SourceError::Connect(format!("{name}: {e}")))?;
        let size = file
            .metadata()
            .map_err(|e| SourceError::Connect(format!("{name}: {e}")))?
            .len();
        let mut buffered = BufReader::new(file);
        buffered
            .rewind()
            .map_err(|e| SourceError::Connect(format!("{name}: {e}")))?;
        let reader = mp4::Mp4Reader::read_header(buffered, size)
            .map_err(|e| SourceError::Decode(format!("{name} is not a readable MP4 file: {e}")))?;
        let mut video_tracks: Vec<&mp4::Mp4Track> = reader
            .tracks()
            .values()
            .filter(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
            .collect();
        video_tracks.sort_by_key(|t| t.track_id());
        let Some(track) = video_tracks.first() else {
            return Err(SourceError::Unsupported(format!(
                "{name} holds no video track"
            )));
        };
        let Some(avc1) = track.trak.mdia.minf.stbl.stsd.avc1.as_ref() else {
            let codec = track
                .box_type()
                .map(|fourcc| fourcc.to_string())
                .unwrap_or_else(|_| "an unknown codec".to_owned());
            return Err(SourceError::Unsupported(format!(
                "{name}: its video is {codec}, hadir decodes H.264; {}",
                convert_hint(path)
            )));
        };
        if let Some(ctts) = &track.trak.mdia.minf.stbl.ctts {
            let mut offsets = ctts.entries.iter().map(|e| e.sample_offset);
            if let Some(first) = offsets.next()
                && offsets.any(|offset| offset != first)
            {
                return Err(SourceError::Unsupported(format!(
                    "{name} has B-frames, which openh264 cannot decode; {}",
                    convert_hint(path)
                )));
            }
        }
        let avcc = &avc1.avcc;
        if avcc.sequence_parameter_sets.is_empty() || avcc.picture_parameter_sets.is_empty() {
            return Err(SourceError::Decode(format!(
                "{name}: its H.264 track has no SPS/PPS"
            )));
        }
        let mut parameter_sets = Vec::new();
        for unit in avcc
            .sequence_parameter_sets
            .iter()
            .chain(&avcc.picture_parameter_sets)
        {
            parameter_sets.extend_from_slice(&[0, 0, 0, 1]);
            parameter_sets.extend_from_slice(&unit.bytes);
        }
        let length_size = usize::from(avcc.length_size_minus_one & 3) + 1;
        if length_size == 3 {
            return Err(SourceError::Decode(format!(
                "{name}: NAL length prefixes of 3 bytes are not valid H.264 in MP4"
            )));
        }
        let timescale = track.timescale();
        if timescale == 0 {
            return Err(SourceError::Decode(format!(
                "{name}: its video track has no timescale"
            )));
        }
        let sample_count = check_tables(track, size).map_err(|reason| match reason {
            TableError::Malformed(reason) => SourceError::Decode(format!(
                "{name}: its video track's tables are malformed: {reason}"
            )),
            TableError::TooLarge(reason) => SourceError::TooLarge(format!("{name}: {reason}")),
        })?;
        let track_id = track.track_id();
        let key_frame_interval = key_frame_interval_from_table(track);
        let decoder = Decoder::new().map_err(|e| SourceError::Decode(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            reader,
            track_id,
            timescale,
            sample_count,
            next_sample: 1,
            parameter_sets,
            length_size,
            decoder,
            sample_interval,
            next_due: Duration::ZERO,
            key_frame_interval,
            last_key_frame: None,
            waiting_for_key_frame: true,
            failed_key_frames: 0,
        })
    }

    /// Whether key frames alone are frequent enough for the sampling rate.
    pub fn decodes_key_frames_only(&self) -> bool {
        h264::key_frames_suffice(self.key_frame_interval, self.sample_interval)
    }

    fn media_time(&self, ticks: u64) -> Duration {
        Duration::try_from_secs_f64(ticks as f64 / f64::from(self.timescale))
            .unwrap_or(Duration::MAX)
    }

    /// The next sampled frame, or `None` at the end of the track.
    pub fn next_sampled(&mut self) -> Result<Option<RgbImage>, SourceError> {
        while self.next_sample <= self.sample_count {
            let number = self.next_sample;
            self.next_sample += 1;
            // Sizes were checked against the cap when the file was opened
            // (`check_tables`), so reading a sample allocates at most that.
            let sample = self
                .reader
                .read_sample(self.track_id, number)
                .map_err(|e| {
                    SourceError::Decode(format!("{}: sample {number}: {e}", self.path.display()))
                })?;
            let Some(sample) = sample else { continue };
            let at = self.media_time(sample.start_time);
            if sample.is_sync {
                if let Some(previous) = self.last_key_frame
                    && at > previous
                {
                    self.key_frame_interval = Some(at - previous);
                }
                self.last_key_frame = Some(at);
                self.waiting_for_key_frame = false;
            }
            if self.waiting_for_key_frame || (!sample.is_sync && self.decodes_key_frames_only()) {
                continue;
            }
            let mut access_unit = Vec::with_capacity(sample.bytes.len() + 64);
            if sample.is_sync {
                access_unit.extend_from_slice(&self.parameter_sets);
            }
            if let Err(reason) =
                length_prefixed_to_annex_b(&sample.bytes, self.length_size, &mut access_unit)
            {
                tracing::warn!(file = %self.path.display(), sample = number, "{reason}");
                self.waiting_for_key_frame = true;
                continue;
            }
            match self.decoder.decode(&access_unit) {
                Ok(Some(yuv)) => {
                    if sample.is_sync {
                        self.failed_key_frames = 0;
                    }
                    if at + SAMPLE_TIME_TOLERANCE < self.next_due {
                        continue;
                    }
                    self.next_due = at + self.sample_interval;
                    return h264::to_rgb(&yuv).map(Some);
                }
                Ok(None) => {}
                Err(error) => {
                    self.waiting_for_key_frame = true;
                    if sample.is_sync {
                        self.failed_key_frames += 1;
                        if self.failed_key_frames >= h264::MAX_FAILED_KEY_FRAMES {
                            return Err(SourceError::Unsupported(format!(
                                "openh264 cannot decode {} ({error}); {}",
                                self.path.display(),
                                convert_hint(&self.path)
                            )));
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

/// The key-frame interval a track's sync-sample table gives (the most common distance between
/// key frames, times the mean frame duration); `None` where the file does not say (fragmented
/// files, whose samples say it one by one). A track without the table has only key frames.
fn key_frame_interval_from_table(track: &mp4::Mp4Track) -> Option<Duration> {
    let samples = track.trak.mdia.minf.stbl.stsz.sample_count;
    let timescale = track.timescale();
    if samples == 0 || timescale == 0 || !track.trafs.is_empty() {
        return None;
    }
    let frame = track.trak.mdia.mdhd.duration as f64 / f64::from(timescale) / f64::from(samples);
    if !(frame.is_finite() && frame > 0.0) {
        return None;
    }
    let Some(stss) = &track.trak.mdia.minf.stbl.stss else {
        return Some(Duration::from_secs_f64(frame));
    };
    let mut distances: Vec<u32> = stss
        .entries
        .windows(2)
        .map(|pair| pair[1].saturating_sub(pair[0]))
        .filter(|&d| d > 0)
        .collect();
    if distances.is_empty() {
        return None;
    }
    distances.sort_unstable();
    let typical = distances[distances.len() / 2];
    Duration::try_from_secs_f64((f64::from(typical) * frame).max(0.0)).ok()
}

/// Why a track's tables are refused.
enum TableError {
    Malformed(String),
    TooLarge(String),
}

/// Checks a track's sample tables for what would make the `mp4` crate panic or overflow when
/// a sample is read, and sample sizes against [`h264::MAX_ACCESS_UNIT_BYTES`]; returns how
/// many samples the track has.
fn check_tables(track: &mp4::Mp4Track, file_size: u64) -> Result<u32, TableError> {
    let malformed = |reason: String| TableError::Malformed(reason);
    let limit = h264::MAX_ACCESS_UNIT_BYTES as u64;
    if !track.trafs.is_empty() {
        // Fragmented: every fragment needs its run of samples, the count must add up, and the
        // crate computes times as sample × default duration in 32 bits.
        let mut count = 0u32;
        for traf in &track.trafs {
            let Some(trun) = &traf.trun else {
                return Err(malformed("a fragment has no sample run (trun)".into()));
            };
            count = count
                .checked_add(trun.sample_count)
                .ok_or_else(|| malformed("the fragments' sample counts overflow".into()))?;
            if let Some(&size) = trun.sample_sizes.iter().max()
                && u64::from(size) > limit
            {
                return Err(TableError::TooLarge(format!(
                    "a sample of {size} bytes; hadir accepts at most {limit}"
                )));
            }
        }
        if (count as usize) < track.trafs.len() {
            return Err(malformed("fewer samples than fragments".into()));
        }
        if u64::from(count) * u64::from(track.default_sample_duration) > u64::from(u32::MAX) {
            return Err(malformed("the fragments' duration overflows".into()));
        }
        return Ok(count);
    }
    let stbl = &track.trak.mdia.minf.stbl;
    let count = stbl.stsz.sample_count;
    let largest = if stbl.stsz.sample_size > 0 {
        stbl.stsz.sample_size
    } else {
        stbl.stsz.sample_sizes.iter().copied().max().unwrap_or(0)
    };
    if u64::from(largest) > limit {
        return Err(TableError::TooLarge(format!(
            "a sample of {largest} bytes; hadir accepts at most {limit}"
        )));
    }
    if u64::from(largest) > file_size {
        return Err(malformed(format!(
            "a sample of {largest} bytes in a file of {file_size}"
        )));
    }
    let mut timed = 0u64;
    let mut duration = 0u64;
    for entry in &stbl.stts.entries {
        timed = timed.saturating_add(u64::from(entry.sample_count));
        duration = u64::from(entry.sample_count)
            .checked_mul(u64::from(entry.sample_delta))
            .and_then(|d| duration.checked_add(d))
            .ok_or_else(|| malformed("the time table (stts) overflows".into()))?;
    }
    if timed < u64::from(count) {
        return Err(malformed(format!(
            "the time table (stts) covers {timed} of {count} samples"
        )));
    }
    if count > 0 && stbl.stsc.entries.is_empty() {
        return Err(malformed("no sample-to-chunk table (stsc)".into()));
    }
    for entry in &stbl.stsc.entries {
        if entry.first_chunk == 0 || entry.samples_per_chunk == 0 {
            return Err(malformed(
                "the sample-to-chunk table (stsc) has an empty or zeroth chunk".into(),
            ));
        }
        // The crate adds the sizes of a chunk's samples in 32 bits.
        if u64::from(entry.samples_per_chunk) * u64::from(largest) > u64::from(u32::MAX) {
            return Err(malformed(
                "a chunk (stsc) holds more bytes than 32 bits count".into(),
            ));
        }
    }
    if stbl.stco.is_none()
        && stbl
            .co64
            .as_ref()
            .is_none_or(|co64| co64.entries.iter().any(|&offset| offset > file_size))
        && count > 0
    {
        return Err(malformed(
            "no chunk offsets (stco/co64), or one past the file's end".into(),
        ));
    }
    Ok(count)
}

/// Appends the NAL units of an MP4 sample (each behind a big-endian length of `length_size`
/// bytes) to `out` as Annex B (each behind a start code).
fn length_prefixed_to_annex_b(
    sample: &[u8],
    length_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return Err(format!(
                "a NAL length prefix is cut short ({} bytes)",
                rest.len()
            ));
        }
        let (prefix, body) = rest.split_at(length_size);
        let length = prefix
            .iter()
            .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte));
        if length > body.len() {
            return Err(format!(
                "a NAL unit claims {length} bytes where {} remain",
                body.len()
            ));
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&body[..length]);
        rest = &body[length..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_become_start_codes() {
        let mut out = Vec::new();
        length_prefixed_to_annex_b(&[0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x41], 4, &mut out)
            .unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xAA, 0, 0, 0, 1, 0x41]);
        out.clear();
        length_prefixed_to_annex_b(&[0, 1, 0x09, 0, 2, 0x65, 0x01], 2, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x09, 0, 0, 0, 1, 0x65, 0x01]);
    }

    #[test]
    fn a_truncated_sample_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        let error = length_prefixed_to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut out).unwrap_err();
        assert!(error.contains("claims 9 bytes"), "{error}");
        let error = length_prefixed_to_annex_b(&[0, 0], 4, &mut out).unwrap_err();
        assert!(error.contains("cut short"), "{error}");
    }

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
