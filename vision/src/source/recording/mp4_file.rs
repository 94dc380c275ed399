//! MP4 (and QuickTime MOV) files' H.264 video track: opened and checked (codec, B-frames,
//! parameter sets, sample tables), then played sample by sample, each sample's
//! length-prefixed NAL units turned into Annex B for openh264, only key frames decoded where
//! they come at least as often as frames are sampled. When the pace quickens past the
//! key-frame interval in the middle of a group of pictures, playback goes back to that group's
//! key frame and decodes from there (delivering nothing before where it was).

use std::{
    io::{BufReader, Seek},
    path::{Path, PathBuf},
    time::Duration,
};

use image::RgbImage;
use openh264::decoder::Decoder;

use super::{
    convert_hint,
    tables::{TableError, check_tables},
};
use crate::source::{SourceError, h264, pace::Pace};

/// How early a frame may fall before the next sampling time and still be taken (timestamps
/// in the track's timescale do not add up exactly to the sampling interval).
const SAMPLE_TIME_TOLERANCE: Duration = Duration::from_millis(10);

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
    sample_interval: Pace,
    /// The media time from which the next frame is sampled, and that of the last sampled.
    next_due: Duration,
    last_taken: Option<Duration>,
    /// The media time between the last two key frames (from the sync-sample table where the
    /// file has one, else as they are met).
    key_frame_interval: Option<Duration>,
    last_key_frame: Option<Duration>,
    /// The sample number of the last key frame met.
    last_key_sample: Option<u32>,
    /// Whether the last sample read was read to decode every frame (not key frames only).
    decoding_all: bool,
    /// Samples before this one were delivered already: replayed from a key frame to decode
    /// every frame, they are decoded but not delivered again.
    replay_until: u32,
    /// After a failed decode, frames are skipped up to the next key frame.
    waiting_for_key_frame: bool,
    failed_key_frames: u32,
}

impl Mp4Recording {
    /// Reads the file's header and finds its H.264 video track.
    pub fn open(path: &Path, sample_interval: Pace) -> Result<Self, SourceError> {
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
            last_taken: None,
            key_frame_interval,
            last_key_frame: None,
            last_key_sample: None,
            decoding_all: false,
            replay_until: 0,
            waiting_for_key_frame: true,
            failed_key_frames: 0,
        })
    }

    /// Whether key frames alone are frequent enough for the sampling rate.
    pub fn decodes_key_frames_only(&self) -> bool {
        h264::key_frames_suffice(self.key_frame_interval, self.sample_interval.interval())
    }

    fn media_time(&self, ticks: u64) -> Duration {
        Duration::try_from_secs_f64(ticks as f64 / f64::from(self.timescale))
            .unwrap_or(Duration::MAX)
    }

    /// The next sampled frame, or `None` at the end of the track.
    pub fn next_sampled(&mut self) -> Result<Option<RgbImage>, SourceError> {
        while self.next_sample <= self.sample_count {
            let all = !self.decodes_key_frames_only();
            if all
                && !self.decoding_all
                && let Some(key) = self.last_key_sample
                && key < self.next_sample
                && !self.waiting_for_key_frame
            {
                // Every frame from here: the frames since the last key frame were skipped,
                // so decode again from it.
                self.replay_until = self.next_sample;
                self.next_sample = key;
            }
            self.decoding_all = all;
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
                self.last_key_sample = Some(number);
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
                    if number < self.replay_until {
                        continue;
                    }
                    // A quicker pace: due one new interval after the last sample.
                    let interval = self.sample_interval.interval();
                    if let Some(taken) = self.last_taken {
                        self.next_due = self.next_due.min(taken + interval);
                    }
                    if at + SAMPLE_TIME_TOLERANCE < self.next_due {
                        continue;
                    }
                    self.next_due = at + interval;
                    self.last_taken = Some(at);
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
}
