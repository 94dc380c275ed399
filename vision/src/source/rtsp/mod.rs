//! RTSP cameras: `retina` (pure Rust, RTP interleaved over TCP) delivers H.264 access units
//! as Annex B with SPS/PPS before each key frame; `openh264` decodes them. Every connection
//! goes through an [`RtspGuard`] (see [`super::rtsp_guard`]): retina's own parser has no size
//! limits, the guard caps what the camera may send and says why it cut a connection.
//!
//! Frames are sampled on the stream's own clock (each frame's RTP timestamp), not on when
//! they happen to arrive, with [`h264::Sampler`]: the first frame, then the first at or after
//! each due time within [`h264::SAMPLE_TIME_TOLERANCE`], so that a camera sampled at one frame
//! a second delivers one a second (a key frame a few milliseconds early is not thrown away).
//!
//! Decode no more than needed: when key frames come at least as often as frames are
//! sampled, only key frames are decoded, and only those that are due (the others are skipped
//! unread). Otherwise every frame the others depend on is decoded (disposable frames that are
//! not due are skipped) but only the sampled ones are converted to RGB. After packet loss the
//! source waits for the next key frame. Until the key-frame interval is known (the second key
//! frame), key frames alone are decoded. Key frames are decoded by the decoders every such
//! stream shares ([`super::decoders`]: a decoder is ~32 MB at 1080p); a stream that needs
//! every frame has a decoder of its own. Decoding runs on the blocking pool.
//!
//! The sampling interval is a [`Pace`], which the reader may quicken while the stream runs
//! (hadir does for a few seconds when a new face appears). When it quickens past the
//! key-frame interval, the stream gets a decoder of its own at once: the access units since
//! the last key frame are kept (at most [`MAX_GROUP_BYTES`]) and decoded first, so it need
//! not wait for the next key frame; when the pace slows again, the decoder is dropped and key
//! frames alone are decoded. A stream openh264 cannot decode (B-frames, another
//! codec: H.265 gets "switch the camera's stream (main or sub) to H.264") is a clear error,
//! not a crash loop; a 401 is [`SourceError::Unauthorized`].
//!
//! Connecting is three steps (`connect.rs`), public for `hadir doctor` to say how far a camera
//! got: [`Connection::open`] (TCP, through the guard), [`Connection::describe`] (what the
//! camera offers, [`Described::offered`]), [`Described::play`].

use std::time::{Duration, SystemTime};

mod connect;

use std::sync::Arc;

use futures_util::StreamExt;
use openh264::decoder::Decoder;
use retina::codec::CodecItem;

pub use connect::{
    Connection, Described, H265_ADVICE, Offered, UNAUTHORIZED_CREDENTIALS,
    UNAUTHORIZED_NO_CREDENTIALS,
};

use super::{
    Frame, FrameSource, Pace, SourceError, SourceOptions,
    decoders::{self, Decoded, KeyFrameDecoders},
    h264,
    probe::{self, StreamFacts},
    rtsp_guard::RtspGuard,
};

/// An RTSP camera.
/// The most bytes of access units kept since the last key frame for a decoder of its own to
/// catch up from (a 2 s group of pictures at 8 Mbit/s); a larger group is not kept, and a
/// quicker pace then waits for the next key frame.
pub const MAX_GROUP_BYTES: usize = 2 * 1024 * 1024;

/// The access units since the last key frame, while key frames alone are decoded.
#[derive(Default)]
struct GroupOfPictures {
    units: Vec<Vec<u8>>,
    bytes: usize,
    /// From a key frame, nothing missing, within [`MAX_GROUP_BYTES`].
    complete: bool,
}

impl GroupOfPictures {
    /// Starts again at a key frame.
    fn restart(&mut self, key_frame: Vec<u8>) {
        self.units.clear();
        self.bytes = 0;
        self.complete = true;
        self.push(key_frame);
    }

    fn push(&mut self, unit: Vec<u8>) {
        if !self.complete {
            return;
        }
        self.bytes += unit.len();
        if self.bytes > MAX_GROUP_BYTES {
            self.forget();
        } else {
            self.units.push(unit);
        }
    }

    /// Nothing kept until the next key frame.
    fn forget(&mut self) {
        self.units = Vec::new();
        self.bytes = 0;
        self.complete = false;
    }

