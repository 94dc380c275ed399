//! `hadir doctor`: everything an operator can get wrong, checked, each with how to fix it.
//!
//! One [`Check`] per thing checked, in [`Section`]s run in order: the configuration (every
//! part, loaded as `hadir serve` loads it), the database (reachable, migrated, writable, the
//! SQLite file's permissions, PostgreSQL's `pg_dump`), the ONNX Runtime library and the
//! models (present, checksums, the execution provider), the disk space of the database's
//! folder, and every enabled camera (reachable, credentials, codec and profile, size, frame
//! rate, key-frame interval, key frames only or not, one frame decoded, faces in it).
//!
//! Nothing is changed: the database is opened without creating it, its write test is rolled
//! back, files are only read. Every check is time-bound (the constants below), cameras are
//! checked [`CAMERA_CONCURRENCY`] at a time, and no secret is printed (URLs as
//! [`crate::redact::url_for_logs`] shows them).
//!
//! Files: [`config`](mod@config), [`database`] (with [`sqlite_file`]), [`models`], [`disk`],
//! [`cameras`] (with [`camera`], [`camera_rows`]) (one per section), [`render`] (the text and
//! JSON forms).

pub mod camera;
pub mod camera_rows;
pub mod cameras;
pub mod config;
pub mod database;
pub mod disk;
pub mod models;
pub mod render;
pub mod sqlite_file;

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

/// How long connecting to the database and each query of the checks may take.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long loading ONNX Runtime and the models may take.
pub const MODELS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting to a camera, and each request to it, may take.
pub const CAMERA_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a camera is read once it plays: long enough for two key frames of a camera
/// with a key frame every few seconds.
pub const CAMERA_WATCH: Duration = Duration::from_secs(8);
/// The most any one camera's check takes, whatever it does (more than its steps' bounds
/// together: connecting, DESCRIBE, SETUP and PLAY at 5 s each, then the watch).
pub const CAMERA_TIMEOUT: Duration = Duration::from_secs(30);
/// Cameras checked at once.
pub const CAMERA_CONCURRENCY: usize = 4;

/// What a check is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Config,
    Database,
    Models,
    Disk,
    Cameras,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Database => "database",
            Self::Models => "models",
            Self::Disk => "disk",
            Self::Cameras => "cameras",
        }
    }
}

/// How a check came out. Ordered: the worst of several is their maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but worth the operator's attention (the exit status stays 0).
    Warn,
    /// Does not work as configured (the exit status is 1).
    Fail,
}

impl Status {
    /// `ok`, `warn`, `FAIL` (the text form's column).
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
        }
    }
}

/// One thing checked: what, how it came out, and how to fix it (None when it is fine).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub section: Section,
    pub name: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(section: Section, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            section,
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(
        section: Section,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Warn,
            fix: Some(fix.into()),
            ..Self::ok(section, name, detail)
        }
    }

    pub fn fail(
        section: Section,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Fail,
            fix: Some(fix.into()),
            ..Self::ok(section, name, detail)
        }
    }
}

/// Everything `hadir doctor` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// What was learnt of each camera checked.
    pub cameras: Vec<camera::CameraFacts>,
}

impl Report {
    /// The worst status of all checks (ok when there are none).
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }

    /// The exit status: 0 when nothing failed (warnings allowed), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.status() == Status::Fail)
    }

    /// How many checks came out `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

/// Runs every check: the configuration first (nothing else can be checked without one that
/// loads), then the database, the models, the disk, the cameras.
pub async fn run(explicit_file: Option<PathBuf>) -> Report {
    let mut report = Report::default();
    let Some(config) = config::check(explicit_file.as_deref(), &mut report.checks) else {
        return report;
    };
    let database = database::check(&config, &mut report.checks).await;
    let mut faces = models::check(&config, &mut report.checks).await;
    disk::check(&config, &mut report.checks);
    let found = cameras::check(&config, database.as_ref(), faces.as_mut()).await;
    report.checks.extend(found.checks);
    report.cameras = found.facts;
    if let Some(database) = database {
        let _ = database.close().await;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_status_is_1_only_when_a_check_failed() {
        let mut report = Report::default();
        assert_eq!((report.status(), report.exit_code()), (Status::Ok, 0));
        report
            .checks
            .push(Check::ok(Section::Disk, "free space", "12 GiB"));
        report.checks.push(Check::warn(
            Section::Database,
            "migrations",
            "1 to apply",
            "migrate",
        ));
        assert_eq!((report.status(), report.exit_code()), (Status::Warn, 0));
        report.checks.push(Check::fail(
            Section::Cameras,
            "CAM1: reachable",
            "refused",
            "plug it in",
        ));
        assert_eq!((report.status(), report.exit_code()), (Status::Fail, 1));
        assert_eq!(report.count(Status::Ok), 1);
    }

    #[test]
    fn checks_serialise_with_their_documented_fields() {
        let check = Check::fail(Section::Models, "mtcnn-pnet", "missing", "fetch it");
        let value = serde_json::to_value(&check).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "section": "models", "name": "mtcnn-pnet", "status": "fail",
                "detail": "missing", "fix": "fetch it"
            })
        );
        let ok = serde_json::to_value(Check::ok(Section::Config, "server", "valid")).unwrap();
        assert_eq!(ok["fix"], serde_json::Value::Null);
    }
}
