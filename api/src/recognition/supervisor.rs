//! The camera supervisor: one task pair per enabled camera (its [`super::capture`] and its
//! [`super::recognise`] loop, joined by a one-frame mailbox), started, restarted and stopped
//! as cameras are created, changed or deleted through the API; and every camera's counters
//! and latest live frame.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use entity::camera;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::{sync::watch, task::JoinHandle};
use vision::{look_more::LookMoreSettings, source, track::DecisionSettings};

pub use super::settings::CameraTaskSettings;
use super::{
    ai_status::{AiStatus, AiStatusHandle},
    analyse::Analyser,
    capture::Capture,
    counters::CameraCounters,
    decide::Decider,
    live::LiveFrame,
    mailbox::mailbox,
    recognise,
};
use crate::{
    cameras::regions,
    cluster::{
        holdings::Holdings,
        leases::LeaseClaim,
        proxy::{LiveProxy, ProxyError},
    },
    events::{Event, EventBus},
    faces::FaceService,
    presence::PresenceEngine,
};

struct Running {
    capture: JoinHandle<()>,
    recognition: JoinHandle<()>,
    stream_url: String,
    sample_fps: f64,
    /// The column as the task started with it (a change restarts the task).
    ignore_regions: Option<String>,
    /// The lease it reads under (a new epoch restarts the task).
    claim: Option<LeaseClaim>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.capture.abort();
        self.recognition.abort();
    }
}

/// The supervisor of every camera task.
pub struct CameraSupervisor {
    db: DatabaseConnection,
    engine: Arc<PresenceEngine>,
    faces: Arc<FaceService>,
    events: EventBus,
    tracks: DecisionSettings,
    /// Look only where frames changed, with a full-frame pass at this interval; None: always
    /// the full frame.
    motion_gating: Option<Duration>,
    look_more: LookMoreSettings,
    running: Mutex<HashMap<String, Running>>,
    /// How sources connect and read (redirects, timeouts).
    source_options: source::SourceOptions,
    /// Told how many cameras are being recognised whenever that changes.
    ai_status: AiStatusHandle,
    counters: Mutex<HashMap<String, Arc<CameraCounters>>>,
    live: Mutex<HashMap<String, watch::Sender<Option<Arc<LiveFrame>>>>>,
    /// The cameras this node reads (every camera, for a cluster of one).
    holdings: watch::Receiver<Holdings>,
    /// Feeds the live views of cameras another node reads (None: a cluster of one).
    proxy: OnceLock<Arc<LiveProxy>>,
    /// Asks the loop for a sync ([`CameraSupervisor::request_sync`]).
    sync_requested: tokio::sync::Notify,
}

/// How soon a sync that could not read the database is tried again.
pub const SYNC_RETRY: Duration = Duration::from_secs(1);

