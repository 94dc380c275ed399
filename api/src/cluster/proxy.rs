//! Live video from any node: a node that does not read a camera feeds its local live channel
//! from the node that does (`GET /internal/cameras/{id}/frames` there, signed with the
//! cluster's key), one upstream per camera while anyone watches here, closed
//! [`IDLE_CLOSE`] after the last viewer left, and looked up again whenever it ends (the
//! camera moved to another node: the viewers here keep their streams).
//!
//! The owner's stream is multipart: before each full-size JPEG a small JSON part says when
//! the frame was captured and where its faces are ([`FrameMeta`]). Both are read with
//! vision's bounded multipart parser; the JPEG is decoded off the async runtime with the
//! same size limits as a camera's.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use vision::source::mjpeg::{MultipartParser, boundary_of};

use super::signing::{NodeKey, SIGNATURE_HEADER, TIME_HEADER};
use crate::recognition::live::{Encodings, LiveFrame};

/// An upstream nobody here watches any more is closed after this long.
pub const IDLE_CLOSE: Duration = Duration::from_secs(10);
/// Connecting to the owner gives up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// An upstream that delivers nothing for this long is given up and looked up again.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// The wait between attempts after an upstream failed.
pub const RETRY_WAIT: Duration = Duration::from_secs(1);
/// The path of a camera's frames on the node that reads it.
pub fn frames_path(camera_id: &str) -> String {
    format!(
        "/internal/cameras/{}/frames",
        url::form_urlencoded::byte_serialize(camera_id.as_bytes()).collect::<String>()
    )
}

/// What the owner says about the frame that follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameMeta {
    /// Milliseconds since the epoch.
    pub captured_at_ms: u64,
    /// Each face's box (x1, y1, x2, y2) and, where recognised, the employee's id.
    pub faces: Vec<([f32; 4], Option<String>)>,
}

impl FrameMeta {
    pub fn of(live: &LiveFrame) -> Self {
        let captured_at_ms = live
            .frame
            .captured_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        Self {
            captured_at_ms,
            faces: live.faces.clone(),
        }
    }
}

/// The node reading a camera: its id and URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub node_id: String,
    pub url: String,
}

/// The node whose live lease reads `camera_id`, if any.
pub async fn owner_of(
    db: &impl ConnectionTrait,
    camera_id: &str,
) -> Result<Option<Owner>, sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT n.node_id, n.advertise_url FROM leases l \
             JOIN cluster_nodes n ON n.instance_id = l.instance_id \
             WHERE l.resource = $1 AND l.expires_at >= now()",
            [entity::lease::camera_resource(camera_id).into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => Some(Owner {
            node_id: row.try_get("", "node_id")?,
            url: row.try_get("", "advertise_url")?,
        }),
        None => None,
    })
}

/// Why an upstream gave no frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("no hadir node reads camera {0:?} now")]
    NoOwner(String),
    #[error("node {node} ({url}) cannot be reached for camera {camera}: {reason}")]
    Unreachable {
        node: String,
        url: String,
        camera: String,
        reason: String,
    },
}

type LiveSender = watch::Sender<Option<Arc<LiveFrame>>>;

/// The upstreams of this node, by camera.
pub struct LiveProxy {
    db: DatabaseConnection,
    key: NodeKey,
    me: String,
    http: reqwest::Client,
    /// Cameras with an upstream running, and the last error of each.
    upstreams: Mutex<HashMap<String, Option<ProxyError>>>,
}

