//! `cameras.ignore_regions`: where in a camera's picture faces are ignored (JSON, nullable).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cameras::Table)
                    .add_column(text_null(Cameras::IgnoreRegions))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cameras::Table)
                    .drop_column(Cameras::IgnoreRegions)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Cameras {
    Table,
    IgnoreRegions,
}
