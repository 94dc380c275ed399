//! The table of every key: its section, its old flat alias and how its environment variable
//! reads. One table drives the file (a flat key at the top of `hadir.toml` is moved into its
//! section; any other key is refused) and the environment (`HADIR_{ALIAS}` and
//! `HADIR_{SECTION}__{KEY}` set the key), and lets errors name a key both ways.
//!
//! The sectioned name is the flat one less the section's prefix where it had one
//! (`mqtt_url` → `[mqtt] url`, `retention_visits_days` → `[retention] visits_days`,
//! `camera_configs` → `[cameras] configs`); otherwise the same (`lost_after_secs` →
//! `[presence] lost_after_secs`).

/// How a key's environment variable is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvForm {
    /// As written (text, paths).
    Text,
    /// Trimmed, then `true`/`false` or a number.
    Scalar,
    /// Comma-separated; entries trimmed, empty ones left out.
    List,
    /// As written; empty (or blank) means none, overriding the file.
    Optional,
    /// Empty (or blank) means none, overriding the file; otherwise as [`EnvForm::Scalar`].
    OptionalScalar,
    /// No variable: a table (`[attendance.departments.NAME]`), or `[[webhooks]]`, which has
    /// variables of its own (`HADIR_WEBHOOK_URLS`, `_SECRET`, `_EVENTS`).
    Absent,
}

/// One key of `hadir.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The section (`[presence]`); None for a key at the top level.
    pub section: Option<&'static str>,
    /// The key within its section (or at the top level).
    pub name: &'static str,
    /// The old flat key at the top of `hadir.toml`; `HADIR_` and it in upper case is its
    /// variable.
    pub alias: &'static str,
    /// How its variable reads.
    pub env: EnvForm,
}

/// The prefix of every variable.
pub const ENV_PREFIX: &str = "HADIR_";
/// Between the section and the key in a sectioned variable (`HADIR_PRESENCE__LOST_AFTER_SECS`).
pub const ENV_SECTION_SEPARATOR: &str = "__";

/// The sections, as the file's tables name them.
pub const SECTIONS: [&str; 9] = [
    "server",
    "cameras",
    "recognition",
    "presence",
    "attendance",
    "retention",
    "mqtt",
    "cluster",
    "demo",
];

const fn top(name: &'static str, env: EnvForm) -> Key {
    Key {
        section: None,
        name,
        alias: name,
        env,
    }
}

const fn key(section: &'static str, name: &'static str, alias: &'static str, env: EnvForm) -> Key {
    Key {
        section: Some(section),
        name,
        alias,
        env,
    }
}

use EnvForm::{Absent, List, Optional, OptionalScalar, Scalar, Text};

