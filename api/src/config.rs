//! Configuration: `hadir.toml` plus `HADIR_*` environment overrides.
//!
//! Precedence, lowest first: the defaults below, the config file (`--config PATH`, else
//! `HADIR_CONFIG`, else `./hadir.toml` when it exists), then one environment variable per key:
//! `HADIR_` followed by the key in upper case (`lost_after_secs` → `HADIR_LOST_AFTER_SECS`).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use crate::attendance::{
    retention::{self, Retention},
    schedule::{self, Hours, HoursOverride, Schedule},
};

/// The embedded default database: an SQLite file, created with its folder on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/hadir.sqlite?mode=rwc";
/// Where the server listens by default.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// The folder of camera files, one JSON per camera.
pub const DEFAULT_CAMERA_CONFIGS: &str = "camera_configs";
/// An employee not seen for longer than this becomes OFFLINE (the seed's 120 s).
pub const DEFAULT_LOST_AFTER_SECS: u64 = 120;
/// A camera that delivers no frame for this long is marked offline.
pub const DEFAULT_CAMERA_TIMEOUT_SECS: u64 = 30;
/// How often the monitor looks for lost employees and silent cameras.
pub const DEFAULT_MONITOR_INTERVAL_MS: u64 = 1_000;
/// The deepest selection a query may nest.
pub const DEFAULT_QUERY_DEPTH_LIMIT: usize = 12;
/// The most fields (weighted) one query may select.
pub const DEFAULT_QUERY_COMPLEXITY_LIMIT: usize = 2_000;
/// The largest HTTP request body accepted (GraphQL requests, uploads).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// The largest JSON body of a GraphQL request (and of a WebSocket message).
pub const DEFAULT_MAX_JSON_BYTES: usize = 64 * 1024;
/// Files one multipart request may upload (`enrollFace` takes one photo).
pub const DEFAULT_MAX_UPLOAD_FILES: usize = 1;
/// Operations one batched request (a JSON array) may hold.
pub const DEFAULT_MAX_BATCH_OPERATIONS: usize = 10;
/// Connections served at once (WebSockets included); one more is answered 503. Well above
/// the 10,000-subscriber benchmark, which runs from one address.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// A connection that sends no whole request head for this long is closed (half-sent
/// headers, and idle keep-alive connections between requests: clients should keep idle
/// connections for less, as most do).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 30;
/// The longest an ordinary request (body and execution) may take; live streams and
/// WebSockets are not ordinary requests.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Failed authentications per client address and minute before it is refused (429) for
/// the rest of the minute (0: no limit).
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 30;
/// Threads encoding live frames (JPEG) at once.
pub const DEFAULT_IMAGE_WORKERS: usize = 2;

/// Threads one model inference may use.
pub const DEFAULT_INFERENCE_THREADS: usize = 1;
/// Frames analysed at once by default.
pub const DEFAULT_INFERENCE_WORKERS: usize = 2;
/// Smallest face looked for by default: faces under ~40 px are too small to recognise, and
/// not looking for them spares most of the detector's work.
pub const DEFAULT_MIN_FACE_PX: f32 = 40.0;
/// The file looked for in the working directory when no config is named.
pub const DEFAULT_CONFIG_FILE: &str = "hadir.toml";