    /// The units kept, if they start at a key frame and miss nothing.
    fn take(&mut self) -> Option<Vec<Vec<u8>>> {
        let complete = std::mem::replace(&mut self.complete, false);
        self.bytes = 0;
        let units = std::mem::take(&mut self.units);
        (complete && !units.is_empty()).then_some(units)
    }
}

pub struct RtspSource {
    stream: retina::client::Demuxed,
    /// The video stream read, among the session's streams.
    video: usize,
    guard: RtspGuard,
    /// Key frames are decoded by the shared pool; a stream that needs every frame decoded
    /// has a decoder of its own, from the key frame where that became known.
    key_frame_decoders: Arc<KeyFrameDecoders>,
    decoder: Option<Decoder>,
    /// While key frames alone are decoded: the group of pictures so far.
    group: GroupOfPictures,
    frame_timeout: Duration,
    sampler: h264::Sampler,
    /// The stream time of the last key frame.
    last_key_frame: Option<Duration>,
    /// The interval between the last two key frames.
    key_frame_interval: Option<Duration>,
    /// Frames since the last key frame, and that count between the last two.
    frames_since_key: u32,
    key_frame_distance: Option<u32>,
    /// Frames received (decoded or not), and the stream times of the first and last.
    frames_seen: u64,
    first_at: Option<Duration>,
    last_at: Option<Duration>,
    waiting_for_key_frame: bool,
    failed_key_frames: u32,
}

impl RtspSource {
    /// Connects through an [`RtspGuard`]; DESCRIBE, SETUP of the first H.264 video stream,
    /// PLAY, each within `options.frame_timeout`.
    pub async fn connect(
        url: &str,
        sample_interval: impl Into<Pace>,
        options: &SourceOptions,
    ) -> Result<Self, SourceError> {
        Connection::open(url, options)
            .await?
            .describe()
            .await?
            .play(sample_interval)
            .await
    }

    /// Whether key frames alone are frequent enough for the sampling rate.
    pub fn decodes_key_frames_only(&self) -> bool {
        h264::key_frames_suffice(self.key_frame_interval, self.sampler.interval())
    }

    /// What is known of the stream so far: its parameters (profile, size, declared rate),
    /// the frame rate and key-frame interval measured on its clock.
    pub fn facts(&self) -> StreamFacts {
        let mut facts = self
            .stream
            .streams()
            .get(self.video)
            .map(probe::facts_of)
            .unwrap_or_default();
        if let (Some(first), Some(last)) = (self.first_at, self.last_at)
            && last > first
            && self.frames_seen > 1
        {
            facts.frame_rate = Some((self.frames_seen - 1) as f64 / (last - first).as_secs_f64());
        }
        facts.key_frame_interval = self.key_frame_interval;
        facts.key_frame_distance = self.key_frame_distance;
        facts
    }
}

