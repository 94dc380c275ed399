//! The `[[webhooks]]` of `hadir.toml` (and `HADIR_WEBHOOK_URLS`): where events are POSTed,
//! which events, and the secret that signs them; the names of the events.
//!
//! A leaf: it imports nothing from the crate, so the senders read it and [`crate::config`]
//! assembles it without either importing the other.

use serde::{Deserialize, Serialize};

/// The events a webhook can receive.
pub const EVENT_NAMES: [&str; 6] = [
    "employee.status_changed",
    "notification.created",
    "camera.status_changed",
    "summary.changed",
    "employee.detected",
    "unknown_face.detected",
];

/// The events a webhook receives when it does not say: the changes (not every recognition).
pub const DEFAULT_EVENTS: [&str; 3] = [
    "employee.status_changed",
    "notification.created",
    "camera.status_changed",
];

/// One webhook as configured (`[[webhooks]]` in `hadir.toml`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST: `http://…` or `https://…`.
    pub url: String,
    /// Which events (default: [`DEFAULT_EVENTS`]); `["*"]` for all.
    pub events: Option<Vec<String>>,
    /// The key of the `X-Hadir-Signature` HMAC.
    pub secret: Option<String>,
}

impl WebhookConfig {
    /// Checks the URL and the event names; returns the events it wants.
    pub fn wanted_events(&self) -> Result<Vec<&'static str>, String> {
        let parsed =
            url::Url::parse(self.url.trim()).map_err(|e| format!("the url is not a URL ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!("{} is not an http(s):// URL", shown(&self.url)));
        }
        let Some(events) = &self.events else {
            return Ok(DEFAULT_EVENTS.to_vec());
        };
        if events.iter().any(|e| e == "*") {
            return Ok(EVENT_NAMES.to_vec());
        }
        events
            .iter()
            .map(|name| {
                EVENT_NAMES
                    .iter()
                    .find(|known| **known == name.trim())
                    .copied()
                    .ok_or_else(|| {
                        format!(
                            "{name:?} is not an event; the events are {} (or \"*\")",
                            EVENT_NAMES.join(", ")
                        )
                    })
            })
            .collect()
    }
}

/// A webhook URL as logs show it: scheme, host and port only. Paths and credentials often
/// hold the receiver's secret (a chat service's incoming-webhook URL, say).
pub fn shown(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(parsed) => format!(
            "{}://{}{}/…",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_urls_are_checked() {
        let hook = |url: &str, events: Option<Vec<&str>>| WebhookConfig {
            url: url.to_owned(),
            events: events.map(|e| e.into_iter().map(str::to_owned).collect()),
            secret: None,
        };
        assert_eq!(
            hook("https://hr.example.com/in", None).wanted_events(),
            Ok(DEFAULT_EVENTS.to_vec())
        );
        assert_eq!(
            hook("http://127.0.0.1:9000/", Some(vec!["*"])).wanted_events(),
            Ok(EVENT_NAMES.to_vec())
        );
        let error = hook("http://x/", Some(vec!["employee.lost"]))
            .wanted_events()
            .unwrap_err();
        assert!(
            error.contains("\"employee.lost\" is not an event"),
            "{error}"
        );
        let error = hook("ftp://x/", None).wanted_events().unwrap_err();
        assert!(error.contains("not an http(s)"), "{error}");
        assert_eq!(
            shown("https://hooks.example.com:8443/services/T0/B1/s3cr3t?token=x"),
            "https://hooks.example.com:8443/…"
        );
    }
}
