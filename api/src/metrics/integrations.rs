//! What the integrations (MQTT, webhooks) delivered, counted by their tasks and shown by
//! `/metrics`. A leaf, so that the integrations need not import the metrics page.

use std::sync::atomic::{AtomicBool, AtomicU64};

/// Counters of the integrations (MQTT, webhooks), shared with their tasks.
#[derive(Debug, Default)]
pub struct IntegrationCounters {
    pub mqtt_connected: AtomicBool,
    /// Messages handed to the MQTT client.
    pub mqtt_published: AtomicU64,
    /// Messages dropped: the queue was full while the broker was away.
    pub mqtt_dropped: AtomicU64,
    /// Webhook deliveries a receiver accepted.
    pub webhook_delivered: AtomicU64,
    /// Webhook attempts that failed and were retried.
    pub webhook_retried: AtomicU64,
    /// Webhook deliveries given up (attempts exhausted, or the queue full).
    pub webhook_dropped: AtomicU64,
}
