//! HTTP cameras. An MJPEG stream (`multipart/x-mixed-replace`) is read continuously and only
//! the latest whole JPEG at each sampling time is decoded; a JPEG snapshot URL is fetched
//! again at each sampling time. Credentials in the URL (`http://user:pass@host/…`) are sent
//! as HTTP Basic authentication.
//!
//! Bounded like every source: connecting within [`SourceOptions::connect_timeout`], an answer,
//! each chunk and each whole frame within [`SourceOptions::frame_timeout`]; snapshots at most
//! [`MAX_SNAPSHOT_BYTES`] (streamed, never buffered whole unchecked), MJPEG parts within the
//! caps of [`super::mjpeg`]; response heads within hyper's own limits (100 headers, a read
//! buffer of about 400 KB); no redirect followed unless [`SourceOptions::max_redirects`] says.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::time::Instant as Deadline;

use super::{
    Frame, FrameSource, SourceError, SourceOptions, decode_frame, framing,
    mjpeg::{self, MultipartError, MultipartParser, boundary_of},
};

/// Largest snapshot accepted, checked against `Content-Length` first and then counted while
/// the body is read (the same as an MJPEG part: a 4K JPEG is a few MB).
pub const MAX_SNAPSHOT_BYTES: usize = mjpeg::MAX_PART_BYTES;

/// What a snapshot buffer starts at when the camera announces a length (grown as bytes come:
/// a camera's `Content-Length` is not trusted with an allocation).
const INITIAL_SNAPSHOT_CAPACITY: usize = 1024 * 1024;

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

enum Mode {
    /// A multipart stream being read.
    Mjpeg {
        body: ByteStream,
        parser: Box<MultipartParser>,
    },
    /// A snapshot URL: the first image, then one request per sample.
    Snapshot { first: Option<Vec<u8>> },
}

/// Where and how requests go.
struct Endpoint {
    client: reqwest::Client,
    url: String,
    user: Option<(String, Option<String>)>,
    frame_timeout: Duration,
    max_redirects: usize,
}

/// An HTTP camera.
pub struct HttpSource {
    endpoint: Endpoint,
    mode: Mode,
    sample_interval: super::Pace,
    frame_timeout: Duration,
    last_frame: Option<Instant>,
}

impl HttpSource {
    /// Connects and finds out whether the URL is a stream or a snapshot. Redirects are
    /// followed up to `options.max_redirects` times (none by default: a redirect is then an
    /// error naming where it points).
    pub async fn connect(
        url: &str,
        sample_interval: impl Into<super::Pace>,
        options: &SourceOptions,
    ) -> Result<Self, SourceError> {
        let mut parsed = reqwest::Url::parse(url)
            .map_err(|e| SourceError::Connect(format!("{url:?} is not a URL: {e}")))?;
        let user = (!parsed.username().is_empty()).then(|| {
            (
                parsed.username().to_owned(),
                parsed.password().map(str::to_owned),
            )
        });
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let redirects = match options.max_redirects {
            0 => reqwest::redirect::Policy::none(),
            n => reqwest::redirect::Policy::limited(n),
        };
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .redirect(redirects)
            .build()
            .map_err(|e| SourceError::Connect(http_error(e)))?;
        let frame_timeout = options.frame_timeout;
        let mut source = Self {
            endpoint: Endpoint {
                client,
                url: parsed.to_string(),
                user,
                frame_timeout,
                max_redirects: options.max_redirects,
            },
            mode: Mode::Snapshot { first: None },
            sample_interval: sample_interval.into(),
            frame_timeout,
            last_frame: None,
        };
        let deadline = Deadline::now() + frame_timeout;
        let response = source.endpoint.get(deadline).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        source.mode = if content_type.starts_with("multipart/") {
            let boundary = boundary_of(&content_type).ok_or_else(|| {
                SourceError::Protocol(format!(
                    "{content_type:?} names no boundary (or one over {} characters)",
                    mjpeg::MAX_BOUNDARY_LEN
                ))
            })?;
            Mode::Mjpeg {
                body: Box::pin(response.bytes_stream()),
                parser: Box::new(MultipartParser::new(&boundary)),
            }
        } else if content_type.starts_with("image/") {
            Mode::Snapshot {
                first: Some(read_snapshot(response, deadline, frame_timeout).await?),
            }
        } else {
            return Err(SourceError::Protocol(format!(
                "the camera sent {content_type:?}, neither an MJPEG stream nor an image"
            )));
        };
        Ok(source)
    }
}

