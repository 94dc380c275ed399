//! What the H.264 sources (RTSP cameras, recordings) share: when key frames alone are enough
//! for the sampling rate, which frames are due on the stream's own clock, when a stream counts
//! as undecodable, splitting a raw Annex B byte stream into NAL units (bounded), and decoded
//! frames to RGB (their size checked first).

use std::time::Duration;

use image::RgbImage;
use memchr::memmem;
use openh264::formats::YUVSource;

use super::{SourceError, framing, pace::Pace};
use crate::bounds;

/// Failed decodes of key frames in a row after which a stream is declared undecodable.
pub const MAX_FAILED_KEY_FRAMES: u32 = 3;

/// How much longer than the sampling interval the key-frame interval may be for key frames
/// alone to be decoded (arrival times jitter; timestamps are rounded to a timescale).
pub const KEY_FRAME_SLACK: Duration = Duration::from_millis(50);

/// How early (on the stream's clock) a frame may come before the time the next sample is
/// due and still be taken as that sample: timestamps are rounded to the stream's timescale and
/// cameras stamp frames with a few milliseconds of jitter, so a key frame every 1 s of a camera
/// sampled at 1 s often comes a little before 1 s after the last one. Without this tolerance
/// it would be skipped and the next one taken 2 s later (0.64 frames/s instead of 1).
pub const SAMPLE_TIME_TOLERANCE: Duration = Duration::from_millis(20);

/// Largest NAL unit or access unit accepted from a stream or a recording (an 8K key frame at a
/// high bitrate is a few MB).
pub const MAX_ACCESS_UNIT_BYTES: usize = 16 * 1024 * 1024;

/// Whether key frames coming every `key_frame_interval` (where known) are enough for one
/// frame every `sample_interval`.
pub fn key_frames_suffice(key_frame_interval: Option<Duration>, sample_interval: Duration) -> bool {
    key_frame_interval.is_some_and(|gop| gop <= sample_interval + KEY_FRAME_SLACK)
}

/// Which frames are sampled, on the stream's own clock (its timestamps), not on when frames
/// happen to arrive: the first frame, then the first frame at or after each due time, within
/// [`SAMPLE_TIME_TOLERANCE`]. Due times follow a grid of one `interval` each, so that the rate
/// sampled is the rate asked for (a frame a little late does not push every later sample
/// back); when the stream skips ahead (a gap, a jump of its clock) or goes back (a camera
/// restarting its clock), the grid starts again at that frame. The interval is a [`Pace`]:
/// when it shortens, the next sample is due one new interval after the last one taken.
#[derive(Clone, Debug)]
pub struct Sampler {
    pace: Pace,
    next_due: Option<Duration>,
    last_taken: Option<Duration>,
    /// The interval `next_due` was set with.
    grid_interval: Duration,
}

impl Sampler {
    pub fn new(pace: impl Into<Pace>) -> Self {
        let pace = pace.into();
        Self {
            grid_interval: pace.interval(),
            pace,
            next_due: None,
            last_taken: None,
        }
    }

    /// The interval now.
    pub fn interval(&self) -> Duration {
        self.pace.interval()
    }

    /// When the next sample is due, and when the last was taken: on the grid, or one new
    /// interval after the last sample where the pace has quickened since the grid was set.
    fn due(&self) -> Option<(Duration, Duration)> {
        let (due, last) = (self.next_due?, self.last_taken?);
        let interval = self.interval();
        if interval < self.grid_interval {
            Some((due.min(last + interval), last))
        } else {
            Some((due, last))
        }
    }

    /// Whether a frame of stream time `at` would be taken (no state changes).
    pub fn is_due(&self, at: Duration) -> bool {
        match self.due() {
            Some((due, last)) => at < last || at + SAMPLE_TIME_TOLERANCE >= due,
            None => true,
        }
    }

    /// Records that the frame of stream time `at` was taken.
    pub fn take(&mut self, at: Duration) {
        let interval = self.interval();
        let on_grid = match self.due() {
            Some((due, last)) if at >= last => {
                let next = due + interval;
                // Behind by a whole interval or more (a gap): start the grid again here.
                (next > at + SAMPLE_TIME_TOLERANCE).then_some(next)
            }
            _ => None,
        };
        self.next_due = Some(on_grid.unwrap_or(at + interval));
        self.last_taken = Some(at);
        self.grid_interval = interval;
    }
}

/// A decoded frame as RGB; a frame of a size hadir refuses
/// ([`crate::bounds::check_frame_size`]) is an error before anything is allocated for it.
pub fn to_rgb(yuv: &openh264::decoder::DecodedYUV<'_>) -> Result<RgbImage, SourceError> {
    let (width, height) = yuv.dimensions();
    let (width, height) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    bounds::check_frame_size(width, height)?;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    yuv.write_rgb8(&mut rgb);
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| SourceError::Decode("a decoded frame has the wrong size".into()))
}

