//! The cluster: several `hadir serve` processes on one PostgreSQL.
//!
//! - `cluster_nodes`: one row per node id: the instance running under it now, how peers reach
//!   it, how many cameras it may read, when it last said it was alive (PostgreSQL's clock).
//! - `leases`: who reads each camera (`camera/<id>`) and who is the leader (`leader`), until
//!   when; `epoch` grows at every change of holder, so a write of the old holder can be told
//!   from the new one's.
//! - `cluster_payloads`: relayed events too large for a `NOTIFY`, by id (purged after minutes).
//! - `cluster_state`: small values the leader keeps for the cluster (`closed_through` of the
//!   attendance closer, the last notification delivered to the integrations).
//! - `cameras.pinned_node`: the node that alone may read a camera (a webcam or a file is
//!   readable only where it is; an operator may pin a network camera too). NULL: any node.
//! - `status_version` on `employee_tracking` and `cameras`: grows by one at every write that
//!   changes `status`, so a node told a status twice (a relayed event and a resync) delivers
//!   only what is newer.
//!
//! The key that signs node-to-node requests is a row of `server_secrets` (`cluster_secret`),
//! made like the grant key.
//!
//! On SQLite the tables exist and stay empty: one process is a cluster of one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClusterNodes::Table)
                    .if_not_exists()
                    .col(string_len(ClusterNodes::NodeId, 64).primary_key())
                    .col(string_len(ClusterNodes::InstanceId, 36))
                    .col(string_len(ClusterNodes::AdvertiseUrl, 2_048))
                    .col(integer_null(ClusterNodes::MaxCameras))
                    .col(string_len(ClusterNodes::Version, 64))
                    .col(string_len(ClusterNodes::FolderDigest, 64))
                    .col(timestamp_with_time_zone(ClusterNodes::StartedAt))
                    .col(timestamp_with_time_zone(ClusterNodes::HeartbeatAt))
                    .col(timestamp_with_time_zone(ClusterNodes::ExpiresAt))
                    .col(big_integer(ClusterNodes::ClockSkewMs).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .if_not_exists()
                    .col(string_len(Leases::Resource, 200).primary_key())
                    .col(string_len(Leases::NodeId, 64))
                    .col(string_len(Leases::InstanceId, 36))
                    .col(timestamp_with_time_zone(Leases::ExpiresAt))
                    .col(big_integer(Leases::Epoch))
                    .col(timestamp_with_time_zone(Leases::AcquiredAt))
                    .to_owned(),
            )
            .await?;
        crate::helpers::create_index(
            manager,
            "idx_leases_instance",
            Leases::Table,
            [Leases::InstanceId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterPayloads::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ClusterPayloads::Id))
                    .col(text(ClusterPayloads::Payload))
                    .col(timestamp_with_time_zone(ClusterPayloads::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClusterState::Table)
                    .if_not_exists()
                    .col(string_len(ClusterState::Key, 64).primary_key())
                    .col(text(ClusterState::Value))
                    .to_owned(),
            )
            .await?;
        for table in [StatusVersioned::EmployeeTracking, StatusVersioned::Cameras] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(big_integer(StatusVersioned::StatusVersion).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(StatusVersioned::Cameras)
                    .add_column(string_len_null(StatusVersioned::PinnedNode, 64))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StatusVersioned::Cameras)
                    .drop_column(StatusVersioned::PinnedNode)
                    .to_owned(),
            )
            .await?;
        for table in [StatusVersioned::EmployeeTracking, StatusVersioned::Cameras] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(StatusVersioned::StatusVersion)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            ClusterState::Table.into_iden(),
            ClusterPayloads::Table.into_iden(),
            Leases::Table.into_iden(),
            ClusterNodes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ClusterNodes {
    Table,
    NodeId,
    InstanceId,
    AdvertiseUrl,
    MaxCameras,
    Version,
    FolderDigest,
    StartedAt,
    HeartbeatAt,
    ExpiresAt,
    ClockSkewMs,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Resource,
    NodeId,
    InstanceId,
    ExpiresAt,
    Epoch,
    AcquiredAt,
}

#[derive(DeriveIden)]
enum ClusterPayloads {
    Table,
    Id,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ClusterState {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum StatusVersioned {
    EmployeeTracking,
    Cameras,
    StatusVersion,
    PinnedNode,
}
