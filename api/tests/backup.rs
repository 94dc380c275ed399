//! `hadir backup` and `hadir restore` (issue #13): a backup taken beside a running server,
//! restored after later changes, gives back exactly what was backed up, on SQLite and on
//! PostgreSQL; a restore is refused while the server runs, and a file that is not a backup is
//! named. An SQLite database with migrations to apply is copied before they change it. Both
//! `/healthz` and `aiStatus` report the version.

mod common;

use std::{os::unix::fs::PermissionsExt, path::Path, process::Output};

use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer};
use serde_json::json;

/// Runs `hadir ARGS` on the database at `url`.
fn hadir(url: &str, dir: &Path, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HADIR_DATABASE_URL", url)
        .env("HADIR_LOG", "warn")
        .current_dir(dir);
    for key in ["HOME", "HADIR_CACHE_DIR", "ORT_DYLIB_PATH"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command.output().expect("hadir runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn employee_ids(server: &TestServer) -> Vec<String> {
    let data = server
        .gql(ADMIN_TOKEN, "{ employees { employeeId } }", json!({}))
        .await;
    let mut ids: Vec<String> = data["employees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["employeeId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn round_trip(backend: Backend) {
    let Some(db) = TestDb::create(backend, "backup_round_trip") else {
        return;
    };
    let dir = db.dir.path().to_path_buf();
    let mut server = TestServer::start(&db, &ServerOptions::default());
    server.create_employee("E1", "Ani").await;
    server.create_employee("E2", "Budi").await;
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"CAM2\"}) { seenAt } }",
            json!({}),
        )
        .await;
    let kept_token = common::create_token(&server, "VIEWER").await;

    // Taken while the server runs.
    let backup = dir.join("before.backup");
    let made = hadir(&db.url, &dir, &["backup", backup.to_str().unwrap()]);
    assert!(made.status.success(), "{}", text(&made));
    assert!(text(&made).contains("2 employees"), "{}", text(&made));
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup holds embeddings and token hashes");
    let again = hadir(&db.url, &dir, &["backup", backup.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // Changes after the backup, which the restore undoes.
    server.create_employee("E3", "Citra").await;
    let later_token = common::create_token(&server, "VIEWER").await;

    // Refused while the server runs.
    let refused = hadir(&db.url, &dir, &["restore", backup.to_str().unwrap()]);
    assert!(!refused.status.success());
    let why = text(&refused);
    match backend {
        Backend::Sqlite => assert!(why.contains("stop `hadir serve`"), "{why}"),
        Backend::Postgres => assert!(why.contains("stop every `hadir serve`"), "{why}"),
    }
    assert_eq!(
        employee_ids(&server).await,
        ["E1", "E2", "E3"],
        "nothing changed"
    );

    // A file that is not a backup is named.
    let junk = dir.join("junk.backup");
    std::fs::write(&junk, b"not a database at all").unwrap();
    server.terminate();
    let bad = hadir(&db.url, &dir, &["restore", junk.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("is not a hadir database backup"),
        "{}",
        text(&bad)
    );

    let restored = hadir(&db.url, &dir, &["restore", backup.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(
        text(&restored).contains("the database it replaced is kept in"),
        "{}",
        text(&restored)
    );

    let server = TestServer::start(&db, &ServerOptions::default());
    assert_eq!(employee_ids(&server).await, ["E1", "E2"]);
    let presence = server
        .gql(
            ADMIN_TOKEN,
            "{ employee(employeeId: \"E1\") { presence { status camera { cameraId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        presence["employee"]["presence"]["camera"]["cameraId"], "CAM2",
        "{presence}"
    );
    let (status, _) = server
        .post(Some(&kept_token), "{ serverTime }", json!({}))
        .await;
    assert_eq!(status, 200, "a token of the backup works");
    let (status, _) = server
        .post(Some(&later_token), "{ serverTime }", json!({}))
        .await;
    assert_eq!(status, 401, "a token made after the backup is gone");

    // The version, in /healthz and aiStatus.
    let (_, health) = server.health().await;
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let ai = server
        .gql(ADMIN_TOKEN, "{ aiStatus { version } }", json!({}))
        .await;
    assert_eq!(ai["aiStatus"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_exactly_on_sqlite() {
    round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_exactly_on_postgres() {
    round_trip(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_database_is_copied_before_a_migration_changes_it() {
    use migration::MigratorTrait;
    let db = TestDb::create(Backend::Sqlite, "backup_before_migration").unwrap();
    let dir = db.dir.path().to_path_buf();
    let all = migration::Migrator::migrations();
    let older = all.len() - 1;
    {
        let connection = sea_orm::Database::connect(&db.url).await.unwrap();
        migration::Migrator::up(&connection, Some(older as u32))
            .await
            .unwrap();
        let _ = connection.close().await;
    }
    let last = all[older - 1].name().to_owned();
    let migrated = hadir(&db.url, &dir, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let copy = dir.join(format!("hadir.sqlite.before-migration-{last}"));
    assert!(
        copy.exists(),
        "no copy at {}: {}",
        copy.display(),
        text(&migrated)
    );
    let versions = |path: &Path| {
        let path = path.to_owned();
        async move {
            use sea_orm::ConnectionTrait;
            let connection =
                sea_orm::Database::connect(format!("sqlite://{}?mode=ro", path.display()))
                    .await
                    .unwrap();
            let rows = connection
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    "SELECT version FROM seaql_migrations",
                ))
                .await
                .unwrap()
                .len();
            let _ = connection.close().await;
            rows
        }
    };
    assert_eq!(
        versions(&copy).await,
        older,
        "the copy is of the database as it was"
    );
    assert_eq!(versions(&dir.join("hadir.sqlite")).await, all.len());
    // Nothing to apply: no new copy.
    let copies = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("before-migration"))
            .count()
    };
    assert!(hadir(&db.url, &dir, &["migrate"]).status.success());
    assert_eq!(copies(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_from_a_newer_hadir_is_refused_and_changes_nothing() {
    use sea_orm::ConnectionTrait;
    let db = TestDb::create(Backend::Sqlite, "backup_newer").unwrap();
    let dir = db.dir.path().to_path_buf();
    assert!(hadir(&db.url, &dir, &["migrate"]).status.success());
    let backup = dir.join("newer.backup");
    let made = hadir(&db.url, &dir, &["backup", backup.to_str().unwrap()]);
    assert!(made.status.success(), "{}", text(&made));
    // The backup as a later version would have left it: one migration this binary lacks.
    {
        let connection = sea_orm::Database::connect(format!("sqlite://{}", backup.display()))
            .await
            .unwrap();
        connection
            .execute_unprepared(
                "INSERT INTO seaql_migrations (version, applied_at) \
                 VALUES ('m29991231_000001_from_the_future', 0)",
            )
            .await
            .unwrap();
        let _ = connection.close().await;
    }
    let before = std::fs::read(dir.join("hadir.sqlite")).unwrap();
    let refused = hadir(&db.url, &dir, &["restore", backup.to_str().unwrap()]);
    assert!(!refused.status.success());
    let why = text(&refused);
    assert!(
        why.contains("was made by a newer hadir")
            && why.contains("m29991231_000001_from_the_future"),
        "{why}"
    );
    assert_eq!(
        std::fs::read(dir.join("hadir.sqlite")).unwrap(),
        before,
        "the database is untouched"
    );
    let missing = hadir(&db.url, &dir, &["restore", "no-such.backup"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("does not exist"),
        "{}",
        text(&missing)
    );
}
