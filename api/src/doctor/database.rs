//! The database: reachable, migrated (the migrations to apply named, or those of a newer
//! hadir), writable (a write in a transaction, rolled back), and for SQLite the file and its
//! folder (there, writable, private: it holds embeddings and token hashes); for PostgreSQL,
//! `pg_dump` and `pg_restore` for `hadir backup` and `hadir restore`.
//!
//! Nothing is created or changed: an SQLite file that does not exist yet is reported, not
//! made, and the write test is rolled back.

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
};

use super::{Check, DATABASE_TIMEOUT, Section};
use crate::{backup, config::Config, db};

const S: Section = Section::Database;

/// Checks the database; the connection when it could be opened and holds hadir's tables
/// (the cameras added through the API are read through it).
pub async fn check(config: &Config, checks: &mut Vec<Check>) -> Option<DatabaseConnection> {
    let url = &config.database_url;
    let shown = db::redact_database_url(url);
    let sqlite = url.starts_with("sqlite:");
    if !sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        checks.push(Check::fail(
            S,
            "url",
            format!("{shown} is neither sqlite:… nor postgres://…: not checked"),
            "set database_url (HADIR_DATABASE_URL) to sqlite://PATH?mode=rwc or \
             postgres://USER:PASSWORD@HOST/DATABASE",
        ));
        return None;
    }
    if sqlite {
        match db::sqlite_path(url) {
            None => checks.push(Check::warn(
                S,
                "file",
                "an in-memory database: nothing is kept when hadir stops",
                "point database_url at a file: sqlite://data/hadir.sqlite?mode=rwc",
            )),
            Some(path) => {
                if !super::sqlite_file::check(url, path, checks) {
                    return None;
                }
            }
        }
    }
    let database = match connect(url).await {
        Ok(database) => database,
        Err(reason) => {
            checks.push(Check::fail(
                S,
                "reachable",
                format!("cannot open {shown}: {reason}"),
                if sqlite {
                    "check the path in database_url (HADIR_DATABASE_URL) and that the file is \
                     an SQLite database hadir made"
                } else {
                    "check the host, port, user, password and database name in database_url \
                     (HADIR_DATABASE_URL), that PostgreSQL runs and that it accepts this \
                     machine (pg_hba.conf)"
                },
            ));
            return None;
        }
    };
    let version = server_version(&database).await;
    checks.push(Check::ok(S, "reachable", format!("{shown} ({version})")));
    let migrated = migrations(&database, checks).await;
    writable(&database, migrated, sqlite, checks).await;
    if !sqlite {
        for tool in ["pg_dump", "pg_restore"] {
            checks.push(match backup::postgres::find_tool(tool) {
                Ok(path) => Check::ok(S, tool, format!("{}", path.display())),
                Err(error) => Check::warn(
                    S,
                    tool,
                    "not found: `hadir backup` and `hadir restore` need it",
                    error.to_string(),
                ),
            });
        }
    }
    if !migrated {
        // No tables to read cameras from.
        let _ = database.close().await;
        return None;
    }
    Some(database)
}

/// Opens the database as it is: an SQLite file is never created, a PostgreSQL server that
/// does not answer is given up on after [`DATABASE_TIMEOUT`].
async fn connect(url: &str) -> Result<DatabaseConnection, String> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(DATABASE_TIMEOUT)
        .acquire_timeout(DATABASE_TIMEOUT)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.map_sqlx_sqlite_opts(|o| o.create_if_missing(false).busy_timeout(DATABASE_TIMEOUT));
    }
    match tokio::time::timeout(DATABASE_TIMEOUT * 2, Database::connect(options)).await {
        Ok(Ok(database)) => Ok(database),
        Ok(Err(error)) => Err(crate::redact::message_for_logs(&error.to_string())),
        Err(_) => Err(format!("no answer within {DATABASE_TIMEOUT:?}")),
    }
}

async fn server_version(database: &DatabaseConnection) -> String {
    let backend = database.get_database_backend();
    let (sql, name) = match backend {
        DbBackend::Postgres => ("SHOW server_version", "PostgreSQL"),
        _ => ("SELECT sqlite_version()", "SQLite"),
    };
    let query = database.query_one_raw(Statement::from_string(backend, sql));
    match tokio::time::timeout(DATABASE_TIMEOUT, query).await {
        Ok(Ok(Some(row))) => match row.try_get_by_index::<String>(0) {
            Ok(version) => format!("{name} {version}"),
            Err(_) => name.to_owned(),
        },
        _ => name.to_owned(),
    }
}