/// How long listing the cameras to run may take before a sync gives up (it is tried again
/// at the next change).
pub const SYNC_QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a snapshot of a camera another node reads waits for its first frame.
pub const PROXIED_FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// Why there is no frame of a camera to show.
#[derive(Debug, thiserror::Error)]
pub enum NoFrame {
    #[error("camera {0:?} has delivered no frame yet")]
    NotYet(String),
    #[error("{0}")]
    Proxy(#[from] ProxyError),
}

impl CameraSupervisor {
    pub fn new(
        db: DatabaseConnection,
        engine: Arc<PresenceEngine>,
        faces: Arc<FaceService>,
        events: EventBus,
        settings: CameraTaskSettings,
        ai_status: AiStatusHandle,
        holdings: watch::Receiver<Holdings>,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            engine,
            faces,
            events,
            tracks: settings.tracks,
            motion_gating: settings.motion_gating,
            look_more: settings.look_more,
            running: Mutex::new(HashMap::new()),
            source_options: settings.source_options,
            ai_status,
            counters: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            holdings,
            proxy: OnceLock::new(),
            sync_requested: tokio::sync::Notify::new(),
        })
    }

    fn live_sender(&self, camera_id: &str) -> watch::Sender<Option<Arc<LiveFrame>>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(camera_id.to_owned())
            .or_insert_with(|| watch::Sender::new(None))
            .clone()
    }

    /// Feeds the live views of cameras other nodes read through `proxy` from now on.
    pub fn set_proxy(&self, proxy: Arc<LiveProxy>) {
        let _ = self.proxy.set(proxy);
    }

    /// Whether this node reads `camera_id` (a cluster of one reads every camera).
    pub fn reads(&self, camera_id: &str) -> bool {
        self.holdings.borrow().holds(camera_id)
    }

    /// The latest frames of a camera as they come (the current one first, if any); those of
    /// a camera another node reads come from that node.
    pub fn watch_live(&self, camera_id: &str) -> watch::Receiver<Option<Arc<LiveFrame>>> {
        let sender = self.live_sender(camera_id);
        let receiver = sender.subscribe();
        if let Some(proxy) = self.proxy.get()
            && !self.reads(camera_id)
        {
            proxy.feed(camera_id, sender);
        }
        receiver
    }

    /// The camera's latest frame, if it has delivered one (here).
    pub fn latest(&self, camera_id: &str) -> Option<Arc<LiveFrame>> {
        self.live_sender(camera_id).borrow().clone()
    }

    /// The camera's latest frame; for a camera another node reads, from that node (waiting
    /// up to [`PROXIED_FIRST_FRAME_TIMEOUT`] for its first).
    pub async fn latest_anywhere(&self, camera_id: &str) -> Result<Arc<LiveFrame>, NoFrame> {
        if let Some(frame) = self.latest(camera_id) {
            return Ok(frame);
        }
        let Some(proxy) = self.proxy.get().filter(|_| !self.reads(camera_id)) else {
            return Err(NoFrame::NotYet(camera_id.to_owned()));
        };
        let mut receiver = self.watch_live(camera_id);
        let waited = tokio::time::timeout(PROXIED_FIRST_FRAME_TIMEOUT, async {
            receiver
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|f| f.clone())
        })
        .await;
        match waited {
            Ok(Some(frame)) => Ok(frame),
            _ => Err(proxy
                .last_error(camera_id)
                .map_or_else(|| NoFrame::NotYet(camera_id.to_owned()), NoFrame::Proxy)),
        }
    }

    /// The counters of every camera this node reads now, by id.
    pub fn all_counters(&self) -> Vec<(String, Arc<CameraCounters>)> {
        let holdings = self.holdings.borrow().clone();
        let mut all: Vec<_> = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(id, _)| holdings.holds(id))
            .map(|(id, c)| (id.clone(), c.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The counters of one camera.
    pub fn counters(&self, camera_id: &str) -> Arc<CameraCounters> {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(camera_id.to_owned())
            .or_default()
            .clone()
    }

    /// Starts a task for every enabled camera this node holds, then follows camera changes
    /// and what this node holds until the server stops (the composition root runs this, and
    /// [`Self::stop_all`] after it).
    pub async fn run(self: Arc<Self>) {
        let mut changes = self.events.subscribe();
        let mut holdings = self.holdings.clone();
        let mut retry = (!self.sync_all().await).then(|| Instant::now() + SYNC_RETRY);
        loop {
            let sync = tokio::select! {
                change = changes.recv() => match change {
                    Ok(event) => matches!(&*event, Event::CameraChanged { .. }),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                held = holdings.changed() => {
                    if held.is_err() {
                        return;
                    }
                    true
                }
                () = self.sync_requested.notified() => true,
                () = crate::clock::sleep_until_opt(retry), if retry.is_some() => true,
            };
            if sync {
                retry = (!self.sync_all().await).then(|| Instant::now() + SYNC_RETRY);
            }
        }
    }

    /// Asks the supervisor's loop to sync the tasks with the database (after the relay
    /// missed events); syncs never run two at once.
    pub fn request_sync(&self) {
        self.sync_requested.notify_one();
    }

    /// Stops every camera task (capture and recognition); returns how many cameras ran.
    pub fn stop_all(&self) -> usize {
        let stopped: Vec<Running> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, task)| task)
            .collect();
        // Dropping a task aborts its capture and its recognition.
        stopped.len()
    }

    /// Makes the running tasks match the enabled cameras in the database that this node
    /// holds; false when the database could not be read (the loop tries again soon).
    pub async fn sync_all(self: &Arc<Self>) -> bool {
        // What this node no longer holds stops at once, without the database: a node that
        // fenced itself because the database does not answer must stop reading all the same.
        let held = self.holdings.borrow().clone();
        let stopped = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            let before = running.len();
            running.retain(|id, task| held.holds(id) && held.claim(id) == task.claim);
            before - running.len()
        };
        if stopped > 0 {
            tracing::info!(
                cameras = stopped,
                "camera tasks stopped: no longer held here"
            );
        }
        let listed = tokio::time::timeout(
            SYNC_QUERY_TIMEOUT,
            camera::Entity::find()
                .filter(camera::Column::Enabled.eq(true))
                .all(&self.db),
        )
        .await;
        let mut cameras = match listed {
            Ok(Ok(cameras)) => cameras,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot list the cameras to run");
                return false;
            }
            Err(_) => {
                tracing::error!(
                    timeout_secs = SYNC_QUERY_TIMEOUT.as_secs(),
                    "cannot list the cameras to run: the database does not answer"
                );
                return false;
            }
        };
        let holdings = self.holdings.borrow().clone();
        cameras.retain(|c| holdings.holds(&c.camera_id));
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|id, task| {
            cameras.iter().any(|c| {
                &c.camera_id == id
                    && c.rtsp_url == task.stream_url
                    && c.sample_fps == task.sample_fps
                    && c.ignore_regions == task.ignore_regions
                    && holdings.claim(id) == task.claim
            })
        });
        for camera in cameras {
            if running.contains_key(&camera.camera_id) {
                continue;
            }
            if crate::banner::starting() {
                tracing::debug!(camera_id = %camera.camera_id, "starting the camera task");
            } else {
                tracing::info!(camera_id = %camera.camera_id, "starting the camera task");
            }
            let task = self.start(&camera, holdings.claim(&camera.camera_id));
            running.insert(camera.camera_id.clone(), task);
        }
        let cameras = running.len();
        drop(running);
        self.ai_status.set(AiStatus::of(&self.faces, cameras));
        true
    }

    fn start(self: &Arc<Self>, camera: &camera::Model, claim: Option<LeaseClaim>) -> Running {
        let (mailbox, inbox) = mailbox();
        let counters = self.counters(&camera.camera_id);
        let interval = Duration::from_secs_f64(1.0 / camera.sample_fps.max(0.01));
        let pace = source::Pace::new(interval);
        let capture = Capture {
            camera_id: camera.camera_id.clone(),
            url: camera.rtsp_url.clone(),
            pace: pace.clone(),
            source_options: self.source_options.clone(),
            engine: self.engine.clone(),
            counters: counters.clone(),
            claim: claim.clone(),
        };
        let analyser = Analyser::new(
            camera.camera_id.clone(),
            self.faces.clone(),
            self.motion_gating,
            regions::from_column(&camera.camera_id, camera.ignore_regions.as_deref()),
            counters.clone(),
            DecisionSettings {
                threshold: self.faces.threshold(),
                ..self.tracks
            },
        )
        .with_pace(pace, interval, self.look_more);
        let decider = Decider {
            camera_id: camera.camera_id.clone(),
            track_prefix: chrono::Utc::now().timestamp_millis().to_string(),
            engine: self.engine.clone(),
            counters,
        };
        Running {
            capture: tokio::spawn(capture.run(mailbox)),
            recognition: tokio::spawn(recognise::run(
                analyser,
                decider,
                self.live_sender(&camera.camera_id),
                inbox,
            )),
            stream_url: camera.rtsp_url.clone(),
            sample_fps: camera.sample_fps,
            ignore_regions: camera.ignore_regions.clone(),
            claim,
        }
    }
}
