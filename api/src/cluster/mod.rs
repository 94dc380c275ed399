//! The cluster: several `hadir serve` processes on one PostgreSQL, each camera read by
//! exactly one of them, the leader's jobs run by one, every event delivered on every node.
//! On SQLite the same interface is a cluster of one: it holds every camera, is always the
//! leader, and relays nothing.
//!
//! # Layout
//! - [`settings`]: the `[cluster]` section: node id, advertised URL, camera limit, lease.
//! - [`rules`]: the pure decisions: fair share, which camera to give up, the self-fence, clocks.
//! - [`leases`]: the rows in PostgreSQL: join, the tick (heartbeat, renew, take), leave.
//! - [`identity`]: who this node is: its id, its advertised URL, its instance, its folder.
//! - [`membership`]: [`membership::Cluster`]: the lease loop, and which cameras this node
//!   reads and whether it leads, as watch channels.
//! - [`holdings`]: which cameras a node reads, and the claim their tasks write under.
//! - [`view`]: the nodes and who reads which camera, as the API shows them.
//! - [`signing`]: requests between nodes, signed with the cluster's key.
//! - [`proxy`]: live video of a camera another node reads, fed from that node.
//! - [`housekeeping`]: the leader's cleaning of the cluster's tables.

//!
//! The event relay (every event on every node, once):
//! - [`relay`]: the relay's construction, its handle, and the sending loop (batches).
//! - [`receiver`]: the receiving loop: dedupe, gaps, stale statuses, aggregates, pings.
//! - [`recompute`]: what a receiver reads from its own database: aggregates (coalesced), URLs.
//! - [`resync`]: what changed in the database during a gap, delivered where newer.
//! - [`delivered`]: what this node delivered (sequences, status versions, notification ids).
//! - [`wire`]: events as JSON in a versioned envelope, by reference when too long for NOTIFY.
//! - [`wire_model`]: the serde mirrors of the records events carry (no stream URLs).
//! - [`control`]: the control channel's messages (faces changed, nodes, resync, ping).
//! - [`bus`]: the transport trait and PostgreSQL's `NOTIFY`/`LISTEN` behind it.
//! - [`counters`]: the relay's counters and their Prometheus text.
//! - [`health`]: whether the listener hears its own pings, for `/healthz`.
//! - [`shared`]: what the relay's tasks and handle share; a log throttle.
//! - [`gallery`]: the gallery kept in step: one employee per `FacesChanged`, a full check
//!   after each resync and every minute.

pub mod bus;
pub mod control;
pub mod counters;
pub mod delivered;
pub mod gallery;
pub mod health;
pub mod holdings;
pub mod housekeeping;
pub mod identity;
pub mod leases;
pub mod membership;
pub mod proxy;
pub mod receiver;
pub mod recompute;
pub mod relay;
pub mod resync;
pub mod rules;
pub mod settings;
pub mod shared;
pub mod signing;
pub mod view;
pub mod wire;
pub mod wire_model;

#[cfg(test)]
mod tests;
