//! Connecting to an RTSP camera in three steps: [`Connection::open`] (TCP, through the
//! [`RtspGuard`]), [`Connection::describe`] (what the camera offers), [`Described::play`]
//! (SETUP of its H.264 video, PLAY). retina's errors become [`SourceError`]s that say what to
//! do: a 401 is [`SourceError::Unauthorized`], an H.265 camera is told to switch to H.264.

use std::{sync::Arc, time::Duration};

use retina::client::{Credentials, PlayOptions, Session, SessionOptions, SetupOptions};
use retina::codec::FrameFormat;

use super::{GroupOfPictures, RtspSource};
use crate::source::{
    Pace, SourceError, SourceOptions,
    decoders::KeyFrameDecoders,
    h264, percent_decode,
    probe::{self, StreamFacts},
    rtsp_guard::RtspGuard,
};

/// An RTSP camera connected to (through its [`RtspGuard`]), not yet asked for anything: the
/// first step of [`RtspSource::connect`], apart for those who report how far a camera got
/// (`hadir doctor`).
pub struct Connection {
    guard: RtspGuard,
    creds: Option<Credentials>,
    frame_timeout: Duration,
    key_frame_decoders: Arc<KeyFrameDecoders>,
}

/// A camera that answered DESCRIBE: what it offers, before anything is set up.
pub struct Described {
    session: Session<retina::client::Described>,
    guard: RtspGuard,
    frame_timeout: Duration,
    key_frame_decoders: Arc<KeyFrameDecoders>,
}

/// One stream a camera offers: `video`/`audio`…, its encoding (`h264`, `h265`…), and what its
/// description says of it.
#[derive(Clone, Debug)]
pub struct Offered {
    pub media: String,
    pub encoding: String,
    pub facts: StreamFacts,
}

/// A retina error as a source error: what the guard cut, a refusal of the credentials, or the
/// error itself.
fn failed(guard: &RtspGuard, had_creds: bool, error: retina::Error) -> SourceError {
    if let Some(violation) = guard.violation() {
        return violation.into();
    }
    if error.status_code() == Some(401) {
        return SourceError::Unauthorized(if had_creds {
            UNAUTHORIZED_CREDENTIALS.to_owned()
        } else {
            UNAUTHORIZED_NO_CREDENTIALS.to_owned()
        });
    }
    SourceError::Connect(error.to_string())
}

/// What a 401 to the credentials of the URL means.
pub const UNAUTHORIZED_CREDENTIALS: &str =
    "the camera refused the user name/password in its stream URL";
/// What a 401 to a URL without credentials means.
pub const UNAUTHORIZED_NO_CREDENTIALS: &str = "the camera asks for a user name and password, \
     and its stream URL has none (rtsp://USER:PASSWORD@host/…)";

impl Connection {
    /// Connects to the camera (within `options.connect_timeout`) through an [`RtspGuard`].
    pub async fn open(url: &str, options: &SourceOptions) -> Result<Self, SourceError> {
        let mut parsed = url::Url::parse(url)
            .map_err(|e| SourceError::Connect(format!("{url:?} is not a URL: {e}")))?;
        if !parsed.scheme().eq_ignore_ascii_case("rtsp") {
            return Err(SourceError::Unsupported(format!(
                "{}:// (RTSP over TLS) is not supported: use the camera's rtsp:// URL",
                parsed.scheme()
            )));
        }
        let creds = (!parsed.username().is_empty()).then(|| Credentials {
            username: percent_decode(parsed.username()),
            password: percent_decode(parsed.password().unwrap_or_default()),
        });
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let guard = RtspGuard::start(&parsed, options.connect_timeout).await?;
        Ok(Self {
            guard,
            creds,
            frame_timeout: options.frame_timeout,
            key_frame_decoders: options.key_frame_decoders.clone(),
        })
    }

    /// DESCRIBE (with the URL's credentials when the camera asks), within the frame timeout.
    pub async fn describe(self) -> Result<Described, SourceError> {
        let Self {
            guard,
            creds,
            frame_timeout,
            key_frame_decoders,
        } = self;
        let had_creds = creds.is_some();
        let session_options = SessionOptions::default()
            .creds(creds)
            .user_agent("hadir".to_owned());
        let session = tokio::time::timeout(
            frame_timeout,
            Session::describe(guard.relay_url().clone(), session_options),
        )
        .await
        .map_err(|_| SourceError::Timeout(frame_timeout))?
        .map_err(|e| failed(&guard, had_creds, e))?;
        Ok(Described {
            session,
            guard,
            frame_timeout,
            key_frame_decoders,
        })
    }
}

impl Described {
    /// Every stream the camera offers.
    pub fn offered(&self) -> Vec<Offered> {
        self.session
            .streams()
            .iter()
            .map(|s| Offered {
                media: s.media().to_owned(),
                encoding: s.encoding_name().to_ascii_lowercase(),
                facts: probe::facts_of(s),
            })
            .collect()
    }

    /// SETUP of the first H.264 video stream, then PLAY, each within the frame timeout. A
    /// camera that offers no H.264 video is an [`SourceError::Unsupported`] naming what it
    /// offers (H.265: switch the stream to H.264).
    pub async fn play(
        mut self,
        sample_interval: impl Into<Pace>,
    ) -> Result<RtspSource, SourceError> {
        let frame_timeout = self.frame_timeout;
        let guard = self.guard;
        let video = self
            .session
            .streams()
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264"))
            .ok_or_else(|| no_h264(&self.session))?;
        tokio::time::timeout(
            frame_timeout,
            self.session.setup(
                video,
                SetupOptions::default().frame_format(FrameFormat::SIMPLE),
            ),
        )
        .await
        .map_err(|_| SourceError::Timeout(frame_timeout))?
        .map_err(|e| failed(&guard, true, e))?;
        let playing =
            tokio::time::timeout(frame_timeout, self.session.play(PlayOptions::default()))
                .await
                .map_err(|_| SourceError::Timeout(frame_timeout))?
                .map_err(|e| failed(&guard, true, e))?;
        let stream = playing
            .demuxed()
            .map_err(|e| SourceError::Protocol(e.to_string()))?;
        Ok(RtspSource {
            stream,
            video,
            guard,
            key_frame_decoders: self.key_frame_decoders,
            decoder: None,
            group: GroupOfPictures::default(),
            frame_timeout,
            sampler: h264::Sampler::new(sample_interval),
            last_key_frame: None,
            key_frame_interval: None,
            frames_since_key: 0,
            key_frame_distance: None,
            frames_seen: 0,
            first_at: None,
            last_at: None,
            waiting_for_key_frame: true,
            failed_key_frames: 0,
        })
    }
}

/// Why a camera without an H.264 video stream cannot be read, naming what it offers.
fn no_h264(session: &Session<retina::client::Described>) -> SourceError {
    let streams = session.streams();
    let found: Vec<String> = streams
        .iter()
        .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
        .collect();
    let h265 = streams
        .iter()
        .any(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h265"));
    SourceError::Unsupported(if h265 {
        format!(
            "the camera streams H.265 ({}), which hadir cannot decode (openh264 decodes H.264 \
             only): {H265_ADVICE}",
            found.join(", ")
        )
    } else {
        format!(
            "the camera offers no H.264 video stream (it offers {}); set it to H.264",
            found.join(", ")
        )
    })
}

/// What to do about an H.265 camera.
pub const H265_ADVICE: &str = "switch the camera's stream (main or sub) to H.264";
