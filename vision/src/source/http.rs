//! HTTP cameras. An MJPEG stream (`multipart/x-mixed-replace`) is read continuously and only
//! the latest whole JPEG at each sampling time is decoded; a JPEG snapshot URL is fetched
//! again at each sampling time. Credentials in the URL (`http://user:pass@host/…`) are sent
//! as HTTP Basic authentication.

use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;

use super::{
    Frame, FrameSource, SourceError,
    mjpeg::{MultipartParser, boundary_of},
};

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

enum Mode {
    /// A multipart stream being read.
    Mjpeg {
        body: ByteStream,
        parser: MultipartParser,
    },
    /// A snapshot URL: the first image, then one request per sample.
    Snapshot { first: Option<Vec<u8>> },
}

/// An HTTP camera.
pub struct HttpSource {
    client: reqwest::Client,
    url: String,
    user: Option<(String, Option<String>)>,
    mode: Mode,
    sample_interval: Duration,
    frame_timeout: Duration,
    last_frame: Option<Instant>,
}

impl HttpSource {
    /// Connects and finds out whether the URL is a stream or a snapshot.
    pub async fn connect(
        url: &str,
        sample_interval: Duration,
        frame_timeout: Duration,
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
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| SourceError::Connect(e.to_string()))?;
        let mut source = Self {
            client,
            url: parsed.to_string(),
            user,
            mode: Mode::Snapshot { first: None },
            sample_interval,
            frame_timeout,
            last_frame: None,
        };
        let response = get(&source.client, &source.url, &source.user, frame_timeout).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        source.mode = if content_type.starts_with("multipart/") {
            let boundary = boundary_of(&content_type).ok_or_else(|| {
                SourceError::Protocol(format!("{content_type:?} names no boundary"))
            })?;
            Mode::Mjpeg {
                body: Box::pin(response.bytes_stream()),
                parser: MultipartParser::new(&boundary),
            }
        } else if content_type.starts_with("image/") {
            let bytes = tokio::time::timeout(frame_timeout, response.bytes())
                .await
                .map_err(|_| SourceError::Timeout(frame_timeout))?
                .map_err(|e| SourceError::Connect(e.to_string()))?;
            Mode::Snapshot {
                first: Some(bytes.to_vec()),
            }
        } else {
            return Err(SourceError::Protocol(format!(
                "the camera sent {content_type:?}, neither an MJPEG stream nor an image"
            )));
        };
        Ok(source)
    }
}

/// One GET of the camera's URL.
async fn get(
    client: &reqwest::Client,
    url: &str,
    user: &Option<(String, Option<String>)>,
    timeout: Duration,
) -> Result<reqwest::Response, SourceError> {
    let mut request = client.get(url);
    if let Some((name, password)) = user {
        request = request.basic_auth(name, password.as_deref());
    }
    let response = tokio::time::timeout(timeout, request.send())
        .await
        .map_err(|_| SourceError::Timeout(timeout))?
        .map_err(|e| SourceError::Connect(e.to_string()))?;
    if !response.status().is_success() {
        return Err(SourceError::Connect(format!(
            "the camera answered HTTP {}",
            response.status()
        )));
    }
    Ok(response)
}

fn decode(bytes: &[u8]) -> Result<Frame, SourceError> {
    let image = image::load_from_memory(bytes)
        .map_err(|e| SourceError::Decode(e.to_string()))?
        .to_rgb8();
    Ok(Frame {
        image,
        captured_at: SystemTime::now(),
    })
}

#[async_trait::async_trait]
impl FrameSource for HttpSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        let due = self.last_frame.map(|t| t + self.sample_interval);
        let frame_timeout = self.frame_timeout;
        let frame = match &mut self.mode {
            Mode::Snapshot { first } => {
                if let Some(bytes) = first.take() {
                    decode(&bytes)?
                } else {
                    if let Some(due) = due {
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let response = get(&self.client, &self.url, &self.user, frame_timeout).await?;
                    let bytes = tokio::time::timeout(frame_timeout, response.bytes())
                        .await
                        .map_err(|_| SourceError::Timeout(frame_timeout))?
                        .map_err(|e| SourceError::Connect(e.to_string()))?;
                    decode(&bytes)?
                }
            }
            Mode::Mjpeg { body, parser } => {
                // Read on (the camera keeps sending); decode only the latest whole part once
                // the sampling time has come.
                let mut latest: Option<Vec<u8>> = None;
                loop {
                    while let Some(part) = parser
                        .next_part()
                        .map_err(|e| SourceError::Protocol(e.to_string()))?
                    {
                        latest = Some(part);
                    }
                    let ready = due.is_none_or(|d| Instant::now() >= d);
                    if ready && let Some(bytes) = latest.take() {
                        break decode(&bytes)?;
                    }
                    let chunk = tokio::time::timeout(frame_timeout, body.next())
                        .await
                        .map_err(|_| SourceError::Timeout(frame_timeout))?;
                    match chunk {
                        Some(Ok(bytes)) => parser.push(&bytes),
                        Some(Err(e)) => return Err(SourceError::Connect(e.to_string())),
                        None => return Err(SourceError::Ended),
                    }
                }
            }
        };
        self.last_frame = Some(Instant::now());
        Ok(frame)
    }
}
