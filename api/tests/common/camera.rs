//! Test cameras and a server with one enrolled employee, for the camera tests and the
//! event-latency benchmark: an MJPEG camera of the test's own on 127.0.0.1 showing whatever
//! scene it is told.

#![allow(dead_code)]

use std::{
    io::Cursor,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{io::AsyncWriteExt, net::TcpListener, task::JoinHandle};

use super::{ADMIN_TOKEN, Operation, ServerOptions, TestDb, TestServer};

/// Frames per second the test camera sends.
const CAMERA_FPS: u64 = 5;

pub fn photo(name: &str) -> image::RgbImage {
    let path = vision::models::runtime::cache_dir()
        .join("photos")
        .join(name);
    image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; fetch with `python3 models/fetch.py`",
                path.display()
            )
        })
        .to_rgb8()
}

/// A 1280×720 frame: grey, with the photo (if any) scaled to 600 px high in the middle.
pub fn scene(person: Option<&str>) -> Vec<u8> {
    let mut canvas = image::RgbImage::from_pixel(1280, 720, image::Rgb([96, 96, 96]));
    if let Some(name) = person {
        let p = photo(name);
        let scale = 600.0 / p.height() as f64;
        let p = image::imageops::resize(
            &p,
            (p.width() as f64 * scale) as u32,
            600,
            image::imageops::FilterType::Triangle,
        );
        image::imageops::replace(&mut canvas, &p, (1280 - p.width() as i64) / 2, 60);
    }
    let mut out = Cursor::new(Vec::new());
    canvas.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// An MJPEG camera on 127.0.0.1 showing whatever `showing` holds.
pub struct Camera {
    pub port: u16,
    showing: Arc<Mutex<Vec<u8>>>,
    server: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Clients streaming now, the most there ever were at once, and every one so far.
    pub clients: Arc<ClientCount>,
}

/// How many clients a test camera streams to.
#[derive(Debug, Default)]
pub struct ClientCount {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    total: std::sync::atomic::AtomicUsize,
}

impl ClientCount {
    /// Clients streaming now.
    pub fn now(&self) -> usize {
        self.now.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The most clients there ever were at once.
    pub fn most(&self) -> usize {
        self.most.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every client so far.
    pub fn total(&self) -> usize {
        self.total.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn enter(self: &Arc<Self>) -> ClientGuard {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        self.total.fetch_add(1, SeqCst);
        ClientGuard(self.clone())
    }
}

/// One client streaming; counted out when dropped.
struct ClientGuard(Arc<ClientCount>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Camera {
    pub async fn start(port: u16, showing: Arc<Mutex<Vec<u8>>>) -> Self {
        Self::spawn(port, showing, false).await
    }

    /// As [`Camera::start`], and a client is counted out the moment it closes its end (for
    /// tests that assert on clients at once, such as the cluster's one-reader rule); otherwise
    /// at its first failed write.
    pub async fn start_watching_clients(port: u16, showing: Arc<Mutex<Vec<u8>>>) -> Self {
        Self::spawn(port, showing, true).await
    }

    async fn spawn(port: u16, showing: Arc<Mutex<Vec<u8>>>, watch_close: bool) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("camera port");
        let port = listener.local_addr().unwrap().port();
        let frames = showing.clone();
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let clients = connections.clone();
        let count = Arc::new(ClientCount::default());
        let counting = count.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let frames = frames.clone();
                let counting = counting.clone();
                clients.lock().unwrap().push(tokio::spawn(async move {
                    let mut request = [0u8; 2048];
                    let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
                    let _client = counting.enter();
                    let (mut reader, mut writer) = socket.into_split();
                    // Watching: the client is counted out the moment it closes (its end reads
                    // as EOF), not at the next write that fails.
                    let closed = async move {
                        if !watch_close {
                            return std::future::pending().await;
                        }
                        let mut rest = [0u8; 256];
                        while let Ok(n) = tokio::io::AsyncReadExt::read(&mut reader, &mut rest).await {
                            if n == 0 {
                                break;
                            }
                        }
                    };
                    let stream = async move {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nCache-Control: no-cache\r\n\r\n";
                        if writer.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        loop {
                            let jpeg = frames.lock().unwrap().clone();
                            let part = format!(
                                "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                                jpeg.len()
                            );
                            if writer.write_all(part.as_bytes()).await.is_err()
                                || writer.write_all(&jpeg).await.is_err()
                                || writer.write_all(b"\r\n").await.is_err()
                            {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(1000 / CAMERA_FPS)).await;
                        }
                    };
                    tokio::select! {
                        () = closed => {}
                        () = stream => {}
                    }
                }));
            }
        });
        Self {
            port,
            showing,
            server: Some(server),
            connections,
            clients: count,
        }
    }

    pub fn show(&self, jpeg: &[u8]) {
        *self.showing.lock().unwrap() = jpeg.to_vec();
    }

    /// Kills the server and every connection, as a camera losing power would.
    pub fn kill(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

/// A server with E1 (Barack Obama) enrolled from `obama.jpg`.
pub async fn server_with_obama(
    db: &TestDb,
    lost_after_secs: u64,
    camera_timeout_secs: u64,
) -> TestServer {
    server_with_obama_and(
        db,
        ServerOptions {
            lost_after_secs,
            camera_timeout_secs,
            ..Default::default()
        },
    )
    .await
}

/// A server started with `options`, with E1 (Barack Obama) enrolled from `obama.jpg`.
pub async fn server_with_obama_and(db: &TestDb, options: ServerOptions) -> TestServer {
    let server = TestServer::start(db, &options);
    server.create_employee("E1", "Barack Obama").await;
    enrol(&server, "E1", "obama.jpg").await;
    server
}

pub async fn subscribe_to(
    client: &graphql_ws_client::Client,
    query: &'static str,
) -> graphql_ws_client::Subscription<Operation> {
    client
        .subscribe(Operation::new(query, json!({})))
        .await
        .unwrap()
}

pub async fn enrol(server: &TestServer, employee_id: &str, photo_name: &str) {
    let path = vision::models::runtime::cache_dir()
        .join("photos")
        .join(photo_name);
    let operations = json!({
        "query": "mutation($id: ID!, $photo: Upload!) { enrollFace(employeeId: $id, photo: $photo) { faceCount } }",
        "variables": { "id": employee_id, "photo": null },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.photo"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(std::fs::read(path).unwrap())
                .file_name(photo_name.to_owned()),
        );
    let body: Value = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(ADMIN_TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["enrollFace"]["faceCount"], 1, "{body}");
}

/// The RTSP test server (GStreamer, tests/camera_fixtures/rtsp_server.py) streaming a test
/// video in a loop at `mount` (e.g. [`test_video`] at `/door`).
pub struct RtspCamera {
    child: std::process::Child,
    pub url: String,
}

impl RtspCamera {
    pub fn start(port: u16, video: &std::path::Path, mount: &str) -> Self {
        Self::start_with(
            &[
                "--port".to_owned(),
                port.to_string(),
                "--loop".to_owned(),
                "--mount".to_owned(),
                format!("{mount}={}", video.display()),
            ],
            mount,
        )
    }

    /// The server started with `args` (its mounts and options: `--h265-pattern /x`,
    /// `--user U --password P`…, `--port 0` unless they say otherwise); [`RtspCamera::url`] is
    /// `mount` on it.
    pub fn start_with(args: &[String], mount: &str) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/camera_fixtures/rtsp_server.py"
        );
        let mut command = std::process::Command::new("/usr/bin/python3");
        command.arg(script);
        if !args.iter().any(|a| a == "--port") {
            command.args(["--port", "0"]);
        }
        let mut child = command
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the RTSP test server (scripts/install-test-deps installs GStreamer)");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the RTSP server did not start: {line:?}"))
            .to_owned();
        Self {
            child,
            url: format!("{base}{mount}"),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RtspCamera {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A test video built by tests/camera_fixtures/make_videos.sh.
pub fn video(name: &str) -> std::path::PathBuf {
    let video = vision::models::runtime::cache_dir()
        .join("videos")
        .join(name);
    assert!(
        video.exists(),
        "{} is missing: scripts/test builds it (tests/camera_fixtures/make_videos.sh)",
        video.display()
    );
    video
}

/// 8 s of an enrolled person (obama2), 8 s of an empty scene, 8 s of a stranger (biden).
pub fn test_video() -> std::path::PathBuf {
    video("enrolled_then_empty_then_stranger.mp4")
}
