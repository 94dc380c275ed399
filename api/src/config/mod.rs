//! Configuration: `hadir.toml` by section, plus `HADIR_*` environment overrides.
//!
//! Precedence, lowest first, each layer overriding the one before (assembled by figment):
//! 1. the defaults: each section's `Default`, every default a named constant in its
//!    feature's settings file;
//! 2. the config file: `--config PATH`, else `$HADIR_CONFIG`, else `./hadir.toml` when it
//!    exists; keys in their sections (`[presence] lost_after_secs = 30`) or, as before
//!    sections, flat at the top (`lost_after_secs = 30`);
//! 3. the environment: `HADIR_` and the flat key in upper case (`HADIR_LOST_AFTER_SECS`) or
//!    `HADIR_{SECTION}__{KEY}` (`HADIR_PRESENCE__LOST_AFTER_SECS`); `RUST_LOG` over `log`;
//!    webhooks of `HADIR_WEBHOOK_URLS` added to the file's `[[webhooks]]`.
//!
//! Then [`Config::validate`] checks the whole, naming the key at fault ([`Config::check_parts`]
//! gives each part's result, for `hadir doctor`).
//!
//! Files:
//! - [`keys`]: the table of every key: its section, its flat alias, how its variable reads.
//! - [`file`](mod@file): which file is read; its flat keys moved into their sections, unknown
//!   ones refused.
//! - [`env`](mod@env): the variables of the key table, the webhooks' and `RUST_LOG`.
//! - [`layer`]: one source's keys as figment takes them.
//! - [`error`]: [`ConfigError`], naming the file, variable or key at fault.
//! - [`print`](mod@print): the effective configuration as TOML, secrets masked
//!   (`hadir config print`).
//!
//! The sections live beside their features, in leaf files that import nothing of the crate
//! but [`crate::validate`]: [`ServerSection`] (`server/settings.rs`), [`CamerasSection`]
//! (`cameras/settings.rs`), [`RecognitionSection`] (`recognition/settings.rs`),
//! [`PresenceSection`] (`presence/settings.rs`), [`AttendanceSection`] and
//! [`RetentionSection`] (`attendance/settings.rs`), [`MqttSection`] (`mqtt/settings.rs`)
//! [`ClusterSection`] (`cluster/settings.rs`), [`DemoSection`] (`demo/settings.rs`) and [`WebhookConfig`] (`webhooks/settings.rs`). What needs more than one section, or a
//! feature's own types, is built here: [`Config::schedule`], [`Config::recognition_settings`],
//! [`Config::body_limits`], [`Config::trusted_proxies`], [`Config::tls_files`].

pub mod env;
pub mod error;
pub mod file;
pub mod keys;
pub mod layer;
pub mod print;
#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, path::Path};

use figment::{Figment, providers::Serialized};
use serde::{Deserialize, Serialize};

pub use error::ConfigError;

use crate::attendance::schedule::{self, Hours, Schedule};
pub use crate::{
    attendance::settings::{AttendanceSection, RetentionSection},
    cameras::settings::CamerasSection,
    cluster::settings::ClusterSection,
    demo::settings::DemoSection,
    mqtt::settings::MqttSection,
    presence::settings::PresenceSection,
    recognition::settings::RecognitionSection,
    server::settings::ServerSection,
    webhooks::settings::WebhookConfig,
};

/// The embedded default database: an SQLite file, created with its folder on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/hadir.sqlite?mode=rwc";
/// The log filter by default: hadir's own crates at INFO, every other crate at WARN (ONNX
/// Runtime's session dumps, sqlx's statements and the like are DEBUG material: `log =
/// "debug"` or `HADIR_LOG=debug` shows everything).
pub const DEFAULT_LOG: &str = "warn,api=info,vision=info";
/// The file looked for in the working directory when no config is named.
pub const DEFAULT_CONFIG_FILE: &str = "hadir.toml";

