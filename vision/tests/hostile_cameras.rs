//! Hostile cameras: real TCP servers of the test's own on 127.0.0.1 (MJPEG and snapshot over
//! HTTP, RTSP) and hostile files, read through hadir's own sources. Each must end in a clear
//! error or a bounded, documented behaviour: never a crash, a hang or unbounded growth.
//! docs/robustness-cameras.md lists them.

use std::{
    future::Future,
    io::Cursor,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use vision::source::{
    self, Frame, SourceError, SourceOptions, h264::MAX_ACCESS_UNIT_BYTES, http::MAX_SNAPSHOT_BYTES,
    mjpeg::MAX_PART_BYTES, rtsp_guard,
};

type Handler = Arc<
    dyn Fn(TcpStream, Arc<AtomicUsize>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// A server on 127.0.0.1 that runs `handler` for every connection; the counter is the bytes
/// handlers report sending.
async fn serve(handler: Handler) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(handler(socket, counter.clone()));
        }
    });
    (port, sent)
}

macro_rules! handler {
    (|$socket:ident, $sent:ident| $body:block) => {
        Arc::new(move |mut $socket: TcpStream, $sent: Arc<AtomicUsize>| {
            let _ = &$sent;
            Box::pin(async move {
                let _ = &mut $socket;
                $body
            }) as Pin<Box<dyn Future<Output = ()> + Send>>
        }) as Handler
    };
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

fn quick() -> SourceOptions {
    SourceOptions {
        frame_timeout: Duration::from_secs(5),
        ..SourceOptions::default()
    }
}

/// Opens `url` and reads one frame.
async fn first_frame(url: &str, options: &SourceOptions) -> Result<Frame, SourceError> {
    let mut camera = source::open(url, Duration::from_millis(10), options).await?;
    camera.next_frame().await
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(width, height, image::Rgb([90, 90, 90]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(width, height, image::Rgb([90, 90, 90]))
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG that says 13000×13000 RGB (a header and the start of its pixel data, as a 492 KB
/// PNG of that size begins): decoding it whole would take 507 MB, and more as floats.
fn png_13000_square() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&13000u32.to_be_bytes());
    ihdr.extend_from_slice(&13000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // zlib header, then a stored deflate block of 4000 zero bytes (not the last block).
    let mut idat = vec![0x78, 0x01, 0x00];
    idat.extend_from_slice(&4000u16.to_le_bytes());
    idat.extend_from_slice(&(!4000u16).to_le_bytes());
    idat.resize(idat.len() + 4000, 0);
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

const MJPEG_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n";

// ---------------------------------------------------------------------------------------
// MJPEG
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn mjpeg_giant_content_length_is_refused() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let part = format!(
            "{MJPEG_HEAD}--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 2000000000\r\n\r\n"
        );
        let _ = socket.write_all(part.as_bytes()).await;
        flood(&mut socket, &[0xFF; 64 * 1024], &sent, 64 << 20).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &quick())
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::TooLarge(_)), "{error}");
    let text = error.to_string();
    assert!(text.contains("Content-Length 2000000000"), "{text}");
    assert!(text.contains(&MAX_PART_BYTES.to_string()), "{text}");
}

#[tokio::test]
async fn mjpeg_part_without_length_or_boundary_is_cut_at_the_cap() {
    let (port, sent) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let part = format!("{MJPEG_HEAD}--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        let _ = socket.write_all(part.as_bytes()).await;
        flood(&mut socket, &[0x55; 64 * 1024], &sent, 256 << 20).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(
        text.contains("without Content-Length") && text.contains("no boundary"),
        "{text}"
    );
    // The source stopped reading at the cap: the server could send only that, plus what
    // the sockets' buffers hold.
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < MAX_PART_BYTES + (32 << 20), "{sent} bytes sent");
}

#[tokio::test]
async fn mjpeg_stream_without_any_boundary_is_refused() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let _ = socket.write_all(MJPEG_HEAD.as_bytes()).await;
        flood(&mut socket, b"no boundary here, ever. ", &sent, 256 << 20).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(text.contains("without a boundary"), "{text}");
}

