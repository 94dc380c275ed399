//! The cluster: several `hadir serve` processes on one PostgreSQL, each camera read by
//! exactly one of them, the leader's jobs run by one, every event delivered on every node.
//! On SQLite the same interface is a cluster of one: it holds every camera, is always the
//! leader, and relays nothing.
//!
//! # Layout
//! - [`settings`]: the `[cluster]` section: node id, advertised URL, camera limit, lease.
//! - [`rules`]: the pure decisions: fair share, which camera to give up, the self-fence, clocks.
//! - [`leases`]: the rows in PostgreSQL: join, the tick (heartbeat, renew, take), leave.
//!
//! The event relay (every event on every node, once):
//! - [`wire`]: events as JSON in a versioned envelope, by reference when too long for NOTIFY.
//! - [`wire_model`]: the serde mirrors of the records events carry (no stream URLs).
//! - [`control`]: the control channel's messages (faces changed, nodes, resync, ping).

pub mod control;
pub mod leases;
pub mod rules;
pub mod settings;
pub mod wire;
pub mod wire_model;

#[cfg(test)]
mod tests;
