//! What a camera's stream is, and how far hadir gets in reading it (for `hadir doctor`):
//! reached at all, answered (credentials accepted), its codec, profile, size, frame rate and
//! key-frame interval, and one frame decoded.
//!
//! [`probe`] opens the camera as a camera task would, in the same steps (for RTSP:
//! [`rtsp::Connection::open`], [`rtsp::Connection::describe`], [`rtsp::Described::play`]),
//! each bounded by the [`SourceOptions`] timeouts, then reads frames for at most the time it
//! is given, until one frame is decoded and two key frames were seen (the key-frame interval
//! measured on the stream's clock). It never runs past its time: a camera that does not
//! answer is [`Stage::Unreached`] with the error that says so.

use std::time::{Duration, Instant};

use image::RgbImage;

use super::{FrameSource, SourceError, SourceOptions, h264, rtsp};

/// The longest the probe samples at while it watches for key frames: frames are asked for at
/// least this often, whatever the camera's own sampling rate (so that a camera sampled every
/// 10 s is not watched for 20 s).
pub const PROBE_SAMPLE_INTERVAL: Duration = Duration::from_millis(500);

/// What is known of a stream: from its description (the SDP's parameter sets) and, once
/// frames came, measured on its clock.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamFacts {
    /// `H.264`, `H.265`, `JPEG over HTTP`…
    pub codec: Option<String>,
    /// `Constrained Baseline, level 3.1` (H.264 and H.265).
    pub profile: Option<String>,
    /// Width × height in pixels.
    pub resolution: Option<(u32, u32)>,
    /// Frames per second: measured over the frames received, else as declared.
    pub frame_rate: Option<f64>,
    /// The time between the last two key frames (RTSP).
    pub key_frame_interval: Option<Duration>,
    /// Frames from one key frame to the next: the GOP (RTSP).
    pub key_frame_distance: Option<u32>,
}

/// How far reading a camera got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Nothing answered (no connection, or no answer in time).
    Unreached,
    /// Connected; the camera did not (yet) describe its stream.
    Connected,
    /// The camera answered and described its stream (credentials accepted).
    Described,
    /// The stream was set up and plays; no frame decoded yet.
    Playing,
    /// A frame was decoded.
    Decoded,
}

/// What [`probe`] found.
#[derive(Debug)]
pub struct Probe {
    pub reached: Stage,
    pub facts: StreamFacts,
    /// The last frame decoded.
    pub frame: Option<RgbImage>,
    /// Why it got no further (None: a frame was decoded; the key-frame interval may still be
    /// unknown when no second key frame came in time).
    pub error: Option<SourceError>,
}

impl Probe {
    fn stopped(reached: Stage, facts: StreamFacts, error: SourceError) -> Self {
        Self {
            reached,
            facts,
            frame: None,
            error: Some(error),
        }
    }

    /// Whether the camera's frames would be decoded from key frames only at one frame every
    /// `sample_interval` (see [`h264::key_frames_suffice`]); None where that does not apply
    /// (not H.264) or the key-frame interval is not known.
    pub fn key_frames_only(&self, sample_interval: Duration) -> Option<bool> {
        let interval = self.facts.key_frame_interval?;
        (self.facts.codec.as_deref() == Some("H.264"))
            .then(|| h264::key_frames_suffice(Some(interval), sample_interval))
    }
}

/// Opens the camera `url` names and reads it for at most `watch` once it plays (connecting
/// and each request bounded by `options`); see the module's documentation.
pub async fn probe(
    url: &str,
    sample_interval: Duration,
    options: &SourceOptions,
    watch: Duration,
) -> Probe {
    let interval = sample_interval.min(PROBE_SAMPLE_INTERVAL);
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") {
        return probe_rtsp(url.trim(), interval, options, watch).await;
    }
    let facts = StreamFacts {
        codec: Some(other_codec(&lower).to_owned()),
        ..Default::default()
    };
    let mut source = match super::open(url, interval, options).await {
        Ok(source) => source,
        Err(error) => {
            let reached = match error {
                SourceError::Connect(_) | SourceError::Timeout(_) => Stage::Unreached,
                _ => Stage::Connected,
            };
            return Probe::stopped(reached, facts, error);
        }
    };
    read_frames(source.as_mut(), Stage::Described, facts, watch, |_| None).await
}

