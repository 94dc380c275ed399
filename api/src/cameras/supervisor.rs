//! Camera tasks: one per enabled camera, reading its stream (reconnecting with capped
//! exponential backoff), reporting its health to the presence engine, and handing the
//! latest sampled frame to recognition. Recognition runs behind a one-frame mailbox per
//! camera: when it falls behind, older frames are dropped (the latest wins) and counted.
//! Cameras created, changed or deleted through the API start, restart or stop their task.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use entity::camera;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::{sync::watch, task::JoinHandle};
use vision::{
    motion::{DEFAULT_FULL_FRAME_INTERVAL, Look, MotionGate},
    recognizer::{CameraDecision, DEFAULT_MIN_CONSECUTIVE, Verdict},
    source::{self, Frame, SourceError},
};

use super::regions::{self, Region};
use crate::{
    events::{Event, EventBus},
    faces::FaceService,
    graphql::types::ai_status::AiStatusHandle,
    presence::{PresenceEngine, Sighting},
};

/// The longest a camera's `last_frame_at` goes unwritten while its frames come: each frame
/// does not need a database write to show the camera is alive. Also at most a third of
/// `camera_timeout`, so that a working camera is never taken for a dead one.
pub const MAX_FRAME_TOUCH_INTERVAL: Duration = Duration::from_secs(5);

/// First wait before reconnecting to a camera that failed.
pub const RECONNECT_MIN: Duration = Duration::from_secs(1);
/// Longest wait between reconnection attempts to a camera that has not delivered a frame
/// since its task started (a camera that was never set up right).
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);
/// Longest wait between reconnection attempts to a camera that has delivered frames: one
/// that comes back is read again within about this long.
pub const RECONNECT_MAX_AFTER_UP: Duration = Duration::from_secs(8);
/// Wait before asking again for a kind of camera this build cannot read.
pub const UNSUPPORTED_RETRY: Duration = Duration::from_secs(300);

/// How camera frames are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecognitionSettings {
    /// Consecutive agreeing frames before a face is taken for an employee.
    pub min_consecutive: u32,
    /// Look only where frames changed, with a full-frame pass at this interval (None: the
    /// whole frame every time).
    pub motion_gating: Option<Duration>,
    /// How camera sources connect and read.
    pub source_options: source::SourceOptions,
}

impl Default for RecognitionSettings {
    fn default() -> Self {
        Self {
            min_consecutive: DEFAULT_MIN_CONSECUTIVE,
            motion_gating: Some(DEFAULT_FULL_FRAME_INTERVAL),
            source_options: source::SourceOptions::default(),
        }
    }
}

/// A camera's latest sampled frame, with the faces recognition found on it.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    pub frame: Arc<Frame>,
    /// Each face's box (x1, y1, x2, y2) and, where recognised, the employee's id.
    pub faces: Vec<([f32; 4], Option<String>)>,
    /// The frame as JPEG at the sizes viewers asked for (see [`super::live::LiveEncoder`]).
    pub encodings: super::live::Encodings,
}

/// Frames counted per camera.
#[derive(Debug, Default)]
pub struct CameraCounters {
    /// Frames the source delivered (decoded, sampled).
    pub frames: AtomicU64,
    /// Frames recognition ran on.
    pub processed: AtomicU64,
    /// Frames replaced by a newer one before recognition got to them.
    /// (Counted when recognition takes a frame: those it never saw.)
    pub dropped: AtomicU64,
    /// Frames skipped because nothing changed since the last one.
    pub unchanged: AtomicU64,
    pub reconnects: AtomicU64,
    pub faces: AtomicU64,
    pub recognitions: AtomicU64,
    pub unknown_faces: AtomicU64,
    /// Faces in the camera's ignore regions, dropped.
    pub ignored_faces: AtomicU64,
    /// Recognition time per frame: counts per bucket of [`INFERENCE_BUCKETS`], and the sum.
    pub inference_buckets: [AtomicU64; INFERENCE_BUCKETS.len()],
    pub inference_count: AtomicU64,
    pub inference_micros: AtomicU64,
}