/// The migrations applied, against those this binary knows; whether hadir's migrations table
/// is there.
async fn migrations(database: &DatabaseConnection, checks: &mut Vec<Check>) -> bool {
    let backend = database.get_database_backend();
    let query = database.query_all_raw(Statement::from_string(
        backend,
        "SELECT version FROM seaql_migrations ORDER BY version",
    ));
    let applied: Vec<String> = match tokio::time::timeout(DATABASE_TIMEOUT, query).await {
        Ok(Ok(rows)) => rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", "version").ok())
            .collect(),
        // No migrations table: a database hadir has not migrated yet.
        Ok(Err(error)) if no_such_table(&error.to_string()) => Vec::new(),
        Ok(Err(error)) => {
            checks.push(Check::fail(
                S,
                "migrations",
                format!("cannot read hadir's migrations: {error}"),
                "check that database_url names hadir's database (an SQLite file of hadir's, or \
                 a PostgreSQL database hadir migrated or an empty one)",
            ));
            return false;
        }
        Err(_) => {
            checks.push(Check::fail(
                S,
                "migrations",
                format!("the migrations table did not answer within {DATABASE_TIMEOUT:?}"),
                "check that nothing holds a long lock on the database",
            ));
            return false;
        }
    };
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    checks.push(judge_migrations(&applied, &known));
    !applied.is_empty()
}

/// Whether a query failed for want of its table (SQLite: "no such table"; PostgreSQL:
/// "relation … does not exist").
fn no_such_table(error: &str) -> bool {
    error.contains("no such table") || error.contains("does not exist")
}

/// How the migrations applied compare with those known.
pub fn judge_migrations(applied: &[String], known: &[String]) -> Check {
    let unknown: Vec<&str> = applied
        .iter()
        .filter(|v| !known.contains(v))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Check::fail(
            S,
            "migrations",
            format!(
                "the database was migrated by a newer hadir: {} unknown to this one",
                unknown.join(", ")
            ),
            "run the hadir version that migrated it, or `hadir restore` a backup made for this \
             one (an SQLite database was copied to <file>.before-migration-… before the upgrade)",
        );
    }
    let pending: Vec<&str> = known
        .iter()
        .filter(|m| !applied.contains(m))
        .map(String::as_str)
        .collect();
    let fix = "run `hadir migrate`, or start `hadir serve`, which applies them first (an SQLite \
               database is copied before they change it)";
    match (applied.is_empty(), pending.as_slice()) {
        (true, _) => Check::warn(S, "migrations", "not migrated yet: no hadir tables", fix),
        (false, []) => Check::ok(
            S,
            "migrations",
            format!(
                "up to date: {} migrations, the last {}",
                applied.len(),
                applied.last().map(String::as_str).unwrap_or_default()
            ),
        ),
        (false, pending) => Check::warn(
            S,
            "migrations",
            format!("{} to apply: {}", pending.len(), pending.join(", ")),
            fix,
        ),
    }
}

/// A write in a transaction, rolled back: to hadir's migrations table when there is one,
/// else a table created and dropped with the rollback.
async fn writable(
    database: &DatabaseConnection,
    migrated: bool,
    sqlite: bool,
    checks: &mut Vec<Check>,
) {
    let sql = if migrated {
        "UPDATE seaql_migrations SET version = version"
    } else {
        "CREATE TABLE hadir_doctor_write_check (id INTEGER)"
    };
    let attempt = async {
        let transaction = database.begin().await?;
        let written = transaction.execute_unprepared(sql).await;
        transaction.rollback().await?;
        written.map(drop)
    };
    let fix = if sqlite {
        "make the file, its -wal and -shm files and its folder writable for the user hadir runs \
         as (and the file system not read-only)"
    } else {
        "let the user of database_url write hadir's tables (it owns them when hadir created \
         them), on a server that is not a read-only replica"
    };
    checks.push(
        match tokio::time::timeout(DATABASE_TIMEOUT, attempt).await {
            Ok(Ok(())) => Check::ok(S, "writable", "a write in a transaction, rolled back"),
            Ok(Err(error)) => Check::fail(S, "writable", format!("cannot write: {error}"), fix),
            Err(_) => Check::fail(
                S,
                "writable",
                format!("a write did not finish within {DATABASE_TIMEOUT:?}"),
                "another process holds the database's write lock for long: find it",
            ),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn migrations_are_judged_against_those_known() {
        let known = names(&["m1", "m2", "m3"]);
        let up = judge_migrations(&names(&["m1", "m2", "m3"]), &known);
        assert_eq!(up.status, super::super::Status::Ok, "{up:?}");
        let behind = judge_migrations(&names(&["m1"]), &known);
        assert_eq!(behind.status, super::super::Status::Warn);
        assert!(behind.detail.contains("2 to apply: m2, m3"), "{behind:?}");
        let newer = judge_migrations(&names(&["m1", "m2", "m3", "m9"]), &known);
        assert_eq!(newer.status, super::super::Status::Fail);
        assert!(newer.detail.contains("newer hadir: m9"), "{newer:?}");
        let empty = judge_migrations(&[], &known);
        assert_eq!(empty.status, super::super::Status::Warn);
    }
}