/// A NAL unit over the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an H.264 NAL unit runs over {limit} bytes")]
pub struct NalTooLarge {
    pub limit: usize,
}

const START_CODE: &[u8] = &[0, 0, 1];

/// Splits an H.264 Annex B byte stream (NAL units behind `00 00 01` or `00 00 00 01` start
/// codes) into NAL units as its bytes arrive, in chunks of any size. Bytes before the first
/// start code are dropped; a NAL unit is returned with its start code once the next start
/// code (or [`AnnexBSplitter::finish`]) ends it. Linear (each search resumes where the last
/// one stopped) and bounded: a NAL unit over the cap is an error (whatever the chunking), and
/// the buffer holds at most the cap and three bytes, plus the chunk pushed last.
pub struct AnnexBSplitter {
    buffer: Vec<u8>,
    /// Bytes at the front of `buffer` that are done with (dropped at the next push).
    consumed: usize,
    /// Where the current NAL unit (its start code) begins, once one has been found.
    current: Option<usize>,
    /// Where the search for the next start code continues.
    scan_from: usize,
    limit: usize,
}

impl Default for AnnexBSplitter {
    fn default() -> Self {
        Self::new(MAX_ACCESS_UNIT_BYTES)
    }
}

impl AnnexBSplitter {
    /// A splitter refusing NAL units over `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buffer: Vec::new(),
            consumed: 0,
            current: None,
            scan_from: 0,
            limit,
        }
    }

    /// Bytes held that are not yet part of a returned NAL unit.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// Adds bytes as they arrive; call [`AnnexBSplitter::next_nal`] until it returns
    /// `Ok(None)` after each push.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.consumed > 0 {
            self.buffer.drain(..self.consumed);
            self.scan_from -= self.consumed;
            self.current = self.current.map(|c| c - self.consumed);
            self.consumed = 0;
        }
        // Never past the cap plus a start code (or what this chunk needs).
        framing::extend_within(&mut self.buffer, bytes, self.limit.saturating_add(4));
    }

    /// The next whole NAL unit (with its start code), if the bytes so far hold one.
    pub fn next_nal(&mut self) -> Result<Option<&[u8]>, NalTooLarge> {
        let Some(current) = self.current else {
            match memmem::find(&self.buffer[self.scan_from..], START_CODE) {
                Some(found) => {
                    let at = self.scan_from + found;
                    // A four-byte start code begins one zero earlier.
                    let begin = if at > self.consumed && self.buffer[at - 1] == 0 {
                        at - 1
                    } else {
                        at
                    };
                    self.consumed = begin;
                    self.current = Some(begin);
                    self.scan_from = at + START_CODE.len();
                    return self.next_nal();
                }
                None => {
                    // Nothing before a start code is kept but what may begin one.
                    let keep = self
                        .buffer
                        .len()
                        .saturating_sub(START_CODE.len())
                        .max(self.scan_from);
                    self.consumed = keep;
                    self.scan_from = keep;
                    return Ok(None);
                }
            }
        };
        match memmem::find(&self.buffer[self.scan_from..], START_CODE) {
            Some(found) => {
                let at = self.scan_from + found;
                let end = if at > current + 3 && self.buffer[at - 1] == 0 {
                    at - 1
                } else {
                    at
                };
                if end - current > self.limit {
                    return Err(NalTooLarge { limit: self.limit });
                }
                self.consumed = end;
                self.current = Some(end);
                self.scan_from = at + START_CODE.len();
                Ok(Some(&self.buffer[current..end]))
            }
            None => {
                // Up to three bytes of the next start code may have arrived already.
                if self.buffer.len() - current > self.limit.saturating_add(3) {
                    return Err(NalTooLarge { limit: self.limit });
                }
                self.scan_from = self
                    .buffer
                    .len()
                    .saturating_sub(START_CODE.len() - 1)
                    .max(self.scan_from);
                Ok(None)
            }
        }
    }

    /// At the end of the stream: the last NAL unit, if there is one.
    pub fn finish(&mut self) -> Result<Option<&[u8]>, NalTooLarge> {
        let Some(current) = self.current.take() else {
            return Ok(None);
        };
        let end = self.buffer.len();
        self.consumed = end;
        self.scan_from = end;
        if end - current > self.limit {
            return Err(NalTooLarge { limit: self.limit });
        }
        // Only a start code (three or four bytes) is no NAL unit.
        let code = if self.buffer.get(current + 2) == Some(&1) {
            3
        } else {
            4
        };
        Ok((end - current > code).then(|| &self.buffer[current..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(stream: &[u8], chunk: usize, limit: usize) -> Result<Vec<Vec<u8>>, NalTooLarge> {
        let mut splitter = AnnexBSplitter::new(limit);
        let mut units = Vec::new();
        for piece in stream.chunks(chunk.max(1)) {
            splitter.push(piece);
            while let Some(nal) = splitter.next_nal()? {
                units.push(nal.to_vec());
            }
        }
        if let Some(nal) = splitter.finish()? {
            units.push(nal.to_vec());
        }
        Ok(units)
    }

    #[test]
    fn nal_units_are_split_at_start_codes_in_any_chunking() {
        let stream = [
            &b"junk"[..],
            &[0, 0, 0, 1, 0x67, 1, 2],
            &[0, 0, 1, 0x68, 3],
            &[0, 0, 0, 1, 0x65, 4, 5, 6, 0],
            &[0, 0, 1, 0x41, 7, 8],
        ]
        .concat();
        let expected: Vec<Vec<u8>> = vec![
            vec![0, 0, 0, 1, 0x67, 1, 2],
            vec![0, 0, 1, 0x68, 3],
            vec![0, 0, 0, 1, 0x65, 4, 5, 6],
            vec![0, 0, 0, 1, 0x41, 7, 8],
        ];
        for chunk in [1, 2, 3, 5, 1000] {
            assert_eq!(
                split(&stream, chunk, 100).unwrap(),
                expected,
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_nal_unit_over_the_cap_is_an_error() {
        let mut stream = vec![0, 0, 1, 0x65];
        stream.extend(std::iter::repeat_n(7u8, 200));
        assert_eq!(split(&stream, 7, 100), Err(NalTooLarge { limit: 100 }));
        let mut splitter = AnnexBSplitter::new(100);
        for _ in 0..1000 {
            splitter.push(&[9; 64]);
            assert_eq!(splitter.next_nal(), Ok(None));
            assert!(
                splitter.buffered() <= 3,
                "bytes before a start code are dropped"
            );
        }
    }

    /// Offers the frame of stream time `at` to `sampler`, as the sources do: taken if due.
    fn offer(sampler: &mut Sampler, at: Duration) -> bool {
        let due = sampler.is_due(at);
        if due {
            sampler.take(at);
        }
        due
    }

    #[test]
    fn samples_follow_the_stream_clock_with_a_tolerance() {
        let ms = Duration::from_millis;
        // Key frames a little early or late around each second: every one is taken.
        let mut sampler = Sampler::new(ms(1000));
        let mut taken = 0;
        for at in [0, 995, 2003, 2990, 4000, 4985, 6010] {
            if offer(&mut sampler, ms(at)) {
                taken += 1;
            }
        }
        assert_eq!(taken, 7);
        // 25 frames a second sampled at 1 s: frames 0, 25, 50, ...; on a 40 ms grid.
        let mut sampler = Sampler::new(ms(1000));
        let taken: Vec<u64> = (0..250u64)
            .map(|i| i * 40)
            .filter(|&at| offer(&mut sampler, ms(at)))
            .collect();
        assert_eq!(taken, (0..10).map(|s| s * 1000).collect::<Vec<_>>());
        // Too early (more than the tolerance) is not taken; sampling at 300 ms on a 40 ms
        // grid keeps the asked rate on average (10 samples in 3 s), not one every 320 ms.
        let mut sampler = Sampler::new(ms(300));
        sampler.take(ms(0));
        assert!(!sampler.is_due(ms(250)));
        let count = (1..75u64)
            .map(|i| i * 40)
            .filter(|&at| offer(&mut sampler, ms(at)))
            .count();
        assert_eq!(count, 9, "0 then 9 more within 2.96 s at 300 ms");
        // A clock that goes back (a camera restarting) or jumps ahead starts a new grid.
        let mut sampler = Sampler::new(ms(1000));
        sampler.take(ms(50_000));
        assert!(sampler.is_due(ms(10)), "back in time");
        sampler.take(ms(10));
        assert!(!sampler.is_due(ms(500)));
        sampler.take(ms(90_000));
        assert!(!sampler.is_due(ms(90_500)));
        assert!(sampler.is_due(ms(91_000)));
    }

    #[test]
    fn a_quicker_pace_takes_effect_at_once_and_a_slower_one_from_the_next_sample() {
        let ms = Duration::from_millis;
        let pace = Pace::new(ms(1000));
        let mut sampler = Sampler::new(&pace);
        assert!(offer(&mut sampler, ms(0)));
        assert!(!sampler.is_due(ms(200)));
        // Quicker: due 250 ms after the last sample, not at the next second of the grid, and
        // then on a 250 ms grid (frames every 40 ms, taken within the tolerance).
        pace.set(ms(250));
        let taken: Vec<u64> = (1..=50u64)
            .map(|i| i * 40)
            .filter(|&at| offer(&mut sampler, ms(at)))
            .collect();
        assert_eq!(taken, [240, 480, 760, 1000, 1240, 1480, 1760, 2000]);
        // Slower again: the next sample is the one already due on the quick grid, then one a
        // second.
        pace.set(ms(1000));
        let taken: Vec<u64> = (51..=150u64)
            .map(|i| i * 40)
            .filter(|&at| offer(&mut sampler, ms(at)))
            .collect();
        assert_eq!(taken, [2240, 3240, 4240, 5240]);
    }
}
