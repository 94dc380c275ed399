//! `face_embeddings` (several per employee, each with the model that made it) and `visits`
//! (the presence history: employee, camera, from, to).

use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    helpers::{create_index, references},
    m20261125_000001_core_tables::{Cameras, Employees},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FaceEmbeddings::Table)
                    .if_not_exists()
                    .col(big_pk_auto(FaceEmbeddings::Id))
                    .col(string_len(FaceEmbeddings::EmployeeId, 64))
                    .col(string_len(FaceEmbeddings::Model, 128))
                    .col(integer(FaceEmbeddings::Dimensions))
                    .col(blob(FaceEmbeddings::Vector))
                    .col(timestamp_with_time_zone(FaceEmbeddings::ConsentedAt))
                    .col(timestamp_with_time_zone(FaceEmbeddings::CreatedAt))
                    .foreign_key(&mut references(
                        "fk_face_embeddings_employee",
                        (FaceEmbeddings::Table, FaceEmbeddings::EmployeeId),
                        (Employees::Table, Employees::EmployeeId),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_face_embeddings_employee",
            FaceEmbeddings::Table,
            [FaceEmbeddings::EmployeeId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Visits::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Visits::Id))
                    .col(string_len(Visits::EmployeeId, 64))
                    .col(string_len_null(Visits::CameraId, 64))
                    .col(timestamp_with_time_zone(Visits::StartedAt))
                    .col(timestamp_with_time_zone(Visits::EndedAt))
                    .col(integer(Visits::Sightings).default(1))
                    .foreign_key(&mut references(
                        "fk_visits_employee",
                        (Visits::Table, Visits::EmployeeId),
                        (Employees::Table, Employees::EmployeeId),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut references(
                        "fk_visits_camera",
                        (Visits::Table, Visits::CameraId),
                        (Cameras::Table, Cameras::CameraId),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_visits_employee_started",
            Visits::Table,
            [Visits::EmployeeId, Visits::StartedAt],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Visits::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(FaceEmbeddings::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum FaceEmbeddings {
    Table,
    Id,
    EmployeeId,
    Model,
    Dimensions,
    Vector,
    ConsentedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Visits {
    Table,
    Id,
    EmployeeId,
    CameraId,
    StartedAt,
    EndedAt,
    Sightings,
}
