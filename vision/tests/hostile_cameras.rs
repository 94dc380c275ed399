//! Hostile cameras: real TCP servers of the test's own on 127.0.0.1 (MJPEG and snapshot over
//! HTTP, RTSP) and hostile files, read through hadir's own sources. Each must end in a clear
//! error or a bounded, documented behaviour: never a crash, a hang or unbounded growth.
//! docs/robustness.md lists them.

mod common;

use std::{
    future::Future,
    io::Cursor,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::png_13000_square;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use vision::source::{
    self, Frame, SourceError, SourceOptions, h264::MAX_ACCESS_UNIT_BYTES, http::MAX_SNAPSHOT_BYTES,
    mjpeg::MAX_PART_BYTES, rtsp_guard,
};

/// Asserts that `error` matches the pattern (and guard) given, and that its text holds each
/// of the strings after it.
macro_rules! assert_error {
    ($error:expr, $kind:pat $(if $guard:expr)? $(, $part:expr)* $(,)?) => {{
        let error = $error;
        let text = error.to_string();
        assert!(matches!(error, $kind $(if $guard)?), "{text}");
        $(assert!(text.contains($part), "{text}");)*
    }};
}

/// A test server on 127.0.0.1: its port, and the bytes its handlers report sending.
struct Server {
    port: u16,
    sent: Arc<AtomicUsize>,
}

impl Server {
    /// `scheme://127.0.0.1:PORT/path` on this server.
    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/{path}", self.port)
    }

    /// The bytes the handlers report sending so far.
    fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// The error that opening [`Server::url`] and reading one frame ends in.
    async fn error(&self, scheme: &str, path: &str, options: &SourceOptions) -> SourceError {
        refusal(&self.url(scheme, path), options).await
    }
}

/// A server on 127.0.0.1 that runs `handler` for every connection, with the counter of the
/// bytes handlers report sending.
async fn serve<F, Fut>(handler: F) -> Server
where
    F: Fn(TcpStream, Arc<AtomicUsize>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(handler(socket, counter.clone()));
        }
    });
    Server { port, sent }
}

/// What a test server does after its answer.
enum Then {
    /// Closes the connection at once.
    Close,
    /// Waits this long, then closes.
    Wait(Duration),
    /// Writes `bytes` again and again until the peer goes away or `limit` bytes were sent.
    Flood { bytes: Vec<u8>, limit: usize },
    /// Writes `pieces` one at a time, `every` apart, until the peer goes away.
    Drip {
        pieces: Vec<Vec<u8>>,
        every: Duration,
    },
}

/// A server that reads each request head, writes `answer` of it, then does `then`.
async fn serve_answering(
    answer: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
    then: Then,
) -> Server {
    let (answer, then) = (Arc::new(answer), Arc::new(then));
    serve(move |mut socket, sent| {
        let (answer, then) = (answer.clone(), then.clone());
        async move {
            let request = read_head(&mut socket).await;
            let _ = socket.write_all(&answer(&request)).await;
            match &*then {
                Then::Close => {}
                Then::Wait(time) => tokio::time::sleep(*time).await,
                Then::Flood { bytes, limit } => flood(&mut socket, bytes, &sent, *limit).await,
                Then::Drip { pieces, every } => {
                    for piece in pieces {
                        if socket.write_all(piece).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(*every).await;
                    }
                }
            }
        }
    })
    .await
}

/// A server that answers every request with the same bytes, then does `then`.
async fn serve_canned(answer: impl Into<Vec<u8>>, then: Then) -> Server {
    let answer = answer.into();
    serve_answering(move |_| answer.clone(), then).await
}

/// Reads a request head (up to its blank line, at most 16 KiB).
async fn read_head(socket: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    head
}

/// Writes `bytes` again and again until the peer goes away (or `limit` bytes), counting.
async fn flood(socket: &mut TcpStream, bytes: &[u8], sent: &AtomicUsize, limit: usize) {
    while sent.load(Ordering::Relaxed) < limit {
        if socket.write_all(bytes).await.is_err() {
            return;
        }
        sent.fetch_add(bytes.len(), Ordering::Relaxed);
    }
}

/// The default options, but for a frame timeout of `timeout`.
fn frame_timeout(timeout: Duration) -> SourceOptions {
    SourceOptions {
        frame_timeout: timeout,
        ..SourceOptions::default()
    }
}

