//! The `[cluster]` section of `hadir.toml`: who this node is among several `hadir serve`
//! processes on one PostgreSQL, how its peers reach it, how many cameras it may read, and how
//! long its leases last. On SQLite the section is read and a process is a cluster of one.
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`], so the cluster reads it
//! and [`crate::config`] assembles it without either importing the other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::validate::InvalidSetting;

/// How long a lease lasts unless renewed, by default (renewed every third of it).
pub const DEFAULT_LEASE_SECS: u64 = 15;
/// The shortest lease: renewals every second, a dead node's cameras taken within 3 s.
pub const MIN_LEASE_SECS: u64 = 3;
/// Longest node id.
pub const MAX_NODE_ID_CHARS: usize = 64;

/// `[cluster]`: this node among the others on one PostgreSQL.
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSection {
    /// This node's name among the others (unset: the host name). One process at a time may
    /// run under a name.
    pub node_id: Option<String>,
    /// How peers reach this node, `http(s)://host:port` (unset: the host name and the bound
    /// port).
    pub advertise_url: Option<String>,
    /// The most cameras this node reads (unset: no limit; 0: API and subscriptions only).
    pub max_cameras: Option<u32>,
    /// Seconds a lease lasts unless renewed (3 to half of `presence.camera_timeout_secs`;
    /// unset: [`DEFAULT_LEASE_SECS`]).
    pub lease_secs: Option<u64>,
    /// A direct, session-mode PostgreSQL URL for LISTEN and the start-up lock (unset:
    /// `database_url`; flat alias `cluster_listen_url`). Not through a transaction-pooling
    /// PgBouncer: LISTEN needs its own session.
    pub listen_url: Option<String>,
}

impl ClusterSection {
    /// Checks every key, given the camera timeout a lease must fit twice into.
    pub fn validate(&self, camera_timeout_secs: u64) -> Result<(), InvalidSetting> {
        if let Some(id) = &self.node_id {
            node_id(id)?;
        }
        if let Some(lease) = self.lease_secs {
            let most = camera_timeout_secs / 2;
            if lease < MIN_LEASE_SECS || lease > most {
                return Err(InvalidSetting::new(
                    "cluster.lease_secs",
                    format!(
                        "{lease} is outside {MIN_LEASE_SECS}..={most} (at least \
                         {MIN_LEASE_SECS}, at most half of presence.camera_timeout_secs = \
                         {camera_timeout_secs})"
                    ),
                ));
            }
        }
        if let Some(url) = &self.advertise_url {
            advertise_url(url)?;
        }
        if let Some(url) = &self.listen_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(InvalidSetting::new(
                "cluster.listen_url",
                "must be a postgres://… URL (LISTEN and the start-up lock need PostgreSQL)",
            ));
        }
        Ok(())
    }

    /// How long a lease lasts unless renewed: `lease_secs`, or when unset
    /// [`DEFAULT_LEASE_SECS`] shortened to half the camera timeout (never below
    /// [`MIN_LEASE_SECS`]), so a dead node's cameras move before they would be taken for down.
    pub fn lease(&self, camera_timeout_secs: u64) -> Duration {
        let secs = self.lease_secs.unwrap_or_else(|| {
            DEFAULT_LEASE_SECS
                .min(camera_timeout_secs / 2)
                .max(MIN_LEASE_SECS)
        });
        Duration::from_secs(secs)
    }
}

/// A node id: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn node_id(id: &str) -> Result<(), InvalidSetting> {
    if id.is_empty() || id.chars().count() > MAX_NODE_ID_CHARS {
        return Err(InvalidSetting::new(
            "cluster.node_id",
            format!("{id:?} must be 1 to {MAX_NODE_ID_CHARS} characters"),
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(InvalidSetting::new(
            "cluster.node_id",
            format!("{id:?}: {bad:?} is not allowed (use letters, digits, '.', '_' and '-')"),
        ));
    }
    Ok(())
}

/// An advertised URL: `http(s)://host:port` with nothing after but an optional `/`.
pub fn advertise_url(text: &str) -> Result<url::Url, InvalidSetting> {
    let invalid = |why: &str| {
        InvalidSetting::new(
            "cluster.advertise_url",
            format!("{text:?} is not http(s)://host:port ({why})"),
        )
    };
    let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    // `Url` forgets a port that is the scheme's default (`https://a:443`): look at the text.
    let default_port = url.port_or_known_default().map(|p| format!(":{p}"));
    let has_port = url.port().is_some() || default_port.is_some_and(|p| text.contains(p.as_str()));
    if !has_port {
        return Err(invalid("no port"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("nothing may follow the port"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("no credentials"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_fit_the_camera_timeout() {
        let mut section = ClusterSection::default();
        assert_eq!(section.lease(30), Duration::from_secs(15));
        assert_eq!(
            section.lease(10),
            Duration::from_secs(5),
            "unset: half the timeout"
        );
        assert_eq!(section.lease(4), Duration::from_secs(3), "never below 3 s");
        assert!(
            section.validate(4).is_ok(),
            "an unset lease is never refused"
        );
        section.lease_secs = Some(15);
        assert!(section.validate(30).is_ok(), "15 s fits 30 s");
        assert!(
            section.validate(20).is_err(),
            "15 s is more than half of 20 s"
        );
        section.lease_secs = Some(2);
        let error = section.validate(30).unwrap_err();
        assert_eq!(error.key, "cluster.lease_secs");
        assert!(error.reason.contains("3..=15"), "{}", error.reason);
        section.lease_secs = Some(3);
        assert!(section.validate(10).is_ok());
        section.lease_secs = Some(6);
        assert!(section.validate(10).is_err());
    }

    #[test]
    fn advertised_urls_are_scheme_host_and_port() {
        assert!(advertise_url("http://10.0.0.5:8080").is_ok());
        assert!(advertise_url("https://node-a.example:443/").is_ok());
        for bad in [
            "10.0.0.5:8080",
            "ftp://a:21",
            "http://a",
            "http://a:8080/path",
            "http://user:pw@a:8080",
            "http://:8080",
        ] {
            let error = advertise_url(bad).unwrap_err();
            assert_eq!(error.key, "cluster.advertise_url", "{bad}");
        }
    }

    #[test]
    fn node_ids_are_identifiers() {
        assert!(node_id("node-a.1_x").is_ok());
        assert!(node_id("").is_err());
        assert!(node_id("a b").is_err());
        assert!(node_id(&"x".repeat(65)).is_err());
    }
}