#[tokio::test]
async fn mjpeg_endless_part_headers_are_refused() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let _ = socket
            .write_all(format!("{MJPEG_HEAD}--frame\r\n").as_bytes())
            .await;
        flood(
            &mut socket,
            b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            &sent,
            256 << 20,
        )
        .await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(text.contains("headers run over 16384 bytes"), "{text}");
}

#[tokio::test]
async fn mjpeg_slow_drip_times_out() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let _ = socket.write_all(MJPEG_HEAD.as_bytes()).await;
        let part = format!(
            "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n{}",
            "x".repeat(1000)
        );
        for byte in part.bytes() {
            if socket.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
    .await;
    let options = SourceOptions {
        frame_timeout: Duration::from_secs(1),
        ..SourceOptions::default()
    };
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::Timeout(t) if t == Duration::from_secs(1)),
        "{error}"
    );
}

#[tokio::test]
async fn mjpeg_bad_part_length_is_refused() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let part = format!("{MJPEG_HEAD}--frame\r\nContent-Length: -12\r\n\r\nabc");
        let _ = socket.write_all(part.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::Protocol(_)), "{text}");
    assert!(text.contains("\"-12\" is not a length"), "{text}");
}

#[tokio::test]
async fn mjpeg_frame_of_absurd_shape_is_refused() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let tall = png(1, 60000);
        let mut body = format!(
            "{MJPEG_HEAD}--frame\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
            tall.len()
        )
        .into_bytes();
        body.extend_from_slice(&tall);
        body.extend_from_slice(b"\r\n--frame\r\n");
        let _ = socket.write_all(&body).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/video"), &quick())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::FrameSize(size) if (size.width, size.height) == (1, 60000)),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("1×60000") && text.contains("8:1"), "{text}");
}

#[tokio::test]
async fn mjpeg_stream_of_good_frames_still_plays() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let _ = socket.write_all(MJPEG_HEAD.as_bytes()).await;
        let frame = jpeg(64, 48);
        for i in 0..50 {
            // With and without Content-Length, alternately.
            let mut part = if i % 2 == 0 {
                format!(
                    "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    frame.len()
                )
            } else {
                "--frame\r\nContent-Type: image/jpeg\r\n\r\n".to_owned()
            }
            .into_bytes();
            part.extend_from_slice(&frame);
            part.extend_from_slice(b"\r\n");
            if socket.write_all(&part).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }))
    .await;
    let mut camera = source::open(
        &format!("http://127.0.0.1:{port}/video"),
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
    let (target, _) = serve(Arc::new(
        move |mut socket: TcpStream, _: Arc<AtomicUsize>| {
            let seen = seen.clone();
            Box::pin(async move {
                seen.store(true, Ordering::Relaxed);
                read_head(&mut socket).await;
                let frame = jpeg(64, 48);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    frame.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&frame).await;
            }) as Pin<Box<dyn Future<Output = ()> + Send>>
        },
    ))
    .await;
    let (port, _) = serve(Arc::new(move |mut socket: TcpStream, _: Arc<AtomicUsize>| {
        Box::pin(async move {
            read_head(&mut socket).await;
            let answer = format!(
                "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target}/secret?token=hunter2\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }) as Pin<Box<dyn Future<Output = ()> + Send>>
    }))
    .await;
    let url = format!("http://127.0.0.1:{port}/snapshot.jpg");
    let error = first_frame(&url, &quick()).await.unwrap_err();
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
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1500000000\r\n\r\n";
        let _ = socket.write_all(head.as_bytes()).await;
        flood(&mut socket, &[0xFF; 64 * 1024], &sent, 64 << 20).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/snap.jpg"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(
        text.contains("1500000000 bytes (its Content-Length)")
            && text.contains(&MAX_SNAPSHOT_BYTES.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn snapshot_giant_body_is_cut_at_the_cap() {
    let (port, sent) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        // No length: the body runs until the connection closes (1.5 GB if it were read).
        let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n";
        let _ = socket.write_all(head.as_bytes()).await;
        flood(&mut socket, &[0xD8; 64 * 1024], &sent, 1_500_000_000).await;
    }))
    .await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/snap.jpg"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(
        text.contains("a snapshot of more than 16777216 bytes"),
        "{text}"
    );
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < MAX_SNAPSHOT_BYTES + (32 << 20), "{sent} bytes sent");
}