fn quick() -> SourceOptions {
    frame_timeout(Duration::from_secs(5))
}

/// Opens `url` and reads one frame.
async fn first_frame(url: &str, options: &SourceOptions) -> Result<Frame, SourceError> {
    let mut camera = source::open(url, Duration::from_millis(10), options).await?;
    camera.next_frame().await
}

/// The error that opening `url` and reading one frame ends in.
async fn refusal(url: &str, options: &SourceOptions) -> SourceError {
    first_frame(url, options).await.unwrap_err()
}

/// A `file://` URL of `path`.
fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

/// Plays `bytes`, written as the file `name`, as a file camera to its end: the frames it
/// gave, and the error it ended in (none where the file just ended).
async fn play_file(name: &str, bytes: &[u8]) -> (usize, Option<SourceError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let url = file_url(&path);
    let mut camera = match source::open(&url, Duration::from_millis(1), &quick()).await {
        Ok(camera) => camera,
        Err(e) => return (0, Some(e)),
    };
    let mut frames = 0;
    loop {
        match camera.next_frame().await {
            Ok(_) => frames += 1,
            Err(SourceError::Ended) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
}

/// A `width` × `height` grey image, encoded as `format`.
fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(width, height, image::Rgb([90, 90, 90]))
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, image::ImageFormat::Png)
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, image::ImageFormat::Jpeg)
}

