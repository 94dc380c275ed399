//! RTSP cameras: `retina` (pure Rust, RTP interleaved over TCP) delivers H.264 access units
//! as Annex B with SPS/PPS before each key frame; `openh264` decodes them.
//!
//! Decode no more than needed: when key frames come at least as often as frames are
//! sampled, only key frames are decoded (the others are skipped unread). Otherwise every
//! frame is decoded (the decoder needs them) but only the sampled ones are converted to RGB.
//! After packet loss the source waits for the next key frame. A stream openh264 cannot decode
//! (B-frames, another codec) is a clear error, not a crash loop.

use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use openh264::decoder::Decoder;
use retina::{
    client::{Credentials, PlayOptions, Session, SessionOptions, SetupOptions},
    codec::{CodecItem, FrameFormat},
};

use super::{Frame, FrameSource, SourceError, h264, percent_decode};

/// An RTSP camera.
pub struct RtspSource {
    stream: retina::client::Demuxed,
    decoder: Decoder,
    sample_interval: Duration,
    frame_timeout: Duration,
    last_frame: Option<Instant>,
    last_key_frame: Option<Instant>,
    /// The interval between the last two key frames.
    key_frame_interval: Option<Duration>,
    waiting_for_key_frame: bool,
    failed_key_frames: u32,
}

impl RtspSource {
    /// DESCRIBE, SETUP of the first H.264 video stream, PLAY.
    pub async fn connect(
        url: &str,
        sample_interval: Duration,
        frame_timeout: Duration,
    ) -> Result<Self, SourceError> {
        let mut parsed = url::Url::parse(url)
            .map_err(|e| SourceError::Connect(format!("{url:?} is not a URL: {e}")))?;
        let creds = (!parsed.username().is_empty()).then(|| Credentials {
            username: percent_decode(parsed.username()),
            password: percent_decode(parsed.password().unwrap_or_default()),
        });
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent("hadir".to_owned());
        let mut session = tokio::time::timeout(frame_timeout, Session::describe(parsed, options))
            .await
            .map_err(|_| SourceError::Timeout(frame_timeout))?
            .map_err(|e| SourceError::Connect(e.to_string()))?;
        let video = session
            .streams()
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264"))
            .ok_or_else(|| {
                let found: Vec<String> = session
                    .streams()
                    .iter()
                    .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
                    .collect();
                SourceError::Unsupported(format!(
                    "the camera offers no H.264 video stream (it offers {}); set it to H.264",
                    found.join(", ")
                ))
            })?;
        tokio::time::timeout(
            frame_timeout,
            session.setup(
                video,
                SetupOptions::default().frame_format(FrameFormat::SIMPLE),
            ),
        )
        .await
        .map_err(|_| SourceError::Timeout(frame_timeout))?
        .map_err(|e| SourceError::Connect(e.to_string()))?;
        let playing = tokio::time::timeout(frame_timeout, session.play(PlayOptions::default()))
            .await
            .map_err(|_| SourceError::Timeout(frame_timeout))?
            .map_err(|e| SourceError::Connect(e.to_string()))?;
        let stream = playing
            .demuxed()
            .map_err(|e| SourceError::Protocol(e.to_string()))?;
        let decoder = Decoder::new().map_err(|e| SourceError::Decode(e.to_string()))?;
        Ok(Self {
            stream,
            decoder,
            sample_interval,
            frame_timeout,
            last_frame: None,
            last_key_frame: None,
            key_frame_interval: None,
            waiting_for_key_frame: true,
            failed_key_frames: 0,
        })
    }

    /// Whether key frames alone are frequent enough for the sampling rate.
    pub fn decodes_key_frames_only(&self) -> bool {
        h264::key_frames_suffice(self.key_frame_interval, self.sample_interval)
    }
}

#[async_trait::async_trait]
impl FrameSource for RtspSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        loop {
            let item = tokio::time::timeout(self.frame_timeout, self.stream.next())
                .await
                .map_err(|_| SourceError::Timeout(self.frame_timeout))?;
            let frame = match item {
                None => return Err(SourceError::Ended),
                Some(Err(e)) => return Err(SourceError::Connect(e.to_string())),
                Some(Ok(CodecItem::VideoFrame(frame))) => frame,
                Some(Ok(_)) => continue,
            };
            let now = Instant::now();
            let key = frame.is_random_access_point();
            if frame.loss() > 0 {
                self.waiting_for_key_frame = true;
            }
            if key {
                if let Some(previous) = self.last_key_frame {
                    self.key_frame_interval = Some(now - previous);
                }
                self.last_key_frame = Some(now);
                self.waiting_for_key_frame = false;
            }
            if self.waiting_for_key_frame || (!key && self.decodes_key_frames_only()) {
                continue;
            }
            let due = self
                .last_frame
                .is_none_or(|t| now >= t + self.sample_interval);
            let decoded = match self.decoder.decode(frame.data()) {
                Ok(Some(yuv)) => {
                    if key {
                        self.failed_key_frames = 0;
                    }
                    if !due {
                        continue;
                    }
                    h264::to_rgb(&yuv)?
                }
                Ok(None) => continue,
                Err(error) => {
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
            self.last_frame = Some(now);
            return Ok(Frame {
                image: decoded,
                captured_at: SystemTime::now(),
            });
        }
    }
}
