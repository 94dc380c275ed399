//! SeaORM migrations of hadir. The same steps run on SQLite and on PostgreSQL.
//!
//! # Layout
//! - [`m20261125_000001_core_tables`]: the seed's tables: `employees`, `cameras`,
//!   `employee_tracking`, `notifications`, `attendance_logs`.
//! - [`m20261125_000002_embeddings_and_visits`]: `face_embeddings` and the `visits` history.
//! - [`m20261125_000003_api_tokens`]: hashed bearer tokens with roles.
//! - [`m20261125_000004_camera_ignore_regions`]: where in a camera's picture faces are ignored.
//! - [`m20261201_000005_server_secrets`]: keys the server makes for itself (grant signing).
//! - [`m20261202_000006_cluster`]: nodes, leases, relayed payloads, cluster state and status
//!   versions, for several processes on one PostgreSQL.
//! - [`m20261203_000007_demo`]: which employees and cameras the demo site made.
//!
//! - `helpers`: foreign keys and indexes as every step declares them.
//!
//! [`Migrator`] lists them in order; `hadir migrate` and `hadir serve` apply what is pending.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261125_000001_core_tables;
mod m20261125_000002_embeddings_and_visits;
mod m20261125_000003_api_tokens;
mod m20261125_000004_camera_ignore_regions;
mod m20261201_000005_server_secrets;
mod m20261202_000006_cluster;
mod m20261203_000007_demo;

/// Every migration of hadir, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_core_tables::Migration),
            Box::new(m20261125_000002_embeddings_and_visits::Migration),
            Box::new(m20261125_000003_api_tokens::Migration),
            Box::new(m20261125_000004_camera_ignore_regions::Migration),
            Box::new(m20261201_000005_server_secrets::Migration),
            Box::new(m20261202_000006_cluster::Migration),
            Box::new(m20261203_000007_demo::Migration),
        ]
    }
}