/// An HTTP answer of `body`, of type `content_type`, with its length.
fn http_ok(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

const MJPEG_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n";

/// A part of an MJPEG stream (boundary `frame`) holding `body`, with its length or not.
fn mjpeg_part(content_type: &str, body: &[u8], with_length: bool) -> Vec<u8> {
    let mut part = format!("--frame\r\nContent-Type: {content_type}\r\n");
    if with_length {
        part += &format!("Content-Length: {}\r\n", body.len());
    }
    part += "\r\n";
    let mut part = part.into_bytes();
    part.extend_from_slice(body);
    part.extend_from_slice(b"\r\n");
    part
}

// ---------------------------------------------------------------------------------------
// MJPEG
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn mjpeg_giant_content_length_is_refused() {
    let camera = serve_canned(
        format!(
            "{MJPEG_HEAD}--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 2000000000\r\n\r\n"
        ),
        Then::Flood {
            bytes: vec![0xFF; 64 * 1024],
            limit: 64 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("http", "video", &quick()).await,
        SourceError::TooLarge(_),
        "Content-Length 2000000000",
        &MAX_PART_BYTES.to_string(),
    );
}

#[tokio::test]
async fn mjpeg_part_without_length_or_boundary_is_cut_at_the_cap() {
    let camera = serve_canned(
        format!("{MJPEG_HEAD}--frame\r\nContent-Type: image/jpeg\r\n\r\n"),
        Then::Flood {
            bytes: vec![0x55; 64 * 1024],
            limit: 256 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("http", "video", &quick()).await,
        SourceError::TooLarge(_),
        "without Content-Length",
        "no boundary",
    );
    // The source stopped reading at the cap: the server could send only that, plus what
    // the sockets' buffers hold.
    let sent = camera.sent();
    assert!(sent < MAX_PART_BYTES + (32 << 20), "{sent} bytes sent");
}

#[tokio::test]
async fn mjpeg_stream_without_any_boundary_is_refused() {
    let camera = serve_canned(
        MJPEG_HEAD,
        Then::Flood {
            bytes: b"no boundary here, ever. ".to_vec(),
            limit: 256 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("http", "video", &quick()).await,
        SourceError::TooLarge(_),
        "without a boundary",
    );
}

#[tokio::test]
async fn mjpeg_endless_part_headers_are_refused() {
    let camera = serve_canned(
        format!("{MJPEG_HEAD}--frame\r\n"),
        Then::Flood {
            bytes: b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec(),
            limit: 256 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("http", "video", &quick()).await,
        SourceError::TooLarge(_),
        "headers run over 16384 bytes",
    );
}

#[tokio::test]
async fn mjpeg_slow_drip_times_out() {
    let part = format!(
        "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n{}",
        "x".repeat(1000)
    );
    let camera = serve_canned(
        MJPEG_HEAD,
        Then::Drip {
            pieces: part.bytes().map(|b| vec![b]).collect(),
            every: Duration::from_millis(100),
        },
    )
    .await;
    let options = frame_timeout(Duration::from_secs(1));
    assert_error!(
        camera.error("http", "video", &options).await,
        SourceError::Timeout(t) if t == Duration::from_secs(1),
    );
}

#[tokio::test]
async fn mjpeg_bad_part_length_is_refused() {
    let camera = serve_canned(
        format!("{MJPEG_HEAD}--frame\r\nContent-Length: -12\r\n\r\nabc"),
        Then::Wait(Duration::from_secs(10)),
    )
    .await;
    assert_error!(
        camera.error("http", "video", &quick()).await,
        SourceError::Protocol(_),
        "\"-12\" is not a length",
    );
}

#[tokio::test]
async fn mjpeg_frame_of_absurd_shape_is_refused() {
    let mut stream = MJPEG_HEAD.as_bytes().to_vec();
    stream.extend(mjpeg_part("image/png", &png(1, 60000), true));
    stream.extend_from_slice(b"--frame\r\n");
    let camera = serve_canned(stream, Then::Wait(Duration::from_secs(10))).await;
    assert_error!(
        camera.error("http", "video", &quick()).await,
        SourceError::FrameSize(size) if (size.width, size.height) == (1, 60000),
        "1×60000",
        "8:1",
    );
}

#[tokio::test]
async fn mjpeg_stream_of_good_frames_still_plays() {
    let frame = jpeg(64, 48);
    let camera = serve_canned(
        MJPEG_HEAD,
        Then::Drip {
            // With and without Content-Length, alternately.
            pieces: (0..50)
                .map(|i| mjpeg_part("image/jpeg", &frame, i % 2 == 0))
                .collect(),
            every: Duration::from_millis(5),
        },
    )
    .await;
    let mut camera = source::open(
        &camera.url("http", "video"),
        Duration::from_millis(1),
        &quick(),
    )
    .await
    .unwrap();
    for _ in 0..5 {
        assert_eq!(
            camera.next_frame().await.unwrap().image.dimensions(),
            (64, 48)
        );
    }
}

#[tokio::test]
async fn http_redirect_is_not_followed() {
    let visited = Arc::new(AtomicBool::new(false));
    let seen = visited.clone();
    let frame = http_ok("image/jpeg", &jpeg(64, 48));
    let target = serve_answering(
        move |_| {
            seen.store(true, Ordering::Relaxed);
            frame.clone()
        },
        Then::Close,
    )
    .await
    .port;
    let camera = serve_canned(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target}/secret?token=hunter2\r\nContent-Length: 0\r\n\r\n"
        ),
        Then::Close,
    )
    .await;
    let url = camera.url("http", "snapshot.jpg");
    let error = refusal(&url, &quick()).await;
    let text = error.to_string();
    assert!(matches!(error, SourceError::Protocol(_)), "{text}");
    assert!(text.contains("redirects (HTTP 302 Found)"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{target}")),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("secret"),
        "{text}"
    );
    assert!(
        !visited.load(Ordering::Relaxed),
        "the redirect was not followed"
    );
    // Allowed explicitly, it is followed.
    let options = SourceOptions {
        max_redirects: 1,
        ..quick()
    };
    let frame = first_frame(&url, &options).await.unwrap();
    assert_eq!(frame.image.dimensions(), (64, 48));
    assert!(visited.load(Ordering::Relaxed));
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_giant_content_length_is_refused() {
    let camera = serve_canned(
        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1500000000\r\n\r\n",
        Then::Flood {
            bytes: vec![0xFF; 64 * 1024],
            limit: 64 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("http", "snap.jpg", &quick()).await,
        SourceError::TooLarge(_),
        "1500000000 bytes (its Content-Length)",
        &MAX_SNAPSHOT_BYTES.to_string(),
    );
}

#[tokio::test]
async fn snapshot_giant_body_is_cut_at_the_cap() {
    // No length: the body runs until the connection closes (1.5 GB if it were read).
    let camera = serve_canned(
        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n",
        Then::Flood {
            bytes: vec![0xD8; 64 * 1024],
            limit: 1_500_000_000,
        },
    )
    .await;
    assert_error!(
        camera.error("http", "snap.jpg", &quick()).await,
        SourceError::TooLarge(_),
        "a snapshot of more than 16777216 bytes",
    );
    let sent = camera.sent();
    assert!(sent < MAX_SNAPSHOT_BYTES + (32 << 20), "{sent} bytes sent");
}

#[tokio::test]
async fn snapshot_slow_body_times_out() {
    let camera = serve_canned(
        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n",
        Then::Drip {
            pieces: vec![vec![0]; 100_000],
            every: Duration::from_millis(100),
        },
    )
    .await;
    let options = frame_timeout(Duration::from_secs(1));
    assert_error!(
        camera.error("http", "snap.jpg", &options).await,
        SourceError::Timeout(_),
    );
}

/// The error a snapshot camera serving `image` as a PNG ends in.
async fn snapshot_error(image: &[u8]) -> SourceError {
    let camera = serve_canned(http_ok("image/png", image), Then::Close).await;
    camera.error("http", "snap.png", &quick()).await
}

#[tokio::test]
async fn snapshot_of_13000_square_png_is_refused_before_decoding() {
    assert_error!(
        snapshot_error(&png_13000_square()).await,
        SourceError::FrameSize(size) if (size.width, size.height) == (13000, 13000),
        "13000×13000",
    );
}

#[tokio::test]
async fn snapshot_of_1x60000_is_refused() {
    assert_error!(
        snapshot_error(&png(1, 60000)).await,
        SourceError::FrameSize(size) if (size.width, size.height) == (1, 60000),
    );
}

#[tokio::test]
async fn snapshot_garbage_is_a_decode_error() {
    let error = snapshot_error(b"\x89PNG\r\n\x1a\nthis is not the rest of a PNG").await;
    assert!(matches!(error, SourceError::Decode(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("cannot decode a frame: not a JPEG or PNG image: "),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn file_camera_refuses_absurd_frames() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, size) in [
        ("tall.png", png(1, 60000), (1, 60000)),
        ("huge.png", png_13000_square(), (13000, 13000)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let error = refusal(&file_url(&path), &quick()).await;
        assert!(
            matches!(error, SourceError::FrameSize(s) if (s.width, s.height) == size),
            "{name}: {error}"
        );
    }
}

#[tokio::test]
async fn file_camera_refuses_an_image_file_over_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jpg");
    // Sparse: no disk used.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(source::file::MAX_IMAGE_FILE_BYTES + 1)
        .unwrap();
    assert_error!(
        refusal(&file_url(&path), &quick()).await,
        SourceError::TooLarge(_),
        "67108865 bytes",
    );
}

#[test]
fn uploaded_photo_of_13000_square_is_refused_before_decoding() {
    let error = vision::pipeline::decode_image(&png_13000_square()).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("13000×13000") && text.contains("8192"),
        "{text}"
    );
}

#[test]
fn large_uploaded_photo_is_shrunk_before_analysis() {
    // Just over 4K's pixel count (large images are slow in debug builds).
    let scaled = vision::pipeline::decode_image(&png(3900, 2200)).unwrap();
    assert!(scaled.image.width * scaled.image.height <= vision::frame::MAX_ANALYSIS_PIXELS);
    assert!(scaled.scale > 1.0);
    assert!((scaled.image.width as f32 * scaled.scale - 3900.0).abs() < 1.0);
}

// ---------------------------------------------------------------------------------------
// H.264
// ---------------------------------------------------------------------------------------

/// A real H.264 stream (Annex B) of `frames` frames of `width` × `height`, from openh264.
fn encode_h264(width: usize, height: usize, frames: usize) -> Vec<u8> {
    let mut encoder = openh264::encoder::Encoder::new().unwrap();
    let mut stream = Vec::new();
    for i in 0..frames {
        let rgb: Vec<u8> = (0..width * height * 3)
            .map(|p| ((p / 3 + i * 7) % 251) as u8)
            .collect();
        let yuv = openh264::formats::YUVBuffer::from_rgb8_source(
            openh264::formats::RgbSliceU8::new(&rgb, (width, height)),
        );
        encoder.encode(&yuv).unwrap().write_vec(&mut stream);
    }
    stream
}

/// [`play_file`] of a raw H.264 file.
async fn play_raw(bytes: &[u8]) -> (usize, Option<SourceError>) {
    play_file("stream.h264", bytes).await
}

#[tokio::test]
async fn h264_stream_plays_from_a_raw_file() {
    let (frames, error) = play_raw(&encode_h264(64, 48, 10)).await;
    assert!(error.is_none(), "{error:?}");
    assert!(frames >= 1, "{frames} frames");
}

#[tokio::test]
async fn h264_garbage_is_an_error_or_nothing_never_a_panic() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    for size in [0usize, 1, 3, 100, 10_000, 300_000] {
        let mut bytes = random(size);
        // Start codes sprinkled in, so that the decoder is fed NAL units of garbage.
        for at in (0..bytes.len()).step_by(997) {
            bytes[at..(at + 4).min(size)].copy_from_slice(&[0, 0, 0, 1][..(size - at).min(4)]);
        }
        let (frames, error) = play_raw(&bytes).await;
        assert_eq!(frames, 0, "no picture from garbage");
        if let Some(error) = error {
            assert!(matches!(error, SourceError::Decode(_)), "{error}");
        }
    }
}

#[tokio::test]
async fn h264_truncated_and_corrupted_nal_units_never_panic() {
    let stream = encode_h264(64, 48, 12);
    let starts: Vec<usize> = stream
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == [0, 0, 1])
        .map(|(i, _)| i)
        .collect();
    assert!(starts.len() >= 4, "SPS, PPS and frames");
    // Every NAL unit cut in half.
    let mut truncated = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(stream.len());
        truncated.extend_from_slice(&stream[start..start + (end - start).div_ceil(2)]);
    }
    // Every 50th byte flipped.
    let mut corrupted = stream.clone();
    for byte in corrupted.iter_mut().skip(20).step_by(50) {
        *byte ^= 0x5A;
    }
    // The stream cut off in the middle of a frame.
    let cut = stream[..stream.len() * 2 / 3].to_vec();
    for (name, bytes) in [
        ("truncated", truncated),
        ("corrupted", corrupted),
        ("cut", cut),
    ] {
        let (_, error) = play_raw(&bytes).await;
        if let Some(error) = error {
            assert!(
                matches!(error, SourceError::Decode(_) | SourceError::FrameSize(_)),
                "{name}: {error}"
            );
        }
    }
}

#[tokio::test]
async fn h264_nal_unit_over_the_cap_is_refused() {
    let mut bytes = vec![0, 0, 0, 1, 0x65];
    bytes.resize(MAX_ACCESS_UNIT_BYTES + 1000, 0x11);
    let (frames, error) = play_raw(&bytes).await;
    assert_eq!(frames, 0);
    assert_error!(
        error.expect("an error"),
        SourceError::TooLarge(_),
        "NAL unit runs over 16777216 bytes",
    );
}

#[tokio::test]
async fn h264_frames_of_absurd_shape_are_refused() {
    // 16×256: each side within bounds, but 16:1.
    let (frames, error) = play_raw(&encode_h264(16, 256, 2)).await;
    assert_eq!(frames, 0);
    assert_error!(
        error.expect("an error"),
        SourceError::FrameSize(s) if (s.width, s.height) == (16, 256),
    );
}

// ---------------------------------------------------------------------------------------
// RTSP
// ---------------------------------------------------------------------------------------

fn cseq(request: &[u8]) -> String {
    String::from_utf8_lossy(request)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("cseq")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "1".into())
}

#[tokio::test]
async fn rtsp_describe_with_2gb_content_length_is_refused() {
    let camera = serve_answering(
        |request| {
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: {}\r\nContent-Type: application/sdp\r\nContent-Length: 2000000000\r\n\r\n",
                cseq(request)
            )
            .into_bytes()
        },
        Then::Flood {
            bytes: b"v=0\r\na=padding\r\n".to_vec(),
            limit: 256 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("rtsp", "stream", &quick()).await,
        SourceError::TooLarge(_),
        "RTSP guard",
        "Content-Length 2000000000",
    );
    let sent = camera.sent();
    assert!(
        sent < (64 << 20),
        "{sent} bytes sent: the connection was closed"
    );
}

#[tokio::test]
async fn rtsp_endless_headers_are_refused() {
    let camera = serve_answering(
        |request| format!("RTSP/1.0 200 OK\r\nCSeq: {}\r\n", cseq(request)).into_bytes(),
        Then::Flood {
            bytes: b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec(),
            limit: 400 << 20,
        },
    )
    .await;
    assert_error!(
        camera.error("rtsp", "stream", &quick()).await,
        SourceError::TooLarge(_),
        &format!("head runs over {} bytes", rtsp_guard::MAX_HEAD_BYTES),
    );
    let sent = camera.sent();
    assert!(
        sent < (64 << 20),
        "{sent} bytes sent: the connection was closed"
    );
}

#[tokio::test]
async fn rtsp_garbage_answer_is_refused() {
    let camera = serve_canned(
        "HTTP/1.1 400 Bad Request\r\n\r\n",
        Then::Wait(Duration::from_secs(10)),
    )
    .await;
    assert_error!(
        camera.error("rtsp", "stream", &quick()).await,
        SourceError::Protocol(_),
        "HTTP/1.1 400",
    );
}

#[tokio::test]
async fn rtsp_silent_camera_times_out() {
    let camera = serve_canned("", Then::Wait(Duration::from_secs(30))).await;
    let options = frame_timeout(Duration::from_secs(1));
    assert_error!(
        camera.error("rtsp", "stream", &options).await,
        SourceError::Timeout(_),
    );
}

#[tokio::test]
async fn rtsp_unreachable_camera_is_a_connect_error() {
    // A port that was free a moment ago.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    assert_error!(
        refusal(&format!("rtsp://127.0.0.1:{port}/stream"), &quick()).await,
        SourceError::Connect(_),
        &format!("127.0.0.1:{port}"),
    );
}

#[tokio::test]
async fn rtsps_is_refused_clearly() {
    assert_error!(
        refusal("rtsps://127.0.0.1:1/stream", &quick()).await,
        SourceError::Unsupported(_),
        "RTSP over TLS",
        "rtsp://",
    );
}

/// An RTSP camera that answers DESCRIBE, SETUP and PLAY properly, then sends RTP packets of
/// one video frame that never ends (fragments of one NAL unit, one timestamp, no marker).
async fn endless_frame_camera(mut socket: TcpStream, sent: Arc<AtomicUsize>) {
    let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hostile\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n\
               a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:track1\r\n";
    loop {
        let request = read_head(&mut socket).await;
        if request.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&request).into_owned();
        let seq = cseq(&request);
        let answer = if text.starts_with("DESCRIBE") {
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: {seq}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            )
        } else if text.starts_with("SETUP") {
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: {seq}\r\nSession: 12345678;timeout=60\r\n\
                 Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
            )
        } else if text.starts_with("PLAY") {
            format!("RTSP/1.0 200 OK\r\nCSeq: {seq}\r\nSession: 12345678\r\n\r\n")
        } else {
            format!("RTSP/1.0 200 OK\r\nCSeq: {seq}\r\n\r\n")
        };
        if socket.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        if text.starts_with("PLAY") {
            break;
        }
    }
    let payload = 60_000usize;
    let mut sequence = 0u16;
    while sent.load(Ordering::Relaxed) < 256 << 20 {
        let len = (12 + 2 + payload) as u16;
        let mut packet = vec![b'$', 0];
        packet.extend_from_slice(&len.to_be_bytes());
        packet.extend_from_slice(&[0x80, 96]);
        packet.extend_from_slice(&sequence.to_be_bytes());
        packet.extend_from_slice(&1000u32.to_be_bytes());
        packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        // FU-A of an IDR slice: the start fragment first, then middle ones, never the end.
        packet.push(0x7C);
        packet.push(if sequence == 0 { 0x85 } else { 0x05 });
        packet.resize(packet.len() + payload, 0x42);
        if socket.write_all(&packet).await.is_err() {
            return;
        }
        sent.fetch_add(packet.len(), Ordering::Relaxed);
        sequence = sequence.wrapping_add(1);
    }
}