/// What a non-RTSP source carries, by its URL.
fn other_codec(lower: &str) -> &'static str {
    if lower.starts_with("http://") || lower.starts_with("https://") {
        "JPEG over HTTP"
    } else if lower.starts_with("file://") {
        "a recording or images"
    } else {
        "a webcam"
    }
}

async fn probe_rtsp(
    url: &str,
    interval: Duration,
    options: &SourceOptions,
    watch: Duration,
) -> Probe {
    let connection = match rtsp::Connection::open(url, options).await {
        Ok(connection) => connection,
        Err(error) => return Probe::stopped(Stage::Unreached, StreamFacts::default(), error),
    };
    let described = match connection.describe().await {
        Ok(described) => described,
        Err(error) => return Probe::stopped(Stage::Connected, StreamFacts::default(), error),
    };
    let offered = described.offered();
    let video = offered
        .iter()
        .find(|s| s.media == "video" && s.encoding == "h264")
        .or_else(|| offered.iter().find(|s| s.media == "video"));
    let described_facts = video.map(|s| s.facts.clone()).unwrap_or_default();
    let mut source = match described.play(interval).await {
        Ok(source) => source,
        Err(error) => return Probe::stopped(Stage::Described, described_facts, error),
    };
    let facts = described_facts.clone();
    let mut probe = read_frames(&mut source, Stage::Playing, facts, watch, |s| {
        Some(s.key_frame_interval.is_some())
    })
    .await;
    let measured = source.facts();
    probe.facts = StreamFacts {
        codec: measured.codec.or(described_facts.codec),
        profile: measured.profile.or(described_facts.profile),
        resolution: measured.resolution.or(described_facts.resolution),
        frame_rate: measured.frame_rate.or(described_facts.frame_rate),
        key_frame_interval: measured.key_frame_interval,
        key_frame_distance: measured.key_frame_distance,
    };
    if let (Some(frame), None) = (&probe.frame, probe.facts.resolution) {
        probe.facts.resolution = Some(frame.dimensions());
    }
    probe
}

/// A source's statistics, for [`read_frames`] to know whether it has seen enough.
trait Watched: FrameSource {
    fn facts_now(&self) -> StreamFacts;
}

impl Watched for rtsp::RtspSource {
    fn facts_now(&self) -> StreamFacts {
        self.facts()
    }
}

impl Watched for dyn FrameSource + '_ {
    fn facts_now(&self) -> StreamFacts {
        StreamFacts::default()
    }
}

/// Reads frames until one is decoded and `enough` says the facts are complete (None: one
/// frame is enough), or `watch` has passed.
async fn read_frames<S: Watched + ?Sized>(
    source: &mut S,
    reached: Stage,
    mut facts: StreamFacts,
    watch: Duration,
    enough: impl Fn(&StreamFacts) -> Option<bool>,
) -> Probe {
    let deadline = Instant::now() + watch;
    let mut probe = Probe {
        reached,
        facts: facts.clone(),
        frame: None,
        error: None,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if probe.frame.is_none() {
                probe.error = Some(SourceError::Timeout(watch));
            }
            break;
        }
        match tokio::time::timeout(left, source.next_frame()).await {
            Ok(Ok(frame)) => {
                probe.reached = Stage::Decoded;
                facts.resolution = Some(frame.image.dimensions());
                probe.frame = Some(frame.image);
                if enough(&source.facts_now()).unwrap_or(true) {
                    break;
                }
            }
            Ok(Err(error)) => {
                // After a frame, a later failure (the stream ended) leaves what was found.
                if probe.frame.is_none() {
                    probe.error = Some(error);
                }
                break;
            }
            Err(_) => continue,
        }
    }
    probe.facts = facts;
    probe
}

/// The facts a stream's description gives: its codec, and from its parameter sets the
/// profile, size and declared frame rate.
pub(crate) fn facts_of(stream: &retina::client::Stream) -> StreamFacts {
    let mut facts = StreamFacts {
        codec: Some(codec_name(stream.encoding_name())),
        frame_rate: stream.framerate().map(f64::from).filter(|r| *r > 0.0),
        ..Default::default()
    };
    if let Some(retina::codec::ParametersRef::Video(video)) = stream.parameters() {
        facts.profile = profile_name(video.rfc6381_codec());
        facts.resolution = Some(video.pixel_dimensions());
        if let Some((seconds, frames)) = video.frame_rate()
            && seconds > 0
            && frames > 0
        {
            facts.frame_rate = Some(f64::from(frames) / f64::from(seconds));
        }
    }
    facts
}

