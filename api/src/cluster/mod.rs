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

pub mod holdings;
pub mod housekeeping;
pub mod identity;
pub mod leases;
pub mod membership;
pub mod proxy;
pub mod rules;
pub mod settings;
pub mod signing;
pub mod view;