#[tokio::test]
async fn rtsp_endless_video_frame_is_refused() {
    let camera = serve(endless_frame_camera).await;
    assert_error!(
        camera.error("rtsp", "stream", &quick()).await,
        SourceError::TooLarge(_),
        "one video frame",
    );
    let sent = camera.sent();
    assert!(
        sent < MAX_ACCESS_UNIT_BYTES + (32 << 20),
        "{sent} bytes sent"
    );
}

// ---------------------------------------------------------------------------------------
// MP4 recordings
// ---------------------------------------------------------------------------------------

/// A real MP4 of `frames` frames of 64×48 H.264 (openh264), written with the `mp4` crate.
fn mp4_recording(frames: usize) -> Vec<u8> {
    let stream = encode_h264(64, 48, frames);
    // The encoder's output, frame by frame: split it into NAL units, then into samples.
    let mut splitter = vision::source::h264::AnnexBSplitter::default();
    splitter.push(&stream);
    let mut units = Vec::new();
    while let Some(nal) = splitter.next_nal().unwrap() {
        units.push(nal.to_vec());
    }
    units.extend(splitter.finish().unwrap().map(<[u8]>::to_vec));
    let body = |nal: &[u8]| -> Vec<u8> {
        let skip = if nal.starts_with(&[0, 0, 1]) { 3 } else { 4 };
        nal[skip..].to_vec()
    };
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    let mut samples: Vec<(bool, Vec<u8>)> = Vec::new();
    for nal in &units {
        let nal = body(nal);
        match nal.first().map(|b| b & 0x1F) {
            Some(7) => sps = nal,
            Some(8) => pps = nal,
            Some(kind @ (1 | 5)) => {
                let mut sample = (nal.len() as u32).to_be_bytes().to_vec();
                sample.extend_from_slice(&nal);
                samples.push((kind == 5, sample));
            }
            _ => {}
        }
    }
    let config = mp4::Mp4Config {
        major_brand: str::parse("isom").unwrap(),
        minor_version: 512,
        compatible_brands: vec![str::parse("isom").unwrap(), str::parse("avc1").unwrap()],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(Cursor::new(Vec::new()), &config).unwrap();
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Video,
            timescale: 25_000,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                width: 64,
                height: 48,
                seq_param_set: sps,
                pic_param_set: pps,
            }),
        })
        .unwrap();
    for (i, (is_sync, bytes)) in samples.into_iter().enumerate() {
        writer
            .write_sample(
                1,
                &mp4::Mp4Sample {
                    start_time: i as u64 * 1000,
                    duration: 1000,
                    rendering_offset: 0,
                    is_sync,
                    bytes: bytes.into(),
                },
            )
            .unwrap();
    }
    writer.write_end().unwrap();
    writer.into_writer().into_inner()
}

