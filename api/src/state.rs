//! The shared state of a running server: the database, the services and the event bus.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    attendance::Attendance,
    auth::TokenStore,
    cameras::CameraRegistry,
    clock::Clock,
    cluster::membership::Cluster,
    config::Config,
    employees::EmployeeDirectory,
    events::EventBus,
    faces::FaceService,
    notifications::Notifications,
    presence::{PresenceEngine, PresenceSettings},
    recognition::{
        ai_status::{AiStatus, AiStatusHandle},
        live::LiveEncoder,
        supervisor::CameraSupervisor,
    },
};

/// Everything a request handler or resolver needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    pub events: EventBus,
    pub engine: Arc<PresenceEngine>,
    pub employees: EmployeeDirectory,
    pub cameras: CameraRegistry,
    pub notifications: Notifications,
    pub tokens: TokenStore,
    pub ai_status: AiStatusHandle,
    pub faces: Arc<FaceService>,
    pub attendance: Attendance,
    /// The camera tasks and their latest frames.
    pub live_cameras: Arc<CameraSupervisor>,
    /// Live frames as JPEG for viewers, off the async runtime.
    pub live_encoder: Arc<LiveEncoder>,
    /// What MQTT and the webhooks delivered (for `/metrics`).
    pub integrations: Arc<crate::metrics::integrations::IntegrationCounters>,
    /// This node in the cluster (a cluster of one on SQLite).
    pub cluster: Arc<Cluster>,
    /// The event relay to the other nodes (None: a cluster of one).
    pub relay: Option<crate::cluster::relay::RelayHandle>,
    /// The cluster's key, which signs requests between nodes (None: a cluster of one).
    pub node_key: Option<crate::cluster::signing::NodeKey>,
    /// Why the camera folder was not synced at start-up, if it was not (`/healthz` says).
    pub folder_skipped: Option<Arc<str>>,
    /// Signs and checks the grants in live-view URLs. A key of this process's own until
    /// [`AppState::with_shared_grant_key`] loads the one every process shares.
    pub grants: Arc<crate::grants::Grants>,
}

impl AppState {
    /// Uses the grant key stored in the database, which every process on it shares.
    pub async fn with_shared_grant_key(mut self) -> crate::error::AppResult<Self> {
        self.grants = Arc::new(
            crate::grants::Grants::load(&self.db, self.config.server.live_grant_lifetime()).await?,
        );
        Ok(self)
    }

    /// In a cluster on PostgreSQL: loads the key every node shares and feeds the live views
    /// of cameras other nodes read from those nodes.
    pub async fn with_cluster_key(mut self) -> anyhow::Result<Self> {
        if !self.cluster.is_shared() {
            return Ok(self);
        }
        let key = crate::cluster::signing::NodeKey::load(&self.db).await?;
        self.live_cameras
            .set_proxy(crate::cluster::proxy::LiveProxy::new(
                self.db.clone(),
                key.clone(),
                self.cluster.identity.node_id.clone(),
            )?);
        self.node_key = Some(key);
        Ok(self)
    }

    /// Records why the camera folder was not synced at start-up.
    pub fn with_folder_skipped(mut self, reason: Option<String>) -> Self {
        self.folder_skipped = reason.map(Arc::from);
        self
    }

    pub fn new(
        config: Config,
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        faces: Arc<FaceService>,
        cluster: Arc<Cluster>,
    ) -> Self {
        let events = EventBus::default();
        // The schedule was checked when the configuration loaded.
        let schedule = config.schedule().unwrap_or_else(|e| {
            tracing::error!(error = %e, "invalid schedule; using the defaults");
            crate::config::Config::default()
                .schedule()
                .expect("the default schedule is valid")
        });
        let attendance = Attendance::new(db.clone(), Arc::new(schedule), clock.clone());
        let ai_status = AiStatusHandle::new(AiStatus::of(&faces, 0));
        let engine = Arc::new(
            PresenceEngine::new(
                db.clone(),
                clock.clone(),
                PresenceSettings {
                    lost_after: config.presence.lost_after(),
                    camera_timeout: config.presence.camera_timeout(),
                },
                events.clone(),
            )
            .with_attendance(attendance.clone()),
        );
        Self {
            employees: EmployeeDirectory::new(db.clone(), events.clone()),
            cameras: CameraRegistry::new(db.clone(), events.clone(), &cluster.identity.node_id),
            notifications: Notifications::new(db.clone(), events.clone()),
            tokens: TokenStore::new(db.clone(), config.admin_token.as_deref()),
            ai_status: ai_status.clone(),
            live_cameras: CameraSupervisor::new(
                db.clone(),
                engine.clone(),
                faces.clone(),
                events.clone(),
                config.recognition_settings(),
                ai_status,
                cluster.watch_holdings(),
            ),
            live_encoder: Arc::new(LiveEncoder::new(config.server.image_workers)),
            grants: Arc::new(crate::grants::Grants::random(
                config.server.live_grant_lifetime(),
            )),
            faces,
            attendance,
            integrations: Arc::default(),
            cluster,
            folder_skipped: None,
            node_key: None,
            relay: None,
            config: Arc::new(config),
            db,
            clock,
            events,
            engine,
        }
    }
}
