//! The hadir server: configuration, CLI, the presence engine, and the GraphQL API over HTTP
//! and WebSocket.
//!
//! # Layout
//! The central loop, one file per step:
//! - `recognition/capture.rs` reads a camera; `recognition/analyse.rs`: a frame becomes
//!   faces (vision's pipeline, `vision/src/pipeline.rs`, looking where the frame changed).
//! - `recognition/decide.rs`: faces become a sighting (agreeing frames name an employee).
//! - `presence/engine.rs`: a sighting becomes a presence (the pure rules in
//!   `presence/rules.rs`, written conditionally by `presence/store/mod.rs`).
//! - `events.rs`: a presence becomes an event, published once to every subscriber
//!   (`graphql/subscription.rs`, [`mqtt`], [`webhooks`]).
//!
//! Modules:
//! - [`app`]: the composition root: builds the services, runs every task, stops them in order.
//! - [`cmd`]: the command line, one file per command.
//! - [`banner`]: what a person sees at start-up: the URLs, the first admin token.
//! - [`config`]: `hadir.toml` by section plus `HADIR_*` overrides, assembled; each section
//!   lives in its feature's settings file, every default a named constant there.
//! - [`db`]: connecting to SQLite or PostgreSQL and migrating.
//! - [`demo`]: the demo site a newcomer sees first: a looping recording, demo employees
//!   recognised in it; removed with one setting.
//! - [`backup`]: database backups and their restore; the copy taken before a migration.
//! - [`doctor`]: `hadir doctor`'s checks (configuration, database, models, disk, cameras),
//!   each with its fix.
//! - [`auth`]: bearer tokens (stored hashed) and roles (the GraphQL guard: `graphql::guard`).
//! - [`clock`]: the injectable clock the presence rules read.
//! - [`cluster`]: several processes on one PostgreSQL: camera leases, the leader, the event
//!   relay; on SQLite a cluster of one.
//! - [`backoff`]: the capped exponential backoff every reconnecting loop uses.
//! - [`recognition`]: the camera tasks: capture, a frame to faces, faces to a sighting, the
//!   live view, counters, the AI status.
//! - [`presence`]: the presence engine: rules, conditional writes, the monitor loop.
//! - [`events`]: the event bus that feeds subscriptions, MQTT and webhooks.
//! - [`event_json`]: events as JSON for MQTT and webhooks.
//! - [`cameras`]: camera records: files, their sync into the database, the camera service,
//!   ignore regions.
//! - [`attendance`]: daily logs from visits, the work schedule, reports, retention.
//! - [`employees`], [`notifications`]: the employee and notification services.
//! - [`faces`]: enrolment and recognition of photos against the in-memory gallery.
//! - [`import`]: bulk import of a staff directory (a CSV and its photos), for `hadir
//!   import` and the `importEmployees` mutation.
//! - [`validate`]: checks on identifiers, names and URLs, naming the field at fault.
//! - [`patch`]: [`patch::Patch`], a change to one optional field (leave, clear, set).
//! - [`grants`]: short-lived signed grants in live-view URLs (instead of tokens in URLs).
//! - [`redact`]: what may be shown of secrets (camera URLs, messages) to admins, logs, viewers.
//! - [`graphql`]: the schema: query, mutation and subscription roots by domain; it wraps
//!   the domain's types (nothing outside `graphql/` and `server/` knows GraphQL).
//! - [`metrics`]: `GET /metrics` in the Prometheus text format.
//! - [`mqtt`]: the MQTT bridge: presence, notifications and camera status to a broker.
//! - [`webhooks`]: events POSTed, signed and retried, to configured URLs.
//! - [`server`]: the HTTP router, one router per resource, and the listener.
//! - [`state`]: what handlers and resolvers share.
//! - [`error`]: the services' error type.

/// This build's version, as `/healthz`, `aiStatus` and `hadir --version` report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod app;
pub mod attendance;
pub mod auth;
pub mod backoff;
pub mod backup;
pub mod banner;
pub mod cameras;
pub mod clock;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod db;
pub mod demo;
pub mod doctor;
pub mod employees;
pub mod error;
pub mod event_json;
pub mod events;
pub mod faces;
pub mod grants;
pub mod graphql;
pub mod import;
pub mod metrics;
pub mod mqtt;
pub mod notifications;
pub mod patch;
pub mod presence;
pub mod recognition;
pub mod redact;
pub mod server;
pub mod state;
pub mod validate;
pub mod webhooks;