/// Where the last box named `fourcc` starts its fields (just after its name).
fn field_of(mp4: &[u8], fourcc: &[u8; 4]) -> usize {
    mp4.windows(4).rposition(|w| w == fourcc).expect("the box") + 4
}

/// [`play_file`] of an MP4 file.
async fn play_mp4(bytes: &[u8]) -> (usize, Option<SourceError>) {
    play_file("recording.mp4", bytes).await
}

#[tokio::test]
async fn mp4_recording_plays() {
    let (frames, error) = play_mp4(&mp4_recording(10)).await;
    assert!(error.is_none(), "{error:?}");
    assert!(frames >= 1);
}

#[tokio::test]
async fn mp4_with_malformed_tables_is_refused_not_a_panic() {
    let good = mp4_recording(10);
    // stsc: samples_per_chunk of the first entry (the mp4 crate would divide by it).
    let mut empty_chunks = good.clone();
    let at = field_of(&good, b"stsc") + 12;
    empty_chunks[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
    // stts: its first entry covers 1 sample of 10 (the crate unwraps the time of sample 2).
    let mut untimed = good.clone();
    let at = field_of(&good, b"stts") + 8;
    untimed[at..at + 4].copy_from_slice(&1u32.to_be_bytes());
    for (name, bytes, expected) in [
        ("stsc", empty_chunks, "empty or zeroth chunk"),
        ("stts", untimed, "covers 1 of"),
    ] {
        let (frames, error) = play_mp4(&bytes).await;
        assert_eq!(frames, 0, "{name}");
        let error = error.expect("an error");
        let text = error.to_string();
        assert!(matches!(error, SourceError::Decode(_)), "{name}: {text}");
        assert!(
            text.contains("tables are malformed") && text.contains(expected),
            "{name}: {text}"
        );
    }
}

#[tokio::test]
async fn mp4_sample_over_the_cap_is_refused() {
    let good = mp4_recording(10);
    let mut huge = good.clone();
    // stsz: version/flags, sample_size (0: one size per sample), count, then the sizes.
    let at = field_of(&good, b"stsz") + 12;
    huge[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    let (frames, error) = play_mp4(&huge).await;
    assert_eq!(frames, 0);
    assert_error!(
        error.expect("an error"),
        SourceError::TooLarge(_),
        "a sample of 4294967280 bytes",
    );
}