/// Every setting of the server. Each field is a key of `hadir.toml` and a `HADIR_*` variable.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    pub database_url: String,
    /// `host:port` to listen on.
    pub listen: String,
    /// A bootstrap admin token, accepted in addition to the tokens in the database.
    pub admin_token: Option<String>,
    /// The folder whose `*.json` files define cameras.
    pub camera_configs: PathBuf,
    pub lost_after_secs: u64,
    pub camera_timeout_secs: u64,
    pub monitor_interval_ms: u64,
    pub query_depth_limit: usize,
    pub query_complexity_limit: usize,
    /// The largest HTTP request body (multipart uploads).
    pub max_request_bytes: usize,
    /// The largest JSON body of a GraphQL request and of a WebSocket message.
    pub max_json_bytes: usize,
    /// Files one multipart request may upload.
    pub max_upload_files: usize,
    /// Operations one batched request may hold.
    pub max_batch_operations: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Seconds a connection may take to send a request head (and may stay idle between
    /// requests).
    pub header_read_timeout_secs: u64,
    /// Seconds an ordinary request may take, body and execution.
    pub request_timeout_secs: u64,
    /// Failed authentications per address and minute before it must wait (0: no limit).
    pub auth_failures_per_minute: u32,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// A PEM certificate chain to serve HTTPS with (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Threads encoding live frames at once.
    pub image_workers: usize,
    /// Origins (`https://hr.example.com`) whose pages may call the API from a browser; `*`
    /// for any; none: the same origin only.
    pub cors_origins: Vec<String>,
    /// Seconds a live-view grant in `liveUrl`/`snapshotUrl` lasts.
    pub live_grant_secs: u64,
    /// Accept a bearer token in the URL (`?token=`) of the image, report and metrics
    /// routes (off: long-lived secrets do not belong in URLs; live views carry grants).
    pub query_token: bool,
    /// Redirects a camera's HTTP answers may send before one is followed (0: none).
    pub camera_max_redirects: usize,
    /// Serve the GraphiQL explorer at `/`.
    pub graphiql: bool,
    /// Serve the dashboard at `/dashboard/`.
    pub dashboard: bool,
    /// The face models: `default` (MTCNN + fr_feature, MIT) or `insightface` (SCRFD +
    /// ArcFace MBF; InsightFace's weights are for non-commercial research only).
    pub face_models: String,
    /// A model manifest of the operator's (default: the one built in).
    pub model_manifest: Option<PathBuf>,
    /// Cosine similarity from which a face is taken for an enrolled employee (default: the
    /// measured value of the chosen models).
    pub match_threshold: Option<f32>,
    /// Threads one model inference may use.
    pub inference_threads: usize,
    /// Frames analysed at once (each worker holds its own copy of the models).
    pub inference_workers: usize,
    /// Smallest face looked for, in pixels across (smaller ones cannot be recognised).
    pub min_face_px: f32,
    /// Where inference runs: `cpu`, `cuda` or `cuda:N` (a library built with CUDA needed).
    pub execution_provider: String,
    /// The largest photo accepted for enrolment or recognition.
    pub max_photo_bytes: usize,
    /// Consecutive sampled frames that must agree before a face is taken for an employee.
    pub min_consecutive: u32,
    /// Run detection only where frames changed (plus full-frame passes).
    pub motion_gating: bool,
    /// Seconds between full-frame passes when motion gating.
    pub full_frame_interval_secs: u64,
    /// The site's IANA time zone (attendance days are local days).
    pub timezone: String,
    /// Start of the working day, `HH:MM`.
    pub work_start: String,
    /// End of the working day, `HH:MM`.
    pub work_end: String,
    /// Minutes after the start (and before the end) that still count as on time.
    pub grace_minutes: u32,
    /// Working days: `mon-fri`, `sun-thu`, `mon,wed,fri`…
    pub work_days: String,
    /// Per-department overrides of the hours: `[departments.Engineering] start = "10:00"`.
    pub departments: BTreeMap<String, HoursOverride>,
    /// Seconds between the checks for working days that have ended (ABSENT, LEFT_EARLY).
    pub attendance_close_interval_secs: u64,
    /// Days visits are kept (0: forever).
    pub retention_visits_days: u32,
    /// Days notifications are kept (0: forever).
    pub retention_notifications_days: u32,
    /// Days attendance logs are kept (0: forever).
    pub retention_attendance_days: u32,
    /// An MQTT broker to publish presence and notifications to, `mqtt://[user:pass@]host[:port]`
    /// (none: no MQTT).
    pub mqtt_url: Option<String>,
    /// The first level of every MQTT topic hadir publishes.
    pub mqtt_topic_prefix: String,
    /// Publish Home Assistant discovery messages (employees as device trackers, cameras as
    /// connectivity sensors, the counts as sensors).
    pub mqtt_home_assistant: bool,
    /// Home Assistant's discovery prefix.
    pub mqtt_home_assistant_prefix: String,
    /// CA certificates (PEM) trusted for an `mqtts://` broker, besides the public roots.
    pub mqtt_ca_file: Option<PathBuf>,
    /// Where to POST events (`[[webhooks]]`: `url`, `events`, `secret`).
    pub webhooks: Vec<crate::webhooks::WebhookConfig>,
    /// A `tracing` filter such as `info` or `hadir=debug,sqlx=warn`.
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            listen: DEFAULT_LISTEN.to_owned(),
            admin_token: None,
            camera_configs: PathBuf::from(DEFAULT_CAMERA_CONFIGS),
            lost_after_secs: DEFAULT_LOST_AFTER_SECS,
            camera_timeout_secs: DEFAULT_CAMERA_TIMEOUT_SECS,
            monitor_interval_ms: DEFAULT_MONITOR_INTERVAL_MS,
            query_depth_limit: DEFAULT_QUERY_DEPTH_LIMIT,
            query_complexity_limit: DEFAULT_QUERY_COMPLEXITY_LIMIT,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            max_upload_files: DEFAULT_MAX_UPLOAD_FILES,
            max_batch_operations: DEFAULT_MAX_BATCH_OPERATIONS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout_secs: DEFAULT_HEADER_READ_TIMEOUT_SECS,
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
            auth_failures_per_minute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
            trusted_proxies: Vec::new(),
            tls_cert_file: None,
            tls_key_file: None,
            image_workers: DEFAULT_IMAGE_WORKERS,
            cors_origins: Vec::new(),
            live_grant_secs: crate::grants::DEFAULT_GRANT_SECS,
            query_token: false,
            camera_max_redirects: vision::source::DEFAULT_MAX_REDIRECTS,
            graphiql: true,
            dashboard: true,
            face_models: "default".to_owned(),
            model_manifest: None,
            match_threshold: None,
            inference_threads: DEFAULT_INFERENCE_THREADS,
            inference_workers: DEFAULT_INFERENCE_WORKERS,
            min_face_px: DEFAULT_MIN_FACE_PX,
            execution_provider: "cpu".to_owned(),
            max_photo_bytes: crate::faces::DEFAULT_MAX_PHOTO_BYTES,
            min_consecutive: vision::recognizer::DEFAULT_MIN_CONSECUTIVE,
            motion_gating: true,
            full_frame_interval_secs: vision::motion::DEFAULT_FULL_FRAME_INTERVAL.as_secs(),
            timezone: schedule::DEFAULT_TIMEZONE.to_owned(),
            work_start: schedule::DEFAULT_WORK_START.to_owned(),
            work_end: schedule::DEFAULT_WORK_END.to_owned(),
            grace_minutes: schedule::DEFAULT_GRACE_MINUTES,
            work_days: schedule::DEFAULT_WORK_DAYS.to_owned(),
            departments: BTreeMap::new(),
            attendance_close_interval_secs: crate::attendance::DEFAULT_CLOSE_INTERVAL.as_secs(),
            retention_visits_days: retention::DEFAULT_VISITS_DAYS,
            retention_notifications_days: retention::DEFAULT_NOTIFICATIONS_DAYS,
            retention_attendance_days: retention::DEFAULT_ATTENDANCE_DAYS,
            mqtt_url: None,
            mqtt_topic_prefix: crate::mqtt::DEFAULT_TOPIC_PREFIX.to_owned(),
            mqtt_home_assistant: false,
            mqtt_ca_file: None,
            mqtt_home_assistant_prefix: crate::mqtt::home_assistant::DEFAULT_DISCOVERY_PREFIX
                .to_owned(),
            webhooks: Vec::new(),
            log: "info".to_owned(),
        }
    }
}