/// Upper bounds (seconds) of the recognition-time histogram's buckets.
pub const INFERENCE_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4];

impl CameraCounters {
    fn observe_inference(&self, seconds: f64) {
        for (bucket, bound) in self.inference_buckets.iter().zip(INFERENCE_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.inference_count.fetch_add(1, Ordering::Relaxed);
        self.inference_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}

struct Running {
    capture: JoinHandle<()>,
    recognition: JoinHandle<()>,
    stream_url: String,
    sample_fps: f64,
    /// The column as the task started with it (a change restarts the task).
    ignore_regions: Option<String>,
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
    min_consecutive: u32,
    /// Look only where frames changed, with a full-frame pass at this interval; None: always
    /// the full frame.
    motion_gating: Option<Duration>,
    running: Mutex<HashMap<String, Running>>,
    /// How sources connect and read (redirects, timeouts).
    source_options: source::SourceOptions,
    /// Told how many cameras are being recognised whenever that changes.
    ai_status: AiStatusHandle,
    counters: Mutex<HashMap<String, Arc<CameraCounters>>>,
    live: Mutex<HashMap<String, watch::Sender<Option<Arc<LiveFrame>>>>>,
}

impl CameraSupervisor {
    pub fn new(
        db: DatabaseConnection,
        engine: Arc<PresenceEngine>,
        faces: Arc<FaceService>,
        events: EventBus,
        settings: RecognitionSettings,
        ai_status: AiStatusHandle,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            engine,
            faces,
            events,
            min_consecutive: settings.min_consecutive,
            motion_gating: settings.motion_gating,
            running: Mutex::new(HashMap::new()),
            source_options: settings.source_options,
            ai_status,
            counters: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
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

    /// The latest frames of a camera as they come (the current one first, if any).
    pub fn watch_live(&self, camera_id: &str) -> watch::Receiver<Option<Arc<LiveFrame>>> {
        self.live_sender(camera_id).subscribe()
    }

    /// The camera's latest frame, if it has delivered one.
    pub fn latest(&self, camera_id: &str) -> Option<Arc<LiveFrame>> {
        self.live_sender(camera_id).borrow().clone()
    }

    /// Every camera's counters, by id.
    pub fn all_counters(&self) -> Vec<(String, Arc<CameraCounters>)> {
        let mut all: Vec<_> = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
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

    /// Starts a task for every enabled camera, then follows camera changes until the server
    /// stops.
    pub fn spawn(self: Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut changes = self.events.subscribe();
            self.sync_all().await;
            loop {
                match changes.recv().await {
                    Ok(event) => {
                        if let Event::CameraChanged { .. } = &*event {
                            self.sync_all().await;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        self.sync_all().await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }

    /// Makes the running tasks match the enabled cameras in the database.
    pub async fn sync_all(self: &Arc<Self>) {
        let cameras = match camera::Entity::find()
            .filter(camera::Column::Enabled.eq(true))
            .all(&self.db)
            .await
        {
            Ok(cameras) => cameras,
            Err(error) => {
                tracing::error!(%error, "cannot list the cameras to run");
                return;
            }
        };
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|id, task| {
            cameras.iter().any(|c| {
                &c.camera_id == id
                    && c.rtsp_url == task.stream_url
                    && c.sample_fps == task.sample_fps
                    && c.ignore_regions == task.ignore_regions
            })
        });
        for camera in cameras {
            if running.contains_key(&camera.camera_id) {
                continue;
            }
            tracing::info!(camera_id = %camera.camera_id, "starting the camera task");
            let task = self.start(&camera);
            running.insert(camera.camera_id.clone(), task);
        }
        let cameras = running.len();
        drop(running);
        self.ai_status
            .set(crate::state::ai_status_of(&self.faces, cameras));
    }

    fn start(self: &Arc<Self>, camera: &camera::Model) -> Running {
        let (mailbox, inbox) = watch::channel::<Option<(u64, Arc<Frame>)>>(None);
        let counters = self.counters(&camera.camera_id);
        let interval = Duration::from_secs_f64(1.0 / camera.sample_fps.max(0.01));
        let capture = tokio::spawn(capture(
            self.clone(),
            camera.camera_id.clone(),
            camera.rtsp_url.clone(),
            interval,
            mailbox,
            counters.clone(),
        ));
        let ignore_regions =
            regions::from_column(&camera.camera_id, camera.ignore_regions.as_deref());
        let recognition = tokio::spawn(recognise(
            self.clone(),
            camera.camera_id.clone(),
            ignore_regions,
            inbox,
            counters,
        ));
        Running {
            capture,
            recognition,
            stream_url: camera.rtsp_url.clone(),
            sample_fps: camera.sample_fps,
            ignore_regions: camera.ignore_regions.clone(),
        }
    }
}

/// Reads a camera until its task is stopped: frames to the mailbox, health to the engine.
async fn capture(
    supervisor: Arc<CameraSupervisor>,
    camera_id: String,
    url: String,
    interval: Duration,
    mailbox: watch::Sender<Option<(u64, Arc<Frame>)>>,
    counters: Arc<CameraCounters>,
) {
    let mut backoff = RECONNECT_MIN;
    let mut sequence = 0u64;
    let mut ever_up = false;
    let mut last_problem: Option<String> = None;
    let touch_every =
        (supervisor.engine.settings().camera_timeout / 3).min(MAX_FRAME_TOUCH_INTERVAL);
    loop {
        let problem = match source::open(&url, interval, &supervisor.source_options).await {
            Ok(mut stream) => {
                backoff = RECONNECT_MIN;
                // The first frame of each connection is written at once (the camera may be
                // coming back up), then one every `touch_every`.
                let mut last_touch: Option<std::time::Instant> = None;
                loop {
                    match stream.next_frame().await {
                        Ok(frame) => {
                            ever_up = true;
                            counters.frames.fetch_add(1, Ordering::Relaxed);
                            if last_touch.is_none_or(|t| t.elapsed() >= touch_every) {
                                last_touch = Some(std::time::Instant::now());
                                if let Err(error) =
                                    supervisor.engine.camera_frame(&camera_id, None).await
                                {
                                    tracing::warn!(%camera_id, %error, "cannot record the camera's frame");
                                }
                            }
                            sequence += 1;
                            // The latest wins; recognition counts the frames it never saw.
                            mailbox.send_replace(Some((sequence, Arc::new(frame))));
                        }
                        Err(error) => break error,
                    }
                }
            }
            Err(error) => error,
        };
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        let wait = match problem {
            SourceError::Unsupported(_) => UNSUPPORTED_RETRY,
            _ => backoff,
        };
        let error = crate::redact::message_for_logs(&problem.to_string());
        // The same failure again and again is said once at WARN, then at DEBUG.
        if last_problem.as_deref() == Some(error.as_str()) {
            tracing::debug!(%camera_id, %error, ?wait, "camera stream failed again; reconnecting");
        } else {
            tracing::warn!(%camera_id, %error, ?wait, "camera stream failed; reconnecting");
        }
        if let Err(error) = supervisor
            .engine
            .camera_problem(&camera_id, &problem.to_string())
            .await
        {
            tracing::warn!(%camera_id, %error, "cannot record the camera's problem");
        }
        last_problem = Some(error);
        tokio::time::sleep(wait).await;
        let cap = if ever_up {
            RECONNECT_MAX_AFTER_UP
        } else {
            RECONNECT_MAX
        };
        backoff = (backoff * 2).min(cap);
    }
}

/// Recognises the latest frame of a camera whenever there is a new one.
async fn recognise(
    supervisor: Arc<CameraSupervisor>,
    camera_id: String,
    ignore_regions: Vec<Region>,
    mut inbox: watch::Receiver<Option<(u64, Arc<Frame>)>>,
    counters: Arc<CameraCounters>,
) {
    let mut decision =
        CameraDecision::new(supervisor.faces.threshold(), supervisor.min_consecutive);
    let mut gate = supervisor.motion_gating.map(MotionGate::new);
    // Looked up once: the per-frame path takes no lock on the supervisor's map.
    let live_sender = supervisor.live_sender(&camera_id);
    let mut last_taken = 0u64;
    while inbox.changed().await.is_ok() {
        let Some((sequence, frame)) = inbox.borrow_and_update().clone() else {
            continue;
        };
        // Frames delivered after the last one taken and before this one were replaced
        // unseen: recognition fell behind by that many.
        if last_taken > 0 && sequence > last_taken + 1 {
            counters
                .dropped
                .fetch_add(sequence - last_taken - 1, Ordering::Relaxed);
        }
        last_taken = sequence;
        let started = std::time::Instant::now();
        let region = match gate.as_mut().map(|g| g.look(&frame.image, started)) {
            None | Some(Look::Full) => None,
            Some(Look::Region {
                x,
                y,
                width,
                height,
            }) => Some((x, y, width, height)),
            Some(Look::Nothing) => {
                // Nothing changed: the live view still shows the new frame, with the faces
                // found last.
                counters.unchanged.fetch_add(1, Ordering::Relaxed);
                let faces = live_sender
                    .borrow()
                    .as_ref()
                    .map(|live| live.faces.clone())
                    .unwrap_or_default();
                live_sender.send_replace(Some(Arc::new(LiveFrame {
                    frame,
                    faces,
                    encodings: Default::default(),
                })));
                continue;
            }
        };
        let mut matches = match supervisor.faces.match_frame(frame.clone(), region).await {
            Ok(matches) => matches,
            Err(error) => {
                tracing::warn!(%camera_id, %error, "recognition failed on a frame");
                continue;
            }
        };
        if !ignore_regions.is_empty() {
            let (width, height) = frame.image.dimensions();
            let before = matches.len();
            matches.retain(|m| {
                !regions::ignores(
                    &ignore_regions,
                    [m.face.x1, m.face.y1, m.face.x2, m.face.y2],
                    width,
                    height,
                )
            });
            counters
                .ignored_faces
                .fetch_add((before - matches.len()) as u64, Ordering::Relaxed);
        }
        counters.processed.fetch_add(1, Ordering::Relaxed);
        counters.observe_inference(started.elapsed().as_secs_f64());
        counters
            .faces
            .fetch_add(matches.len() as u64, Ordering::Relaxed);
        let seen_at = chrono::DateTime::<chrono::Utc>::from(frame.captured_at);
        let threshold = supervisor.faces.threshold();
        let live = LiveFrame {
            frame: frame.clone(),
            faces: matches
                .iter()
                .map(|m| {
                    let who = m.accepted(threshold).map(str::to_owned);
                    ([m.face.x1, m.face.y1, m.face.x2, m.face.y2], who)
                })
                .collect(),
            encodings: Default::default(),
        };
        live_sender.send_replace(Some(Arc::new(live)));
        for verdict in decision.decide(&matches) {
            let result = match verdict {
                Verdict::Recognised {
                    employee_id, score, ..
                } => {
                    counters.recognitions.fetch_add(1, Ordering::Relaxed);
                    supervisor
                        .engine
                        .record_sighting(Sighting {
                            employee_id,
                            camera_id: camera_id.clone(),
                            seen_at: Some(seen_at),
                            score: Some(f64::from(score)),
                        })
                        .await
                        .map(|_| ())
                }
                Verdict::Unknown { best_score, .. } => {
                    counters.unknown_faces.fetch_add(1, Ordering::Relaxed);
                    supervisor
                        .engine
                        .unknown_face(&camera_id, Some(seen_at), best_score.map(f64::from))
                        .await
                }
                Verdict::Tentative { .. } => Ok(()),
            };
            if let Err(error) = result {
                tracing::warn!(%camera_id, %error, "cannot record a recognition");
            }
        }
    }
}