impl Endpoint {
    /// One GET of the camera's URL, answered by `deadline`.
    async fn get(&self, deadline: Deadline) -> Result<reqwest::Response, SourceError> {
        let mut request = self.client.get(&self.url);
        if let Some((name, password)) = &self.user {
            request = request.basic_auth(name, password.as_deref());
        }
        let response = tokio::time::timeout_at(deadline, request.send())
            .await
            .map_err(|_| SourceError::Timeout(self.frame_timeout))?
            .map_err(|e| SourceError::Connect(http_error(e)))?;
        let status = response.status();
        if status.is_redirection() {
            let target = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(origin_of)
                .unwrap_or_else(|| "nowhere (no Location)".to_owned());
            return Err(SourceError::Protocol(format!(
                "the camera redirects (HTTP {status}) to {target}; hadir follows {} redirects \
                 (max_redirects): use the URL it points to",
                self.max_redirects
            )));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(SourceError::Unauthorized(
                if self.user.is_some() {
                    super::rtsp::UNAUTHORIZED_CREDENTIALS
                } else {
                    super::rtsp::UNAUTHORIZED_NO_CREDENTIALS
                }
                .to_owned(),
            ));
        }
        if !status.is_success() {
            return Err(SourceError::Connect(format!(
                "the camera answered HTTP {status}"
            )));
        }
        Ok(response)
    }
}

/// Where a redirect points, as scheme, host and port only (paths and queries of camera URLs
/// often hold tokens).
fn origin_of(location: &str) -> String {
    match reqwest::Url::parse(location) {
        Ok(url) => match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
            (Some(host), None) => format!("{}://{host}", url.scheme()),
            _ => format!("a {} URL", url.scheme()),
        },
        Err(_) => "a path on the same camera".to_owned(),
    }
}

/// A snapshot's body, at most [`MAX_SNAPSHOT_BYTES`] (its `Content-Length` checked first,
/// then the bytes counted as they come), read by `deadline`.
async fn read_snapshot(
    response: reqwest::Response,
    deadline: Deadline,
    timeout: Duration,
) -> Result<Vec<u8>, SourceError> {
    let limit = MAX_SNAPSHOT_BYTES;
    let announced = response.content_length();
    if let Some(length) = announced
        && length > limit as u64
    {
        return Err(SourceError::TooLarge(format!(
            "a snapshot of {length} bytes (its Content-Length); hadir accepts at most {limit}"
        )));
    }
    let mut body = Vec::with_capacity(
        announced
            .map_or(0, |n| n as usize)
            .min(INITIAL_SNAPSHOT_CAPACITY),
    );
    let mut stream = response.bytes_stream();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(SourceError::Timeout(timeout)),
            Ok(None) => return Ok(body),
            Ok(Some(Err(e))) => return Err(SourceError::Connect(http_error(e))),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let needed = body.len() + chunk.len();
        if needed > limit {
            return Err(SourceError::TooLarge(format!(
                "a snapshot of more than {limit} bytes; hadir accepts at most {limit}"
            )));
        }
        framing::extend_within(&mut body, &chunk, limit);
    }
}

fn multipart_error(error: MultipartError) -> SourceError {
    match error {
        MultipartError::BadHeaders(_) => SourceError::Protocol(error.to_string()),
        _ => SourceError::TooLarge(error.to_string()),
    }
}

#[async_trait::async_trait]
impl FrameSource for HttpSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let due = self.last_frame.map(|t| t + self.sample_interval.interval());
        let frame_timeout = self.frame_timeout;
        let frame = match &mut self.mode {
            Mode::Snapshot { first } => {
                if let Some(bytes) = first.take() {
                    decode_frame(&bytes)?
                } else {
                    if let Some(due) = due {
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let deadline = Deadline::now() + frame_timeout;
                    let response = self.endpoint.get(deadline).await?;
                    let bytes = read_snapshot(response, deadline, frame_timeout).await?;
                    decode_frame(&bytes)?
                }
            }
            Mode::Mjpeg { body, parser } => {
                // Read on (the camera keeps sending); decode only the latest whole part once
                // the sampling time has come. A whole part must arrive within the frame
                // timeout (each chunk too): a camera that drips bytes is cut off.
                let mut latest: Option<Vec<u8>> = None;
                let mut deadline = Deadline::now() + frame_timeout;
                loop {
                    while let Some(part) = parser.next_part().map_err(multipart_error)? {
                        latest = Some(part);
                        deadline = Deadline::now() + frame_timeout;
                    }
                    let ready = due.is_none_or(|d| Instant::now() >= d);
                    if ready && let Some(bytes) = latest.take() {
                        break decode_frame(&bytes)?;
                    }
                    let chunk = tokio::time::timeout_at(deadline, body.next())
                        .await
                        .map_err(|_| SourceError::Timeout(frame_timeout))?;
                    match chunk {
                        Some(Ok(bytes)) => parser.push(&bytes),
                        Some(Err(e)) => return Err(SourceError::Connect(http_error(e))),
                        None => return Err(SourceError::Ended),
                    }
                }
            }
        };
        self.last_frame = Some(Instant::now());
        Ok(frame)
    }
}

/// A client error as words, with its causes ("connection refused") but without the URL: the
/// camera is known by its id, and a URL may hold a token in its query.
fn http_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
