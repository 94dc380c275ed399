//! The hadir server: configuration, CLI, the presence engine, and the GraphQL API over HTTP
//! and WebSocket.
//!
//! # Layout
//! - [`config`]: `hadir.toml` by section plus `HADIR_*` overrides, assembled; each section
//!   lives in its feature's `settings.rs`, every default a named constant there.
//! - [`db`]: connecting to SQLite or PostgreSQL and migrating.
//! - [`auth`]: bearer tokens (stored hashed), roles, the resolvers' guard.
//! - [`clock`]: the injectable clock the presence rules read.
//! - [`events`]: the event bus that feeds subscriptions, MQTT and webhooks.
//! - [`event_json`]: events as JSON for MQTT and webhooks.
//! - [`presence`]: the presence engine: rules, conditional writes, the monitor loop.
//! - [`cameras`]: camera files, their sync into the database, the camera service.
//! - [`attendance`]: daily logs from visits, the work schedule, reports, retention.
//! - [`employees`], [`notifications`]: the employee and notification services.
//! - [`faces`]: enrolment and recognition of photos against the in-memory gallery.
//! - [`recognition`]: recognition in camera frames; its `[recognition]` settings.
//! - [`validate`]: checks on identifiers, names and URLs, naming the field at fault.
//! - [`grants`]: short-lived signed grants in live-view URLs (instead of tokens in URLs).
//! - [`redact`]: what may be shown of secrets (camera URLs, messages) to admins, logs, viewers.
//! - [`graphql`]: the schema: query, mutation and subscription roots by domain.
//! - [`metrics`]: `GET /metrics` in the Prometheus text format.
//! - [`mqtt`]: the MQTT bridge: presence, notifications and camera status to a broker.
//! - [`webhooks`]: events POSTed, signed and retried, to configured URLs.
//! - [`server`]: the axum router and `serve`.
//! - [`state`]: what handlers and resolvers share.
//! - [`error`]: the services' error type.

pub mod app;
pub mod attendance;
pub mod auth;
pub mod cameras;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod db;
pub mod employees;
pub mod error;
pub mod event_json;
pub mod events;
pub mod faces;
pub mod grants;
pub mod graphql;
pub mod metrics;
pub mod mqtt;
pub mod notifications;
pub mod presence;
pub mod recognition;
pub mod redact;
pub mod server;
pub mod state;
pub mod validate;
pub mod webhooks;