/// Every setting of the server, by section (see [`keys::KEYS`] for every key's flat alias
/// and variables).
///
/// `database_url`, `admin_token` and `log` stay at the top level: every command (not one
/// feature) opens the database and logs, and the bootstrap admin token is a credential of
/// the whole server. `[[webhooks]]` is a list of tables at the top, as before.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    pub database_url: String,
    /// A bootstrap admin token, accepted in addition to the tokens in the database.
    pub admin_token: Option<String>,
    /// A `tracing` filter such as `info` or `hadir=debug,sqlx=warn`.
    pub log: String,
    pub server: ServerSection,
    pub cameras: CamerasSection,
    pub recognition: RecognitionSection,
    pub presence: PresenceSection,
    pub attendance: AttendanceSection,
    pub retention: RetentionSection,
    pub mqtt: MqttSection,
    pub cluster: ClusterSection,
    pub demo: DemoSection,
    /// Where to POST events (`[[webhooks]]`: `url`, `events`, `secret`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            admin_token: None,
            log: DEFAULT_LOG.to_owned(),
            server: ServerSection::default(),
            cameras: CamerasSection::default(),
            recognition: RecognitionSection::default(),
            presence: PresenceSection::default(),
            attendance: AttendanceSection::default(),
            retention: RetentionSection::default(),
            mqtt: MqttSection::default(),
            cluster: ClusterSection::default(),
            demo: DemoSection::default(),
            webhooks: Vec::new(),
        }
    }
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
        let config = Self::assemble_with(explicit_file, env)?;
        config.validate()?;
        Ok(config)
    }

    /// The defaults, the file and the environment assembled as [`Config::load`] does, but not
    /// yet validated (`hadir doctor` checks each part with [`Config::check_parts`]).
    pub fn assemble(explicit_file: Option<&Path>) -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        Self::assemble_with(explicit_file, env)
    }

    fn assemble_with(
        explicit_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let mut lost_after_set = false;
        if let Some(path) = file::locate(explicit_file, &env) {
            let layer = file::read(&path)?;
            lost_after_set |= layer.sets("presence", "lost_after_secs");
            figment = figment.merge(layer);
        }
        let environment = env::read(&env)?;
        lost_after_set |= environment.values.sets("presence", "lost_after_secs");
        let mut config: Config = figment
            .merge(environment.values)
            .admerge(environment.webhooks)
            .extract()
            .map_err(|e| error::from_figment(e, &environment.set))?;
        // The demo's short `lost_after`, unless the operator chose one.
        if config.demo.enabled && !lost_after_set {
            config.presence.lost_after_secs = config.demo.lost_after_secs;
        }
        Ok(config)
    }

    /// Checks every section and what spans them, naming the key at fault: the first error of
    /// [`Config::check_parts`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_parts()
            .into_iter()
            .try_for_each(|(_, result)| result)
    }

    /// Each part of the configuration (`database_url`, a section, `webhooks`) and whether it
    /// can be used, in the order [`Config::validate`] checks them.
    pub fn check_parts(&self) -> Vec<(&'static str, Result<(), ConfigError>)> {
        let webhooks = self
            .webhooks
            .iter()
            .enumerate()
            .try_for_each(|(index, webhook)| {
                webhook
                    .wanted_events()
                    .map(drop)
                    .map_err(|reason| ConfigError::Invalid {
                        key: "webhooks",
                        reason: format!(
                            "webhook {} ({}): {reason}",
                            index + 1,
                            crate::webhooks::settings::shown(&webhook.url)
                        ),
                    })
            });
        let database = if self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
        {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                key: "database_url",
                reason: format!(
                    "{:?} is neither sqlite:… nor postgres://…",
                    crate::db::redact_database_url(&self.database_url)
                ),
            })
        };
        vec![
            (
                "server",
                self.server
                    .validate()
                    .map_err(ConfigError::from)
                    .and_then(|()| self.trusted_proxies().map(drop)),
            ),
            ("presence", self.presence.validate().map_err(Into::into)),
            ("demo", self.demo.validate().map_err(Into::into)),
            (
                "attendance",
                self.attendance
                    .validate()
                    .map_err(ConfigError::from)
                    .and_then(|()| self.schedule().map(drop)),
            ),
            (
                "recognition",
                self.recognition.validate().map_err(Into::into),
            ),
            ("mqtt", self.mqtt.settings().map(drop).map_err(Into::into)),
            (
                "cluster",
                self.cluster
                    .validate(self.presence.camera_timeout_secs)
                    .map_err(Into::into),
            ),
            ("webhooks", webhooks),
            ("database_url", database),
        ]
    }

    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> Result<crate::server::client::TrustedProxies, ConfigError> {
        crate::server::client::TrustedProxies::parse(&self.server.trusted_proxies).map_err(
            |reason| ConfigError::Invalid {
                key: "server.trusted_proxies",
                reason,
            },
        )
    }

    /// The certificate and key to serve HTTPS with, when both are set.
    pub fn tls_files(&self) -> Result<Option<crate::server::listener::TlsFiles>, ConfigError> {
        Ok(self
            .server
            .tls_pair()?
            .map(|(cert, key)| crate::server::listener::TlsFiles { cert, key }))
    }

    /// How `POST /graphql` bodies are read (the server's limits, the photo size of
    /// `[recognition]`).
    pub fn body_limits(&self) -> crate::server::graphql_body::BodyLimits {
        crate::server::graphql_body::BodyLimits {
            max_json_bytes: self.server.max_json_bytes,
            max_multipart_bytes: self.server.max_request_bytes,
            max_files: self.server.max_upload_files,
            max_import_files: 1 + crate::import::MAX_UPLOADED_PHOTOS,
            max_file_bytes: self.recognition.max_photo_bytes,
            max_batch: self.server.max_batch_operations,
            timeout: self.server.request_timeout(),
        }
    }

    /// How camera frames are recognised (`[recognition]`, and how `[cameras]` are read).
    pub fn recognition_settings(&self) -> crate::recognition::supervisor::CameraTaskSettings {
        crate::recognition::supervisor::CameraTaskSettings {
            // The threshold is the face service's; the supervisor sets it.
            tracks: self
                .recognition
                .decision_settings(vision::pipeline::DEFAULT_MATCH_THRESHOLD),
            motion_gating: self
                .recognition
                .motion_gating_interval(self.presence.lost_after()),
            look_more: self.recognition.look_more_settings(),
            source_options: self.cameras.source_options(),
        }
    }

    /// The work schedule of `[attendance]`: time zone, hours, days, department overrides.
    pub fn schedule(&self) -> Result<Schedule, ConfigError> {
        let section = &self.attendance;
        let timezone =
            schedule::parse_timezone(&section.timezone).map_err(|reason| ConfigError::Invalid {
                key: "attendance.timezone",
                reason,
            })?;
        let default = Hours::parse(
            &section.work_start,
            &section.work_end,
            section.grace_minutes,
            &section.work_days,
        )
        .map_err(|reason| ConfigError::Invalid {
            key: "attendance.work_start/attendance.work_end/attendance.work_days",
            reason,
        })?;
        let mut departments = BTreeMap::new();
        for (name, o) in &section.departments {
            let hours = default.with(o).map_err(|reason| ConfigError::Invalid {
                key: "attendance.departments",
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
}