/// A configuration that cannot be used, naming the file or variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {variable}={value:?}: {reason}")]
    Env {
        variable: String,
        value: String,
        reason: String,
    },
    #[error("setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Config {
    /// Loads the configuration: defaults, then the file, then the environment.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        Self::load_with(explicit_file, env)
    }

    /// As [`Config::load`], with the environment given as a lookup function (for tests).
    pub fn load_with(
        explicit_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match explicit_file {
            Some(path) => Some(path.to_path_buf()),
            None => match env("HADIR_CONFIG") {
                Some(path) => Some(PathBuf::from(path)),
                None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
            },
        };
        let mut config = match file {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(variable: &str, value: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.trim().parse().map_err(|e: T::Err| ConfigError::Env {
                variable: variable.to_owned(),
                value: value.clone(),
                reason: e.to_string(),
            })
        }
        if let Some(v) = env("HADIR_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("HADIR_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = env("HADIR_ADMIN_TOKEN") {
            self.admin_token = Some(v).filter(|t| !t.trim().is_empty());
        }
        if let Some(v) = env("HADIR_CAMERA_CONFIGS") {
            self.camera_configs = PathBuf::from(v);
        }
        if let Some(v) = env("HADIR_LOST_AFTER_SECS") {
            self.lost_after_secs = parse("HADIR_LOST_AFTER_SECS", v)?;
        }
        if let Some(v) = env("HADIR_CAMERA_TIMEOUT_SECS") {
            self.camera_timeout_secs = parse("HADIR_CAMERA_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("HADIR_MONITOR_INTERVAL_MS") {
            self.monitor_interval_ms = parse("HADIR_MONITOR_INTERVAL_MS", v)?;
        }
        if let Some(v) = env("HADIR_QUERY_DEPTH_LIMIT") {
            self.query_depth_limit = parse("HADIR_QUERY_DEPTH_LIMIT", v)?;
        }
        if let Some(v) = env("HADIR_QUERY_COMPLEXITY_LIMIT") {
            self.query_complexity_limit = parse("HADIR_QUERY_COMPLEXITY_LIMIT", v)?;
        }
        if let Some(v) = env("HADIR_MAX_REQUEST_BYTES") {
            self.max_request_bytes = parse("HADIR_MAX_REQUEST_BYTES", v)?;
        }
        if let Some(v) = env("HADIR_MAX_JSON_BYTES") {
            self.max_json_bytes = parse("HADIR_MAX_JSON_BYTES", v)?;
        }
        if let Some(v) = env("HADIR_MAX_UPLOAD_FILES") {
            self.max_upload_files = parse("HADIR_MAX_UPLOAD_FILES", v)?;
        }
        if let Some(v) = env("HADIR_MAX_BATCH_OPERATIONS") {
            self.max_batch_operations = parse("HADIR_MAX_BATCH_OPERATIONS", v)?;
        }
        if let Some(v) = env("HADIR_MAX_CONNECTIONS") {
            self.max_connections = parse("HADIR_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = env("HADIR_HEADER_READ_TIMEOUT_SECS") {
            self.header_read_timeout_secs = parse("HADIR_HEADER_READ_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("HADIR_REQUEST_TIMEOUT_SECS") {
            self.request_timeout_secs = parse("HADIR_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("HADIR_AUTH_FAILURES_PER_MINUTE") {
            self.auth_failures_per_minute = parse("HADIR_AUTH_FAILURES_PER_MINUTE", v)?;
        }
        if let Some(v) = env("HADIR_TRUSTED_PROXIES") {
            self.trusted_proxies = comma_list(&v);
        }
        if let Some(v) = env("HADIR_TLS_CERT_FILE") {
            self.tls_cert_file = Some(PathBuf::from(v)).filter(|p| !p.as_os_str().is_empty());
        }
        if let Some(v) = env("HADIR_TLS_KEY_FILE") {
            self.tls_key_file = Some(PathBuf::from(v)).filter(|p| !p.as_os_str().is_empty());
        }
        if let Some(v) = env("HADIR_IMAGE_WORKERS") {
            self.image_workers = parse("HADIR_IMAGE_WORKERS", v)?;
        }
        if let Some(v) = env("HADIR_CORS_ORIGINS") {
            self.cors_origins = comma_list(&v);
        }
        if let Some(v) = env("HADIR_LIVE_GRANT_SECS") {
            self.live_grant_secs = parse("HADIR_LIVE_GRANT_SECS", v)?;
        }
        if let Some(v) = env("HADIR_QUERY_TOKEN") {
            self.query_token = parse("HADIR_QUERY_TOKEN", v)?;
        }
        if let Some(v) = env("HADIR_CAMERA_MAX_REDIRECTS") {
            self.camera_max_redirects = parse("HADIR_CAMERA_MAX_REDIRECTS", v)?;
        }
        if let Some(v) = env("HADIR_GRAPHIQL") {
            self.graphiql = parse("HADIR_GRAPHIQL", v)?;
        }
        if let Some(v) = env("HADIR_DASHBOARD") {
            self.dashboard = parse("HADIR_DASHBOARD", v)?;
        }
        if let Some(v) = env("HADIR_MATCH_THRESHOLD") {
            self.match_threshold = Some(parse("HADIR_MATCH_THRESHOLD", v)?);
        }
        if let Some(v) = env("HADIR_EXECUTION_PROVIDER") {
            self.execution_provider = v;
        }
        if let Some(v) = env("HADIR_FACE_MODELS") {
            self.face_models = v;
        }
        if let Some(v) = env("HADIR_MODEL_MANIFEST") {
            self.model_manifest = Some(PathBuf::from(v));
        }
        if let Some(v) = env("HADIR_MIN_FACE_PX") {
            self.min_face_px = parse("HADIR_MIN_FACE_PX", v)?;
        }
        if let Some(v) = env("HADIR_INFERENCE_WORKERS") {
            self.inference_workers = parse("HADIR_INFERENCE_WORKERS", v)?;
        }
        if let Some(v) = env("HADIR_INFERENCE_THREADS") {
            self.inference_threads = parse("HADIR_INFERENCE_THREADS", v)?;
        }
        if let Some(v) = env("HADIR_MIN_CONSECUTIVE") {
            self.min_consecutive = parse("HADIR_MIN_CONSECUTIVE", v)?;
        }
        if let Some(v) = env("HADIR_MOTION_GATING") {
            self.motion_gating = parse("HADIR_MOTION_GATING", v)?;
        }
        if let Some(v) = env("HADIR_FULL_FRAME_INTERVAL_SECS") {
            self.full_frame_interval_secs = parse("HADIR_FULL_FRAME_INTERVAL_SECS", v)?;
        }
        if let Some(v) = env("HADIR_MAX_PHOTO_BYTES") {
            self.max_photo_bytes = parse("HADIR_MAX_PHOTO_BYTES", v)?;
        }
        if let Some(v) = env("HADIR_TIMEZONE") {
            self.timezone = v;
        }
        if let Some(v) = env("HADIR_WORK_START") {
            self.work_start = v;
        }
        if let Some(v) = env("HADIR_WORK_END") {
            self.work_end = v;
        }
        if let Some(v) = env("HADIR_GRACE_MINUTES") {
            self.grace_minutes = parse("HADIR_GRACE_MINUTES", v)?;
        }
        if let Some(v) = env("HADIR_WORK_DAYS") {
            self.work_days = v;
        }
        if let Some(v) = env("HADIR_ATTENDANCE_CLOSE_INTERVAL_SECS") {
            self.attendance_close_interval_secs = parse("HADIR_ATTENDANCE_CLOSE_INTERVAL_SECS", v)?;
        }
        if let Some(v) = env("HADIR_RETENTION_VISITS_DAYS") {
            self.retention_visits_days = parse("HADIR_RETENTION_VISITS_DAYS", v)?;
        }
        if let Some(v) = env("HADIR_RETENTION_NOTIFICATIONS_DAYS") {
            self.retention_notifications_days = parse("HADIR_RETENTION_NOTIFICATIONS_DAYS", v)?;
        }
        if let Some(v) = env("HADIR_RETENTION_ATTENDANCE_DAYS") {
            self.retention_attendance_days = parse("HADIR_RETENTION_ATTENDANCE_DAYS", v)?;
        }
        if let Some(v) = env("HADIR_MQTT_URL") {
            self.mqtt_url = Some(v).filter(|url| !url.trim().is_empty());
        }
        if let Some(v) = env("HADIR_MQTT_TOPIC_PREFIX") {
            self.mqtt_topic_prefix = v;
        }
        if let Some(v) = env("HADIR_MQTT_HOME_ASSISTANT") {
            self.mqtt_home_assistant = parse("HADIR_MQTT_HOME_ASSISTANT", v)?;
        }
        if let Some(v) = env("HADIR_MQTT_HOME_ASSISTANT_PREFIX") {
            self.mqtt_home_assistant_prefix = v;
        }
        if let Some(v) = env("HADIR_MQTT_CA_FILE") {
            self.mqtt_ca_file = Some(PathBuf::from(v)).filter(|p| !p.as_os_str().is_empty());
        }
        // Webhooks from the environment: URLs, comma-separated, sharing a secret and events.
        if let Some(urls) = env("HADIR_WEBHOOK_URLS") {
            let secret = env("HADIR_WEBHOOK_SECRET").filter(|s| !s.is_empty());
            let events = env("HADIR_WEBHOOK_EVENTS").map(|list| {
                list.split(',')
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect()
            });
            self.webhooks.extend(
                urls.split(',')
                    .map(str::trim)
                    .filter(|url| !url.is_empty())
                    .map(|url| crate::webhooks::WebhookConfig {
                        url: url.to_owned(),
                        events: events.clone(),
                        secret: secret.clone(),
                    }),
            );
        }
        if let Some(v) = env("HADIR_LOG") {
            self.log = v;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let positive = [
            ("lost_after_secs", self.lost_after_secs),
            ("camera_timeout_secs", self.camera_timeout_secs),
            ("monitor_interval_ms", self.monitor_interval_ms),
            (
                "attendance_close_interval_secs",
                self.attendance_close_interval_secs,
            ),
            ("query_depth_limit", self.query_depth_limit as u64),
            ("query_complexity_limit", self.query_complexity_limit as u64),
            ("max_request_bytes", self.max_request_bytes as u64),
            ("max_json_bytes", self.max_json_bytes as u64),
            ("max_upload_files", self.max_upload_files as u64),
            ("max_batch_operations", self.max_batch_operations as u64),
            ("max_connections", self.max_connections as u64),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("image_workers", self.image_workers as u64),
            ("live_grant_secs", self.live_grant_secs),
            ("inference_threads", self.inference_threads as u64),
            ("inference_workers", self.inference_workers as u64),
            ("max_photo_bytes", self.max_photo_bytes as u64),
            ("min_consecutive", u64::from(self.min_consecutive)),
            ("full_frame_interval_secs", self.full_frame_interval_secs),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: "must be greater than 0".to_owned(),
                });
            }
        }
        if !(12.0..=1_000.0).contains(&self.min_face_px) {
            return Err(ConfigError::Invalid {
                key: "min_face_px",
                reason: format!("{} is not between 12 and 1000 pixels", self.min_face_px),
            });
        }
        if let Some(threshold) = self.match_threshold
            && !(-1.0..=1.0).contains(&threshold)
        {
            return Err(ConfigError::Invalid {
                key: "match_threshold",
                reason: format!("{threshold} is not a similarity between -1 and 1"),
            });
        }
        self.trusted_proxies()?;
        self.tls_files()?;
        self.cors()?;
        self.model_set()?;
        self.provider()?;
        self.schedule()?;
        self.mqtt()?;
        for (index, webhook) in self.webhooks.iter().enumerate() {
            webhook
                .wanted_events()
                .map_err(|reason| ConfigError::Invalid {
                    key: "webhooks",
                    reason: format!(
                        "webhook {} ({}): {reason}",
                        index + 1,
                        crate::webhooks::shown(&webhook.url)
                    ),
                })?;
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                key: "database_url",
                reason: format!(
                    "{:?} is neither sqlite:… nor postgres://…",
                    self.database_url
                ),
            });
        }
        Ok(())
    }

    /// The MQTT broker to publish to, if any.
    pub fn mqtt(&self) -> Result<Option<crate::mqtt::MqttSettings>, ConfigError> {
        self.mqtt_url
            .as_deref()
            .map(|url| {
                let mut settings = crate::mqtt::MqttSettings::parse(url, &self.mqtt_topic_prefix)?;
                if let Some(ca_file) = &self.mqtt_ca_file {
                    settings = settings.with_ca_file(ca_file)?;
                }
                if self.mqtt_home_assistant {
                    settings.with_home_assistant(&self.mqtt_home_assistant_prefix)
                } else {
                    Ok(settings)
                }
            })
            .transpose()
            .map_err(|reason| ConfigError::Invalid {
                key: "mqtt_url",
                reason,
            })
    }

    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> Result<crate::server::client::TrustedProxies, ConfigError> {
        crate::server::client::TrustedProxies::parse(&self.trusted_proxies).map_err(|reason| {
            ConfigError::Invalid {
                key: "trusted_proxies",
                reason,
            }
        })
    }

    /// The certificate and key to serve HTTPS with, when both are set.
    pub fn tls_files(&self) -> Result<Option<crate::server::listener::TlsFiles>, ConfigError> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(crate::server::listener::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })),
            _ => Err(ConfigError::Invalid {
                key: "tls_cert_file/tls_key_file",
                reason: "set both, or neither (plain HTTP)".to_owned(),
            }),
        }
    }

    /// The browser origins allowed to call the API (None: the same origin only).
    pub fn cors(&self) -> Result<Option<tower_http::cors::CorsLayer>, ConfigError> {
        use tower_http::cors::{AllowOrigin, Any, CorsLayer};
        if self.cors_origins.is_empty() {
            return Ok(None);
        }
        let origins = if self.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            let mut list = Vec::new();
            for origin in &self.cors_origins {
                let parsed = url::Url::parse(origin).ok().filter(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.path() == "/"
                        && u.query().is_none()
                });
                let value = parsed
                    .and_then(|_| origin.trim_end_matches('/').parse().ok())
                    .ok_or_else(|| ConfigError::Invalid {
                        key: "cors_origins",
                        reason: format!(
                            "{origin:?} is not an origin such as https://hr.example.com (or *)"
                        ),
                    })?;
                list.push(value);
            }
            AllowOrigin::list(list)
        };
        Ok(Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers(Any)
                .max_age(Duration::from_secs(600)),
        ))
    }

    /// How long a live-view grant lasts.
    pub fn live_grant_lifetime(&self) -> Duration {
        Duration::from_secs(self.live_grant_secs)
    }

    /// How camera sources connect and read.
    pub fn source_options(&self) -> vision::source::SourceOptions {
        vision::source::SourceOptions {
            max_redirects: self.camera_max_redirects,
            ..Default::default()
        }
    }

    /// How `POST /graphql` bodies are read.
    pub fn body_limits(&self) -> crate::server::graphql_body::BodyLimits {
        crate::server::graphql_body::BodyLimits {
            max_json_bytes: self.max_json_bytes,
            max_multipart_bytes: self.max_request_bytes,
            max_files: self.max_upload_files,
            max_file_bytes: self.max_photo_bytes,
            max_batch: self.max_batch_operations,
            timeout: self.request_timeout(),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| ConfigError::Invalid {
            key: "listen",
            reason: format!("{:?} is not host:port ({e})", self.listen),
        })
    }

    /// How camera frames are recognised.
    pub fn recognition_settings(&self) -> crate::recognition::supervisor::CameraTaskSettings {
        crate::recognition::supervisor::CameraTaskSettings {
            min_consecutive: self.min_consecutive,
            motion_gating: self
                .motion_gating
                .then(|| Duration::from_secs(self.full_frame_interval_secs)),
            source_options: self.source_options(),
        }
    }

    /// The work schedule: time zone, hours, days, department overrides.
    pub fn schedule(&self) -> Result<Schedule, ConfigError> {
        let timezone =
            schedule::parse_timezone(&self.timezone).map_err(|reason| ConfigError::Invalid {
                key: "timezone",
                reason,
            })?;
        let default = Hours::parse(
            &self.work_start,
            &self.work_end,
            self.grace_minutes,
            &self.work_days,
        )
        .map_err(|reason| ConfigError::Invalid {
            key: "work_start/work_end/work_days",
            reason,
        })?;
        let mut departments = BTreeMap::new();
        for (name, o) in &self.departments {
            let hours = default.with(o).map_err(|reason| ConfigError::Invalid {
                key: "departments",
                reason: format!("{name}: {reason}"),
            })?;
            departments.insert(name.clone(), hours);
        }
        Ok(Schedule {
            timezone,
            default,
            departments,
        })
    }

    pub fn retention(&self) -> Retention {
        Retention {
            visits_days: self.retention_visits_days,
            notifications_days: self.retention_notifications_days,
            attendance_days: self.retention_attendance_days,
        }
    }

    /// Where inference runs.
    pub fn provider(&self) -> Result<vision::models::runtime::Provider, ConfigError> {
        vision::models::runtime::Provider::parse(&self.execution_provider).ok_or_else(|| {
            ConfigError::Invalid {
                key: "execution_provider",
                reason: format!("{:?} is not cpu, cuda or cuda:N", self.execution_provider),
            }
        })
    }

    /// The face models chosen.
    pub fn model_set(&self) -> Result<vision::models::sets::ModelSet, ConfigError> {
        vision::models::sets::ModelSet::parse(&self.face_models).ok_or_else(|| {
            ConfigError::Invalid {
                key: "face_models",
                reason: format!(
                    "{:?} is not a model set; choose {}",
                    self.face_models,
                    vision::models::sets::ModelSet::NAMES.join(" or ")
                ),
            }
        })
    }

    pub fn lost_after(&self) -> Duration {
        Duration::from_secs(self.lost_after_secs)
    }

    pub fn camera_timeout(&self) -> Duration {
        Duration::from_secs(self.camera_timeout_secs)
    }

    pub fn monitor_interval(&self) -> Duration {
        Duration::from_millis(self.monitor_interval_ms)
    }
}

