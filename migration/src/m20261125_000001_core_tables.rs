//! The seed's tables: `employees`, `cameras`, `employee_tracking`, `notifications` and
//! `attendance_logs`, with the columns hadir adds to them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_index, references};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Employees::Table)
                    .if_not_exists()
                    .col(string_len(Employees::EmployeeId, 64).primary_key())
                    .col(string_len(Employees::Name, 200))
                    .col(string_len_null(Employees::Department, 200))
                    .col(string_len_null(Employees::Role, 200))
                    .col(timestamp_with_time_zone(Employees::CreatedAt))
                    .col(timestamp_with_time_zone(Employees::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Cameras::Table)
                    .if_not_exists()
                    .col(string_len(Cameras::CameraId, 64).primary_key())
                    .col(string_len(Cameras::CameraName, 200))
                    .col(text(Cameras::RtspUrl))
                    .col(string_len(Cameras::Status, 16).default("offline"))
                    .col(boolean(Cameras::IsActive).default(false))
                    .col(boolean(Cameras::Enabled).default(true))
                    .col(double(Cameras::SampleFps).default(1.0))
                    .col(string_len(Cameras::Source, 16).default("api"))
                    .col(text_null(Cameras::ConfigPath))
                    .col(timestamp_with_time_zone_null(Cameras::LastFrameAt))
                    .col(text_null(Cameras::StatusMessage))
                    .col(timestamp_with_time_zone_null(Cameras::StatusChangedAt))
                    .col(timestamp_with_time_zone(Cameras::CreatedAt))
                    .col(timestamp_with_time_zone(Cameras::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmployeeTracking::Table)
                    .if_not_exists()
                    .col(big_pk_auto(EmployeeTracking::Id))
                    .col(string_len_uniq(EmployeeTracking::EmployeeId, 64))
                    .col(string_len_null(EmployeeTracking::CameraId, 64))
                    .col(timestamp_with_time_zone(EmployeeTracking::LastSeen))
                    .col(string_len(EmployeeTracking::Status, 16))
                    .col(double_null(EmployeeTracking::Score))
                    .col(timestamp_with_time_zone(EmployeeTracking::StatusChangedAt))
                    .foreign_key(&mut references(
                        "fk_employee_tracking_employee",
                        (EmployeeTracking::Table, EmployeeTracking::EmployeeId),
                        (Employees::Table, Employees::EmployeeId),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut references(
                        "fk_employee_tracking_camera",
                        (EmployeeTracking::Table, EmployeeTracking::CameraId),
                        (Cameras::Table, Cameras::CameraId),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_employee_tracking_status_last_seen",
            EmployeeTracking::Table,
            [EmployeeTracking::Status, EmployeeTracking::LastSeen],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Notifications::Id))
                    .col(string_len_null(Notifications::EmployeeId, 64))
                    .col(string_len_null(Notifications::CameraId, 64))
                    .col(string_len(Notifications::Type, 32))
                    .col(text(Notifications::Message))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(boolean(Notifications::IsRead).default(false))
                    .foreign_key(&mut references(
                        "fk_notifications_employee",
                        (Notifications::Table, Notifications::EmployeeId),
                        (Employees::Table, Employees::EmployeeId),
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut references(
                        "fk_notifications_camera",
                        (Notifications::Table, Notifications::CameraId),
                        (Cameras::Table, Cameras::CameraId),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_notifications_is_read",
            Notifications::Table,
            [Notifications::IsRead],
            false,
        )
        .await?;
        create_index(
            manager,
            "idx_notifications_created_at",
            Notifications::Table,
            [Notifications::CreatedAt],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(AttendanceLogs::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AttendanceLogs::LogId))
                    .col(string_len(AttendanceLogs::EmployeeId, 64))
                    .col(date(AttendanceLogs::Date))
                    .col(timestamp_with_time_zone_null(AttendanceLogs::FirstSeen))
                    .col(timestamp_with_time_zone_null(AttendanceLogs::LastSeen))
                    .col(integer(AttendanceLogs::TotalDuration).default(0))
                    .col(string_len(AttendanceLogs::Status, 16))
                    .col(timestamp_with_time_zone(AttendanceLogs::CreatedAt))
                    .col(timestamp_with_time_zone(AttendanceLogs::UpdatedAt))
                    .foreign_key(&mut references(
                        "fk_attendance_logs_employee",
                        (AttendanceLogs::Table, AttendanceLogs::EmployeeId),
                        (Employees::Table, Employees::EmployeeId),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_attendance_logs_employee_date",
            AttendanceLogs::Table,
            [AttendanceLogs::EmployeeId, AttendanceLogs::Date],
            true,
        )
        .await?;
        create_index(
            manager,
            "idx_attendance_logs_date",
            AttendanceLogs::Table,
            [AttendanceLogs::Date],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AttendanceLogs::Table.into_iden(),
            Notifications::Table.into_iden(),
            EmployeeTracking::Table.into_iden(),
            Cameras::Table.into_iden(),
            Employees::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub(crate) enum Employees {
    Table,
    EmployeeId,
    Name,
    Department,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Cameras {
    Table,
    CameraId,
    CameraName,
    RtspUrl,
    Status,
    IsActive,
    Enabled,
    SampleFps,
    Source,
    ConfigPath,
    LastFrameAt,
    StatusMessage,
    StatusChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EmployeeTracking {
    Table,
    Id,
    EmployeeId,
    CameraId,
    LastSeen,
    Status,
    Score,
    StatusChangedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    EmployeeId,
    CameraId,
    Type,
    Message,
    CreatedAt,
    IsRead,
}

#[derive(DeriveIden)]
enum AttendanceLogs {
    Table,
    LogId,
    EmployeeId,
    Date,
    FirstSeen,
    LastSeen,
    TotalDuration,
    Status,
    CreatedAt,
    UpdatedAt,
}