/// Every key, by section. `database_url`, `admin_token` and `log` stay at the top level:
/// every command reads the database and the log filter, not one feature, and the bootstrap
/// admin token is a credential of the whole server rather than a setting of one part.
#[rustfmt::skip]
pub const KEYS: &[Key] = &[
    top("database_url",                                                               Text),
    top("admin_token",                                                                Optional),
    top("log",                                                                        Text),
    top("webhooks",                                                                   Absent),
    key("server",      "listen",                   "listen",                          Text),
    key("server",      "query_depth_limit",        "query_depth_limit",               Scalar),
    key("server",      "query_complexity_limit",   "query_complexity_limit",          Scalar),
    key("server",      "max_request_bytes",        "max_request_bytes",               Scalar),
    key("server",      "max_json_bytes",           "max_json_bytes",                  Scalar),
    key("server",      "max_upload_files",         "max_upload_files",                Scalar),
    key("server",      "max_batch_operations",     "max_batch_operations",            Scalar),
    key("server",      "max_connections",          "max_connections",                 Scalar),
    key("server",      "header_read_timeout_secs", "header_read_timeout_secs",        Scalar),
    key("server",      "request_timeout_secs",     "request_timeout_secs",            Scalar),
    key("server",      "auth_failures_per_minute", "auth_failures_per_minute",        Scalar),
    key("server",      "trusted_proxies",          "trusted_proxies",                 List),
    key("server",      "tls_cert_file",            "tls_cert_file",                   Optional),
    key("server",      "tls_key_file",             "tls_key_file",                    Optional),
    key("server",      "cors_origins",             "cors_origins",                    List),
    key("server",      "query_token",              "query_token",                     Scalar),
    key("server",      "live_grant_secs",          "live_grant_secs",                 Scalar),
    key("server",      "image_workers",            "image_workers",                   Scalar),
    key("server",      "graphiql",                 "graphiql",                        Scalar),
    key("server",      "dashboard",                "dashboard",                       Scalar),
    key("cameras",     "configs",                  "camera_configs",                  Text),
    key("cameras",     "max_redirects",            "camera_max_redirects",            Scalar),
    key("recognition", "face_models",              "face_models",                     Text),
    key("recognition", "model_manifest",           "model_manifest",                  Text),
    key("recognition", "match_threshold",          "match_threshold",                 Scalar),
    key("recognition", "inference_threads",        "inference_threads",               Scalar),
    key("recognition", "inference_workers",        "inference_workers",               Scalar),
    key("recognition", "min_face_px",              "min_face_px",                     Scalar),
    key("recognition", "execution_provider",       "execution_provider",              Text),
    key("recognition", "max_photo_bytes",          "max_photo_bytes",                 Scalar),
    key("recognition", "min_consecutive",          "min_consecutive",                 Scalar),
    key("recognition", "track_end_after_secs",     "track_end_after_secs",            Scalar),
    key("recognition", "announce_interval_secs",   "announce_interval_secs",          Scalar),
    key("recognition", "min_track_evidence",       "min_track_evidence",              Scalar),
    key("recognition", "motion_gating",            "motion_gating",                   Scalar),
    key("recognition", "full_frame_interval_secs", "full_frame_interval_secs",        Scalar),
    key("recognition", "look_more_fps",            "look_more_fps",                   Scalar),
    key("recognition", "look_more_secs",           "look_more_secs",                  Scalar),
    key("presence",    "lost_after_secs",          "lost_after_secs",                 Scalar),
    key("presence",    "camera_timeout_secs",      "camera_timeout_secs",             Scalar),
    key("presence",    "monitor_interval_ms",      "monitor_interval_ms",             Scalar),
    key("attendance",  "timezone",                 "timezone",                        Text),
    key("attendance",  "work_start",               "work_start",                      Text),
    key("attendance",  "work_end",                 "work_end",                        Text),
    key("attendance",  "grace_minutes",            "grace_minutes",                   Scalar),
    key("attendance",  "work_days",                "work_days",                       Text),
    key("attendance",  "close_interval_secs",      "attendance_close_interval_secs",  Scalar),
    key("attendance",  "departments",              "departments",                     Absent),
    key("retention",   "visits_days",              "retention_visits_days",           Scalar),
    key("retention",   "notifications_days",       "retention_notifications_days",    Scalar),
    key("retention",   "attendance_days",          "retention_attendance_days",       Scalar),
    key("mqtt",        "url",                      "mqtt_url",                        Optional),
    key("mqtt",        "topic_prefix",             "mqtt_topic_prefix",               Text),
    key("mqtt",        "home_assistant",           "mqtt_home_assistant",             Scalar),
    key("mqtt",        "home_assistant_prefix",    "mqtt_home_assistant_prefix",      Text),
    key("mqtt",        "ca_file",                  "mqtt_ca_file",                    Optional),
    key("cluster",     "node_id",                  "node_id",                         Optional),
    key("cluster",     "advertise_url",            "advertise_url",                   Optional),
    key("cluster",     "max_cameras",              "max_cameras",                     OptionalScalar),
    key("cluster",     "lease_secs",               "lease_secs",                      OptionalScalar),
    key("cluster",     "listen_url",               "cluster_listen_url",              Optional),
    key("demo",        "enabled",                  "demo_enabled",                    Scalar),
    key("demo",        "folder",                   "demo_folder",                     Text),
    key("demo",        "lost_after_secs",          "demo_lost_after_secs",            Scalar),
];