/// The entries of a comma-separated list, trimmed, empty ones left out.
fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_hold_without_file_or_environment() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        let config =
            Config::load_with(None, env_of(&[("HADIR_CONFIG", missing.to_str().unwrap())]));
        assert!(matches!(config, Err(ConfigError::Read { .. })));
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!(config.lost_after_secs, DEFAULT_LOST_AFTER_SECS);
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hadir.toml");
        std::fs::write(&file, "lost_after_secs = 60\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let config =
            Config::load_with(Some(&file), env_of(&[("HADIR_LOST_AFTER_SECS", "5")])).unwrap();
        assert_eq!(config.lost_after_secs, 5);
        assert_eq!(config.listen, "127.0.0.1:9000");
    }

    #[test]
    fn schedules_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hadir.toml");
        std::fs::write(
            &file,
            "timezone = \"Asia/Jakarta\"\n[departments.Night]\nstart = \"21:00\"\nend = \"23:59\"\n",
        )
        .unwrap();
        let config = Config::load_with(
            Some(&file),
            env_of(&[
                ("HADIR_WORK_START", "08:30"),
                ("HADIR_WORK_DAYS", "sun-thu"),
            ]),
        )
        .unwrap();
        let schedule = config.schedule().unwrap();
        assert_eq!(schedule.timezone, chrono_tz::Asia::Jakarta);
        assert_eq!(schedule.default.start.to_string(), "08:30:00");
        assert_eq!(
            schedule.hours_of(Some("Night")).start.to_string(),
            "21:00:00"
        );
        assert_eq!(
            schedule.hours_of(Some("Sales")).start.to_string(),
            "08:30:00"
        );
        let error = Config::load_with(None, env_of(&[("HADIR_TIMEZONE", "Mars/Base")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("timezone") && error.contains("Mars/Base"),
            "{error}"
        );
    }

    #[test]
    fn integrations_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hadir.toml");
        std::fs::write(
            &file,
            "mqtt_url = \"mqtt://ha:pw@broker.lan\"\nmqtt_home_assistant = true\n\
             [[webhooks]]\nurl = \"https://hr.example.com/in\"\nevents = [\"notification.created\"]\n\
             secret = \"s\"\n",
        )
        .unwrap();
        let config = Config::load_with(
            Some(&file),
            env_of(&[(
                "HADIR_WEBHOOK_URLS",
                "http://127.0.0.1:9/a, http://127.0.0.1:9/b",
            )]),
        )
        .unwrap();
        let mqtt = config.mqtt().unwrap().expect("an MQTT broker");
        assert_eq!(mqtt.host, "broker.lan");
        assert_eq!(mqtt.home_assistant.as_deref(), Some("homeassistant"));
        assert_eq!(config.webhooks.len(), 3);
        assert_eq!(
            config.webhooks[0].events.as_deref(),
            Some(&["notification.created".to_owned()][..])
        );
        assert_eq!(config.webhooks[2].url, "http://127.0.0.1:9/b");
        let error = Config::load_with(
            None,
            env_of(&[
                ("HADIR_WEBHOOK_URLS", "http://127.0.0.1:9/a"),
                ("HADIR_WEBHOOK_EVENTS", "employee.lost"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("webhook 1") && error.contains("employee.lost"),
            "{error}"
        );
        let error = Config::load_with(
            None,
            env_of(&[
                ("HADIR_MQTT_URL", "mqtts://broker"),
                ("HADIR_MQTT_CA_FILE", "/nonexistent/ca.pem"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("mqtt_url") && error.contains("/nonexistent/ca.pem"),
            "{error}"
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let error = Config::load_with(None, env_of(&[("HADIR_LOST_AFTER_SECS", "soon")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("HADIR_LOST_AFTER_SECS"), "{error}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hadir.toml");
        std::fs::write(&file, "lost_after = 60\n").unwrap();
        let error = Config::load_with(Some(&file), env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("hadir.toml") && error.contains("lost_after"),
            "{error}"
        );

        let error = Config::load_with(None, env_of(&[("HADIR_LISTEN", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("listen"), "{error}");
    }
}
