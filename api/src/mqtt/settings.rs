//! The `[mqtt]` section of `hadir.toml` and what it gives: the broker's address,
//! credentials, TLS, topic prefix and Home Assistant discovery ([`MqttSettings`]).
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`], so the bridge reads it
//! and [`crate::config`] assembles it without either importing the other.

use std::{path::PathBuf, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::validate::InvalidSetting;

/// The topic prefix when none is configured.
pub const DEFAULT_TOPIC_PREFIX: &str = "hadir";
/// Home Assistant's default discovery prefix.
pub const DEFAULT_DISCOVERY_PREFIX: &str = "homeassistant";
/// Home Assistant discovery is off by default.
pub const DEFAULT_HOME_ASSISTANT: bool = false;

/// `[mqtt]`: the broker to publish to, as written (none: no MQTT).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSection {
    /// `mqtt://[user:pass@]host[:port]` or `mqtts://…` (flat alias `mqtt_url`).
    pub url: Option<String>,
    /// The first level of every topic hadir publishes (flat alias `mqtt_topic_prefix`).
    pub topic_prefix: String,
    /// Publish Home Assistant discovery messages: employees as device trackers, cameras as
    /// connectivity sensors, the counts as sensors (flat alias `mqtt_home_assistant`).
    pub home_assistant: bool,
    /// Home Assistant's discovery prefix (flat alias `mqtt_home_assistant_prefix`).
    pub home_assistant_prefix: String,
    /// CA certificates (PEM) trusted for an `mqtts://` broker, besides the public roots
    /// (flat alias `mqtt_ca_file`).
    pub ca_file: Option<PathBuf>,
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            url: None,
            topic_prefix: DEFAULT_TOPIC_PREFIX.to_owned(),
            home_assistant: DEFAULT_HOME_ASSISTANT,
            home_assistant_prefix: DEFAULT_DISCOVERY_PREFIX.to_owned(),
            ca_file: None,
        }
    }
}

impl MqttSection {
    /// The broker to publish to, if any; an error names `mqtt.url` and what is wrong with
    /// the URL, the prefixes or the CA file.
    pub fn settings(&self) -> Result<Option<MqttSettings>, InvalidSetting> {
        self.url
            .as_deref()
            .map(|url| {
                let mut settings = MqttSettings::parse(url, &self.topic_prefix)?;
                if let Some(ca_file) = &self.ca_file {
                    settings = settings.with_ca_file(ca_file)?;
                }
                if self.home_assistant {
                    settings.with_home_assistant(&self.home_assistant_prefix)
                } else {
                    Ok(settings)
                }
            })
            .transpose()
            .map_err(|reason| InvalidSetting::new("mqtt.url", reason))
    }
}

/// Where and how to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub topic_prefix: String,
    pub client_id: String,
    /// Home Assistant's discovery prefix, where its discovery messages are wanted.
    pub home_assistant: Option<String>,
    /// TLS (`mqtts://`): the broker's certificate is checked against the public roots and
    /// the CA certificates of `ca_file`, where one is given.
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
}

impl MqttSettings {
    /// Reads `mqtt://[user[:password]@]host[:port]` (port 1883 by default) or `mqtts://…`
    /// (TLS, port 8883 by default).
    pub fn parse(url: &str, topic_prefix: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| format!("{url:?} is not a URL such as mqtt://127.0.0.1:1883 ({e})"))?;
        let tls = match parsed.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => {
                return Err(format!(
                    "{url:?}: scheme {other:?} is not mqtt:// or mqtts://"
                ));
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{url:?} names no host"))?
            .to_owned();
        let prefix = topic_prefix.trim().trim_end_matches('/');
        if prefix.is_empty() || prefix.contains(['+', '#']) || prefix.starts_with('$') {
            return Err(format!(
                "topic prefix {topic_prefix:?} must be a plain topic level such as \"hadir\" \
                 (no +, # or leading $)"
            ));
        }
        let decode = vision::source::percent_decode;
        Ok(Self {
            host,
            port: parsed.port().unwrap_or(if tls { 8883 } else { 1883 }),
            username: Some(decode(parsed.username())).filter(|u| !u.is_empty()),
            password: parsed.password().map(decode),
            topic_prefix: prefix.to_owned(),
            client_id: format!("hadir-{}-{}", std::process::id(), rand::random::<u32>()),
            home_assistant: None,
            tls,
            ca_file: None,
        })
    }

    /// Trusts the CA certificates (PEM) of `path` too, for a broker with a private CA.
    pub fn with_ca_file(mut self, path: &std::path::Path) -> Result<Self, String> {
        if !self.tls {
            return Err(format!(
                "a CA file ({}) is for TLS brokers: use an mqtts:// URL",
                path.display()
            ));
        }
        self.ca_file = Some(path.to_owned());
        self.tls_config()?;
        Ok(self)
    }

    /// The TLS client configuration: the public roots, plus the CA file's certificates.
    pub fn tls_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
            let mut added = 0;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!(
                    "CA file {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
    }

    /// Also publishes Home Assistant discovery messages under `discovery_prefix`.
    pub fn with_home_assistant(mut self, discovery_prefix: &str) -> Result<Self, String> {
        let prefix = discovery_prefix.trim().trim_end_matches('/');
        if prefix.is_empty() || prefix.contains(['+', '#']) {
            return Err(format!(
                "discovery prefix {discovery_prefix:?} must be a plain topic such as \
                 \"homeassistant\""
            ));
        }
        self.home_assistant = Some(prefix.to_owned());
        Ok(self)
    }

    /// A topic under the prefix.
    pub(super) fn topic(&self, rest: &str) -> String {
        format!("{}/{rest}", self.topic_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_are_read_and_bad_ones_named() {
        let settings =
            MqttSettings::parse("mqtt://ha:s%40c+ret@broker.lan:1884", "office/").unwrap();
        assert_eq!(settings.host, "broker.lan");
        assert_eq!(settings.port, 1884);
        assert_eq!(settings.username.as_deref(), Some("ha"));
        assert_eq!(settings.password.as_deref(), Some("s@c+ret"));
        assert_eq!(settings.topic("status"), "office/status");
        let plain = MqttSettings::parse("mqtt://127.0.0.1", "hadir").unwrap();
        assert_eq!((plain.port, plain.username.as_deref()), (1883, None));
        let tls = MqttSettings::parse("mqtts://broker.example.com", "hadir").unwrap();
        assert!(tls.tls);
        assert_eq!(tls.port, 8883);
        assert!(tls.tls_config().is_ok(), "the public roots alone");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let error = tls.clone().with_ca_file(&empty).unwrap_err();
        assert!(error.contains("holds no PEM certificate"), "{error}");
        let error = tls
            .with_ca_file(&dir.path().join("missing.pem"))
            .unwrap_err();
        assert!(error.contains("missing.pem"), "{error}");
        let error = plain.with_ca_file(&empty).unwrap_err();
        assert!(error.contains("mqtts://"), "{error}");
        let error = MqttSettings::parse("http://broker", "hadir").unwrap_err();
        assert!(error.contains("not mqtt:// or mqtts://"), "{error}");
        let error = MqttSettings::parse("mqtt://broker", "a/#").unwrap_err();
        assert!(error.contains("topic prefix"), "{error}");
    }
}