impl Key {
    /// The key as `section.key` (or its name, at the top level).
    pub fn path(&self) -> String {
        match self.section {
            Some(section) => format!("{section}.{}", self.name),
            None => self.name.to_owned(),
        }
    }

    /// `HADIR_` and the flat alias in upper case, where the key has a variable.
    pub fn variable(&self) -> Option<String> {
        (self.env != Absent).then(|| format!("{ENV_PREFIX}{}", self.alias.to_ascii_uppercase()))
    }

    /// `HADIR_{SECTION}__{KEY}`, for a key in a section that has a variable.
    pub fn sectioned_variable(&self) -> Option<String> {
        let section = self.section.filter(|_| self.env != Absent)?;
        Some(format!(
            "{ENV_PREFIX}{}{ENV_SECTION_SEPARATOR}{}",
            section.to_ascii_uppercase(),
            self.name.to_ascii_uppercase()
        ))
    }
}

/// The key whose flat alias is `alias`.
pub fn by_alias(alias: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.alias == alias)
}

/// The key `name` of `section`.
pub fn in_section(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter()
        .find(|k| k.section == Some(section) && k.name == name)
}

/// The key at `path` (`presence.lost_after_secs`, `database_url`).
pub fn by_path(path: &str) -> Option<&'static Key> {
    match path.split_once('.') {
        Some((section, name)) => in_section(section, name),
        None => KEYS.iter().find(|k| k.section.is_none() && k.name == path),
    }
}

/// A key as errors name it: `presence.lost_after_secs (flat: lost_after_secs)`, or the key
/// alone where both are one; several keys joined by `/` are each named so. A path deeper
/// than a key (`server.trusted_proxies.0`) names its key.
pub fn describe(keys: &str) -> String {
    keys.split('/')
        .map(|path| {
            let parts: Vec<&str> = path.split('.').collect();
            let known = (1..=parts.len())
                .rev()
                .find_map(|n| by_path(&parts[..n].join(".")).map(|key| (key, &parts[n..])));
            match known {
                Some((key, rest)) if key.section.is_some() => {
                    let flat = [&[key.alias][..], rest].concat().join(".");
                    format!("{path} (flat: {flat})")
                }
                _ => path.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_once_in_the_table_and_its_variables_are_distinct() {
        let mut aliases: Vec<&str> = KEYS.iter().map(|k| k.alias).collect();
        aliases.sort_unstable();
        aliases.dedup();
        assert_eq!(aliases.len(), KEYS.len(), "aliases are distinct");
        let mut paths: Vec<String> = KEYS.iter().map(Key::path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), KEYS.len(), "paths are distinct");
        for key in KEYS {
            assert!(
                key.section.is_none_or(|s| SECTIONS.contains(&s)),
                "{key:?} is in a known section"
            );
            assert!(!SECTIONS.contains(&key.alias), "an alias is not a section");
        }
        let lost = by_alias("lost_after_secs").unwrap();
        assert_eq!(lost.variable().unwrap(), "HADIR_LOST_AFTER_SECS");
        assert_eq!(
            lost.sectioned_variable().unwrap(),
            "HADIR_PRESENCE__LOST_AFTER_SECS"
        );
        assert_eq!(by_path("mqtt.url").unwrap().alias, "mqtt_url");
        assert_eq!(describe("mqtt.url"), "mqtt.url (flat: mqtt_url)");
        assert_eq!(describe("database_url"), "database_url");
        assert_eq!(
            describe("server.trusted_proxies.0"),
            "server.trusted_proxies.0 (flat: trusted_proxies.0)"
        );
        assert_eq!(by_alias("departments").unwrap().variable(), None);
    }
}