#[tokio::test]
async fn snapshot_slow_body_times_out() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n";
        let _ = socket.write_all(head.as_bytes()).await;
        for _ in 0..100_000 {
            if socket.write_all(&[0]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
    .await;
    let options = SourceOptions {
        frame_timeout: Duration::from_secs(1),
        ..SourceOptions::default()
    };
    let error = first_frame(&format!("http://127.0.0.1:{port}/snap.jpg"), &options)
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Timeout(_)), "{error}");
}

async fn serve_snapshot(image: Vec<u8>) -> u16 {
    let image = Arc::new(image);
    let (port, _) = serve(Arc::new(
        move |mut socket: TcpStream, _: Arc<AtomicUsize>| {
            let image = image.clone();
            Box::pin(async move {
                read_head(&mut socket).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
                    image.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&image).await;
            }) as Pin<Box<dyn Future<Output = ()> + Send>>
        },
    ))
    .await;
    port
}

#[tokio::test]
async fn snapshot_of_13000_square_png_is_refused_before_decoding() {
    let port = serve_snapshot(png_13000_square()).await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/snap.png"), &quick())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::FrameSize(size) if (size.width, size.height) == (13000, 13000)),
        "{error}"
    );
    assert!(error.to_string().contains("13000×13000"), "{error}");
}

#[tokio::test]
async fn snapshot_of_1x60000_is_refused() {
    let port = serve_snapshot(png(1, 60000)).await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/snap.png"), &quick())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::FrameSize(size) if (size.width, size.height) == (1, 60000)),
        "{error}"
    );
}