impl LiveProxy {
    pub fn new(db: DatabaseConnection, key: NodeKey, me: String) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("hadir/", env!("CARGO_PKG_VERSION"), " (node)"))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Arc::new(Self {
            db,
            key,
            me,
            http,
            upstreams: Mutex::new(HashMap::new()),
        }))
    }

    /// Feeds `sender` from the node reading `camera_id`, unless an upstream already does.
    pub fn feed(self: &Arc<Self>, camera_id: &str, sender: LiveSender) {
        let mut upstreams = self.upstreams.lock().unwrap_or_else(|p| p.into_inner());
        if upstreams.contains_key(camera_id) {
            return;
        }
        upstreams.insert(camera_id.to_owned(), None);
        drop(upstreams);
        tokio::spawn(self.clone().run(camera_id.to_owned(), sender));
    }

    /// Why the upstream of `camera_id` delivers nothing, if it failed.
    pub fn last_error(&self, camera_id: &str) -> Option<ProxyError> {
        self.upstreams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(camera_id)
            .cloned()
            .flatten()
    }

    fn note(&self, camera_id: &str, error: Option<ProxyError>) {
        if let Some(slot) = self
            .upstreams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(camera_id)
        {
            *slot = error;
        }
    }

    async fn run(self: Arc<Self>, camera_id: String, sender: LiveSender) {
        let mut idle_since: Option<Instant> = None;
        loop {
            if watched_enough(&sender, &mut idle_since) {
                break;
            }
            let owner = match owner_of(&self.db, &camera_id).await {
                Ok(Some(owner)) => owner,
                Ok(None) => {
                    self.note(&camera_id, Some(ProxyError::NoOwner(camera_id.clone())));
                    tokio::time::sleep(RETRY_WAIT).await;
                    continue;
                }
                Err(error) => {
                    tracing::debug!(%camera_id, %error, "cannot look up the camera's node");
                    tokio::time::sleep(RETRY_WAIT).await;
                    continue;
                }
            };
            if owner.node_id == self.me {
                // Read here now: the camera's own task feeds the channel.
                break;
            }
            match self
                .stream(&camera_id, &owner, &sender, &mut idle_since)
                .await
            {
                Ok(()) => break,
                Err(reason) => {
                    tracing::debug!(%camera_id, node = %owner.node_id, %reason, "live upstream ended");
                    self.note(
                        &camera_id,
                        Some(ProxyError::Unreachable {
                            node: owner.node_id,
                            url: owner.url,
                            camera: camera_id.clone(),
                            reason,
                        }),
                    );
                    tokio::time::sleep(RETRY_WAIT).await;
                }
            }
        }
        self.upstreams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&camera_id);
        // No stale picture for the next viewer: it waits for a fresh one.
        sender.send_if_modified(|frame| {
            let had = frame.is_some();
            *frame = None;
            had
        });
    }

    /// Streams from `owner` into `sender` until nobody watches (Ok) or it fails (Err).
    async fn stream(
        &self,
        camera_id: &str,
        owner: &Owner,
        sender: &LiveSender,
        idle_since: &mut Option<Instant>,
    ) -> Result<(), String> {
        let path = frames_path(camera_id);
        let (time, signature) = self.key.sign("GET", &path, chrono::Utc::now());
        let request = self
            .http
            .get(format!("{}{path}", owner.url))
            .header(TIME_HEADER, time)
            .header(SIGNATURE_HEADER, signature)
            .send();
        let mut response = tokio::time::timeout(CONNECT_TIMEOUT + FRAME_TIMEOUT, request)
            .await
            .map_err(|_| "no answer".to_owned())?
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            let status = response.status();
            let body = tokio::time::timeout(CONNECT_TIMEOUT, error_body(&mut response))
                .await
                .unwrap_or_default();
            let body: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(format!("it answered {status}: {}", body.trim()));
        }
        let boundary = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(boundary_of)
            .ok_or("it answered without a multipart boundary")?;
        self.note(camera_id, None);
        let mut parser = MultipartParser::new(&boundary);
        let mut meta: Option<FrameMeta> = None;
        loop {
            if watched_enough(sender, idle_since) {
                return Ok(());
            }
            let chunk = tokio::time::timeout(FRAME_TIMEOUT, response.chunk())
                .await
                .map_err(|_| format!("no frame for {}s", FRAME_TIMEOUT.as_secs()))?
                .map_err(|e| e.without_url().to_string())?
                .ok_or("the stream ended")?;
            parser.push(&chunk);
            while let Some(part) = parser.next_part().map_err(|e| e.to_string())? {
                if part.first() == Some(&b'{') {
                    meta = serde_json::from_slice(&part).ok();
                    continue;
                }
                let taken = meta.take();
                let frame =
                    tokio::task::spawn_blocking(move || vision::source::decode_frame(&part))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                let mut frame = frame;
                let faces = match taken {
                    Some(meta) => {
                        frame.captured_at = UNIX_EPOCH + Duration::from_millis(meta.captured_at_ms);
                        meta.faces
                    }
                    None => {
                        frame.captured_at = SystemTime::now();
                        Vec::new()
                    }
                };
                sender.send_replace(Some(Arc::new(LiveFrame {
                    frame: Arc::new(frame),
                    faces,
                    encodings: Encodings::default(),
                })));
            }
        }
    }
}

/// Whether nobody has watched for [`IDLE_CLOSE`] (the upstream should close).
fn watched_enough(sender: &LiveSender, idle_since: &mut Option<Instant>) -> bool {
    if sender.receiver_count() > 0 {
        *idle_since = None;
        return false;
    }
    let since = *idle_since.get_or_insert_with(Instant::now);
    since.elapsed() >= IDLE_CLOSE
}

/// The most of an owner's error answer read (the first 200 characters are shown).
const ERROR_BODY_LIMIT: usize = 4 * 1024;

/// The start of an error answer, at most [`ERROR_BODY_LIMIT`] bytes, read chunk by chunk (an
/// owner's answer is read no further, whatever its length).
async fn error_body(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = ERROR_BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_owners_endless_error_answer_is_read_no_further_than_the_limit() {
        // An answer of 500 that never ends: its first bytes are read, the rest never.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let endless = futures_util::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(&[b'x'; 1024]))
        });
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move {
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    axum::body::Body::from_stream(endless),
                )
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut response = reqwest::get(format!("http://{address}/")).await.unwrap();
        let body = tokio::time::timeout(Duration::from_secs(10), error_body(&mut response))
            .await
            .expect("read within the limit, not to the end");
        assert_eq!(body.len(), ERROR_BODY_LIMIT);
    }

    #[test]
    fn frame_paths_escape_the_camera_id() {
        assert_eq!(frames_path("C1"), "/internal/cameras/C1/frames");
        assert_eq!(frames_path("a b"), "/internal/cameras/a+b/frames");
    }

    #[test]
    fn metadata_round_trips() {
        let meta = FrameMeta {
            captured_at_ms: 1_764_669_600_123,
            faces: vec![
                ([1.0, 2.0, 30.5, 40.0], Some("E1".into())),
                ([5.0; 4], None),
            ],
        };
        let text = serde_json::to_vec(&meta).unwrap();
        assert_eq!(text[0], b'{', "told from a JPEG by its first byte");
        assert_eq!(serde_json::from_slice::<FrameMeta>(&text).unwrap(), meta);
    }

    #[test]
    fn upstreams_close_once_nobody_watched_for_a_while() {
        let sender: LiveSender = watch::Sender::new(None);
        let mut idle = None;
        let viewer = sender.subscribe();
        assert!(!watched_enough(&sender, &mut idle));
        drop(viewer);
        assert!(!watched_enough(&sender, &mut idle), "not at once");
        idle = Some(Instant::now() - IDLE_CLOSE);
        assert!(watched_enough(&sender, &mut idle));
    }
}