/// `h264` → `H.264`, `h265` → `H.265`, `jpeg` → `JPEG`; others as written, in capitals.
pub fn codec_name(encoding: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "h264" => "H.264".to_owned(),
        "h265" => "H.265".to_owned(),
        "jpeg" => "JPEG".to_owned(),
        other => other.to_ascii_uppercase(),
    }
}

/// The profile and level an RFC 6381 codec string names: `avc1.42C01E` → `Constrained
/// Baseline, level 3.0`; `hvc1.1.6.L93.B0` → `Main, level 3.1`. None for what it cannot read.
pub fn profile_name(rfc6381: &str) -> Option<String> {
    let (family, rest) = rfc6381.split_once('.')?;
    match family {
        "avc1" | "avc3" => {
            if rest.len() != 6 {
                return None;
            }
            let byte = |i: usize| u8::from_str_radix(rest.get(i..i + 2)?, 16).ok();
            let (profile, constraints, level) = (byte(0)?, byte(2)?, byte(4)?);
            let name = match profile {
                66 if constraints & 0x40 != 0 => "Constrained Baseline".to_owned(),
                66 => "Baseline".to_owned(),
                77 => "Main".to_owned(),
                88 => "Extended".to_owned(),
                100 => "High".to_owned(),
                110 => "High 10".to_owned(),
                122 => "High 4:2:2".to_owned(),
                244 => "High 4:4:4".to_owned(),
                other => format!("profile {other}"),
            };
            Some(format!("{name}, level {}.{}", level / 10, level % 10))
        }
        "hvc1" | "hev1" => {
            let mut parts = rest.split('.');
            let profile: u8 = parts
                .next()?
                .trim_start_matches(['A', 'B', 'C'])
                .parse()
                .ok()?;
            let name = match profile {
                1 => "Main".to_owned(),
                2 => "Main 10".to_owned(),
                3 => "Main Still Picture".to_owned(),
                4 => "Range Extensions".to_owned(),
                other => format!("profile {other}"),
            };
            let level = parts
                .nth(1)
                .and_then(|l| l.strip_prefix(['L', 'H']))
                .and_then(|l| l.parse::<u32>().ok());
            Some(match level {
                Some(level) => format!("{name}, level {}.{}", level / 30, level % 30 / 3),
                None => name,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_named_from_their_codec_strings() {
        let named = |s: &str| profile_name(s);
        assert_eq!(
            named("avc1.42C01E").as_deref(),
            Some("Constrained Baseline, level 3.0")
        );
        assert_eq!(named("avc1.42001F").as_deref(), Some("Baseline, level 3.1"));
        assert_eq!(named("avc1.4D4028").as_deref(), Some("Main, level 4.0"));
        assert_eq!(named("avc1.640033").as_deref(), Some("High, level 5.1"));
        assert_eq!(named("hvc1.1.6.L93.B0").as_deref(), Some("Main, level 3.1"));
        assert_eq!(
            named("hev1.2.4.H120.B0").as_deref(),
            Some("Main 10, level 4.0")
        );
        assert_eq!(named("avc1.4D40"), None, "too short");
        assert_eq!(named("avc1.ZZZZZZ"), None);
        assert_eq!(named("mp4v.20.9"), None);
        assert_eq!(named(""), None);
    }

    #[test]
    fn codecs_are_named_as_people_write_them() {
        assert_eq!(codec_name("h264"), "H.264");
        assert_eq!(codec_name("H265"), "H.265");
        assert_eq!(codec_name("mp4v-es"), "MP4V-ES");
    }

    #[test]
    fn key_frames_only_applies_to_h264_with_a_known_interval() {
        let probe = |codec: &str, gop: Option<u64>| Probe {
            reached: Stage::Decoded,
            facts: StreamFacts {
                codec: Some(codec.to_owned()),
                key_frame_interval: gop.map(Duration::from_millis),
                ..Default::default()
            },
            frame: None,
            error: None,
        };
        let second = Duration::from_secs(1);
        assert_eq!(
            probe("H.264", Some(1000)).key_frames_only(second),
            Some(true)
        );
        assert_eq!(
            probe("H.264", Some(2000)).key_frames_only(second),
            Some(false)
        );
        assert_eq!(probe("H.264", None).key_frames_only(second), None);
        assert_eq!(probe("H.265", Some(1000)).key_frames_only(second), None);
    }
}