/// A frame's time on the stream's clock (its RTP timestamp since the stream started; zero
/// where a camera's clock is behind its own start).
fn stream_time(timestamp: retina::Timestamp) -> Duration {
    let ticks = u128::try_from(timestamp.elapsed()).unwrap_or(0);
    let nanos = ticks * 1_000_000_000 / u128::from(timestamp.clock_rate().get());
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[async_trait::async_trait]
impl FrameSource for RtspSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        loop {
            let item = tokio::time::timeout(self.frame_timeout, self.stream.next())
                .await
                .map_err(|_| SourceError::Timeout(self.frame_timeout))?;
            let frame = match item {
                None => {
                    return Err(self
                        .guard
                        .violation()
                        .map_or(SourceError::Ended, SourceError::from));
                }
                Some(Err(e)) => {
                    return Err(match self.guard.violation() {
                        Some(violation) => violation.into(),
                        None => SourceError::Connect(e.to_string()),
                    });
                }
                Some(Ok(CodecItem::VideoFrame(frame))) => frame,
                Some(Ok(_)) => continue,
            };
            let at = stream_time(frame.timestamp());
            let key = frame.is_random_access_point();
            self.frames_seen += 1;
            self.first_at.get_or_insert(at);
            self.last_at = Some(at);
            if frame.loss() > 0 {
                self.waiting_for_key_frame = true;
                self.group.forget();
            }
            if key {
                if let Some(previous) = self.last_key_frame
                    && at > previous
                {
                    self.key_frame_interval = Some(at - previous);
                }
                if self.last_key_frame.is_some() {
                    self.key_frame_distance = Some(self.frames_since_key + 1);
                }
                self.frames_since_key = 0;
                self.last_key_frame = Some(at);
                self.waiting_for_key_frame = false;
            } else {
                self.frames_since_key = self.frames_since_key.saturating_add(1);
            }
            if self.waiting_for_key_frame {
                continue;
            }
            let due = self.sampler.is_due(at);
            // Until two key frames gave the interval, key frames alone are decoded.
            let own_decoder = self.key_frame_interval.is_some() && !self.decodes_key_frames_only();
            let disposable = frame.is_disposable();
            let data = frame.into_data();
            if !own_decoder {
                // Key frames only: one that is not due is not decoded at all (nothing after it
                // depends on it: the next decoded frame is a key frame too). The group is
                // kept in case the pace quickens.
                self.decoder = None;
                if key && !due {
                    self.group.restart(data);
                    continue;
                } else if key {
                    self.group.restart(data.clone());
                } else {
                    self.group.push(data);
                    continue;
                }
            } else if self.decoder.is_none() && !key {
                // A decoder of its own starts at a key frame: the last one, and what came
                // after it, where they were kept; else the next.
                let Some(units) = self.group.take() else {
                    continue;
                };
                if let Decoded::Failed(_) = decoders::catch_up(&mut self.decoder, units).await? {
                    self.waiting_for_key_frame = true;
                    continue;
                }
            } else if !due && disposable {
                // No other frame refers to it.
                continue;
            }
            if own_decoder {
                self.group.forget();
            }
            let decoded = if own_decoder {
                decoders::decode_owned(&mut self.decoder, data, due).await?
            } else {
                self.key_frame_decoders.decode(data, true).await?
            };
            let decoded = match decoded {
                Decoded::Frame(image) => {
                    if key {
                        self.failed_key_frames = 0;
                    }
                    match image {
                        Some(image) if due => image,
                        _ => continue,
                    }
                }
                Decoded::Nothing => continue,
                Decoded::Failed(error) => {
                    self.waiting_for_key_frame = true;
                    if key {
                        self.failed_key_frames += 1;
                        if self.failed_key_frames >= h264::MAX_FAILED_KEY_FRAMES {
                            return Err(SourceError::Unsupported(format!(
                                "openh264 cannot decode this H.264 stream ({error}); set the \
                                 camera to the baseline profile without B-frames"
                            )));
                        }
                    }
                    continue;
                }
            };
            self.sampler.take(at);
            return Ok(Frame {
                image: decoded,
                captured_at: SystemTime::now(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    #[test]
    fn a_group_of_pictures_is_kept_within_its_cap_from_a_key_frame_only() {
        let mut group = GroupOfPictures::default();
        group.push(vec![1; 10]);
        assert_eq!(group.take(), None, "nothing before the first key frame");
        group.restart(vec![2; 10]);
        group.push(vec![3; 10]);
        assert_eq!(group.take(), Some(vec![vec![2; 10], vec![3; 10]]));
        assert_eq!(group.take(), None, "taken once");
        // A camera sending more than the cap between key frames: nothing kept until the next.
        group.restart(vec![4; 10]);
        for _ in 0..3 {
            group.push(vec![5; MAX_GROUP_BYTES / 2]);
        }
        assert!(group.units.is_empty() && group.bytes == 0, "released");
        assert_eq!(group.take(), None);
        group.restart(vec![6; 10]);
        assert_eq!(group.take(), Some(vec![vec![6; 10]]));
    }

    #[test]
    fn stream_time_is_the_rtp_timestamp_since_the_start() {
        let clock = NonZeroU32::new(90_000).unwrap();
        let at = |ticks: i64, start: u32| {
            stream_time(retina::Timestamp::new(ticks, clock, start).unwrap())
        };
        assert_eq!(at(90_000, 0), Duration::from_secs(1));
        assert_eq!(at(1_000 + 45_000, 1_000), Duration::from_millis(500));
        assert_eq!(at(0, 1_000), Duration::ZERO, "behind its start");
        assert!(
            at(i64::MAX, 0) > Duration::from_secs(1 << 30),
            "no overflow"
        );
    }
}