#[tokio::test]
async fn snapshot_garbage_is_a_decode_error() {
    let port = serve_snapshot(b"\x89PNG\r\n\x1a\nthis is not the rest of a PNG".to_vec()).await;
    let error = first_frame(&format!("http://127.0.0.1:{port}/snap.png"), &quick())
        .await
        .unwrap_err();
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
        let url = url::Url::from_file_path(&path).unwrap().to_string();
        let error = first_frame(&url, &quick()).await.unwrap_err();
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
    let url = url::Url::from_file_path(&path).unwrap().to_string();
    let error = first_frame(&url, &quick()).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(text.contains("67108865 bytes"), "{text}");
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

async fn play_raw(bytes: &[u8]) -> (usize, Option<SourceError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.h264");
    std::fs::write(&path, bytes).unwrap();
    let url = url::Url::from_file_path(&path).unwrap().to_string();
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
    let error = error.expect("an error");
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(text.contains("NAL unit runs over 16777216 bytes"), "{text}");
}

#[tokio::test]
async fn h264_frames_of_absurd_shape_are_refused() {
    // 16×256: each side within bounds, but 16:1.
    let (frames, error) = play_raw(&encode_h264(16, 256, 2)).await;
    assert_eq!(frames, 0);
    let error = error.expect("an error");
    assert!(
        matches!(error, SourceError::FrameSize(s) if (s.width, s.height) == (16, 256)),
        "{error}"
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

async fn rtsp_error(handler: Handler) -> (SourceError, usize) {
    let (port, sent) = serve(handler).await;
    let error = first_frame(&format!("rtsp://127.0.0.1:{port}/stream"), &quick())
        .await
        .unwrap_err();
    (error, sent.load(Ordering::Relaxed))
}

#[tokio::test]
async fn rtsp_describe_with_2gb_content_length_is_refused() {
    let (error, sent) = rtsp_error(handler!(|socket, sent| {
        let request = read_head(&mut socket).await;
        let answer = format!(
            "RTSP/1.0 200 OK\r\nCSeq: {}\r\nContent-Type: application/sdp\r\nContent-Length: 2000000000\r\n\r\n",
            cseq(&request)
        );
        let _ = socket.write_all(answer.as_bytes()).await;
        flood(&mut socket, b"v=0\r\na=padding\r\n", &sent, 256 << 20).await;
    }))
    .await;
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(
        text.contains("RTSP guard") && text.contains("Content-Length 2000000000"),
        "{text}"
    );
    assert!(
        sent < (64 << 20),
        "{sent} bytes sent: the connection was closed"
    );
}

#[tokio::test]
async fn rtsp_endless_headers_are_refused() {
    let (error, sent) = rtsp_error(handler!(|socket, sent| {
        let request = read_head(&mut socket).await;
        let answer = format!("RTSP/1.0 200 OK\r\nCSeq: {}\r\n", cseq(&request));
        let _ = socket.write_all(answer.as_bytes()).await;
        flood(
            &mut socket,
            b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
            &sent,
            400 << 20,
        )
        .await;
    }))
    .await;
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(
        text.contains(&format!(
            "head runs over {} bytes",
            rtsp_guard::MAX_HEAD_BYTES
        )),
        "{text}"
    );
    assert!(
        sent < (64 << 20),
        "{sent} bytes sent: the connection was closed"
    );
}

#[tokio::test]
async fn rtsp_garbage_answer_is_refused() {
    let (error, _) = rtsp_error(handler!(|socket, sent| {
        read_head(&mut socket).await;
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }))
    .await;
    let text = error.to_string();
    assert!(matches!(error, SourceError::Protocol(_)), "{text}");
    assert!(text.contains("HTTP/1.1 400"), "{text}");
}

#[tokio::test]
async fn rtsp_silent_camera_times_out() {
    let (port, _) = serve(handler!(|socket, sent| {
        read_head(&mut socket).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    }))
    .await;
    let options = SourceOptions {
        frame_timeout: Duration::from_secs(1),
        ..SourceOptions::default()
    };
    let error = first_frame(&format!("rtsp://127.0.0.1:{port}/stream"), &options)
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Timeout(_)), "{error}");
}

#[tokio::test]
async fn rtsp_unreachable_camera_is_a_connect_error() {
    // A port that was free a moment ago.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = first_frame(&format!("rtsp://127.0.0.1:{port}/stream"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::Connect(_)), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

#[tokio::test]
async fn rtsps_is_refused_clearly() {
    let error = first_frame("rtsps://127.0.0.1:1/stream", &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::Unsupported(_)), "{text}");
    assert!(
        text.contains("RTSP over TLS") && text.contains("rtsp://"),
        "{text}"
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
    let (port, sent) = serve(Arc::new(|socket, sent| {
        Box::pin(endless_frame_camera(socket, sent)) as Pin<Box<dyn Future<Output = ()> + Send>>
    }))
    .await;
    let error = first_frame(&format!("rtsp://127.0.0.1:{port}/stream"), &quick())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(text.contains("one video frame"), "{text}");
    let sent = sent.load(Ordering::Relaxed);
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

async fn play_mp4(bytes: &[u8]) -> (usize, Option<SourceError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recording.mp4");
    std::fs::write(&path, bytes).unwrap();
    let url = url::Url::from_file_path(&path).unwrap().to_string();
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
    let error = error.expect("an error");
    let text = error.to_string();
    assert!(matches!(error, SourceError::TooLarge(_)), "{text}");
    assert!(text.contains("a sample of 4294967280 bytes"), "{text}");
}
