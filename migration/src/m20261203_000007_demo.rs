//! `employees.demo` and `cameras.demo`: the rows the demo site made (see the `demo` module of
//! `api`), so that switching the demo off removes exactly them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Employees::Table)
                    .add_column(boolean(Employees::Demo).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cameras::Table)
                    .add_column(boolean(Cameras::Demo).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Employees::Table)
                    .drop_column(Employees::Demo)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cameras::Table)
                    .drop_column(Cameras::Demo)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Employees {
    Table,
    Demo,
}

#[derive(DeriveIden)]
enum Cameras {
    Table,
    Demo,
}
