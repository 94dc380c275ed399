//! `hadir doctor` (issue #13 item 5), the real binary against real components: a migrated
//! SQLite database, the cached models, and cameras on the RTSP test server
//! (tests/camera_fixtures/rtsp_server.py). All well exits 0 and its JSON lists the camera's
//! codec, size, frame rate, GOP and faces; a missing or corrupt model, a wrong database URL, an
//! unreachable (or silent) camera, an H.265 camera and refused credentials are each named with
//! their fix, and exit 1. No secret is printed, and every run ends within its bounds. On
//! PostgreSQL (`HADIR_TEST_POSTGRES_URL`) the migrations, the write and `pg_dump` are checked.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::{Duration, Instant},
};

use common::camera::{RtspCamera, test_video};
use serde_json::Value;

/// The longest a doctor run of these tests may take (each camera is bound to 30 s).
const RUN_BOUND: Duration = Duration::from_secs(40);

/// A folder with its database URL and camera folder.
struct Site {
    dir: tempfile::TempDir,
    url: String,
}

impl Site {
    /// A migrated SQLite database and an empty camera folder.
    fn migrated() -> Self {
        let site = Self::unmigrated();
        let migrated = site.hadir(&["migrate"], &[]);
        assert!(migrated.status.success(), "{}", text(&migrated));
        site
    }

    fn unmigrated() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cameras")).unwrap();
        let url = common::sqlite_url(&dir.path().join("hadir.sqlite"));
        Self { dir, url }
    }

    fn camera(&self, id: &str, url: &str) {
        let file = self.dir.path().join("cameras").join(format!("{id}.json"));
        let json = serde_json::json!({"id": id, "name": id, "rtsp_url": url, "fps": 1});
        std::fs::write(file, json.to_string()).unwrap();
    }

    /// Runs `hadir ARGS` here, with `env` over the site's variables (an empty value unsets
    /// one); bounded by [`RUN_BOUND`].
    fn hadir(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HADIR_DATABASE_URL", &self.url)
            .env("HADIR_CAMERA_CONFIGS", self.dir.path().join("cameras"))
            .current_dir(self.dir.path());
        for key in ["HOME", "HADIR_CACHE_DIR", "ORT_DYLIB_PATH"] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        for (key, value) in env {
            if value.is_empty() {
                command.env_remove(key);
            } else {
                command.env(key, value);
            }
        }
        let started = Instant::now();
        let output = command.output().expect("hadir runs");
        assert!(
            started.elapsed() < RUN_BOUND,
            "hadir {args:?} took {:?}",
            started.elapsed()
        );
        output
    }

    /// `hadir doctor --json`, parsed, and its exit status.
    fn doctor_json(&self, env: &[(&str, &str)]) -> (i32, Value) {
        let output = self.hadir(&["doctor", "--json"], env);
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("the JSON form parses ({e}): {}", text(&output)));
        (output.status.code().unwrap_or(-1), report)
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The check `name` of the report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {report:#}"))
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn all_well_exits_0_and_the_json_lists_the_cameras_stream_and_faces() {
    let site = Site::migrated();
    let camera = RtspCamera::start(0, &test_video(), "/door");
    site.camera("DOOR", &camera.url);

    let output = site.hadir(&["doctor"], &[]);
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(!shown.contains("FAIL"), "{shown}");
    for line in [
        "ok    database  migrations: up to date",
        "ok    database  writable",
        "ok    models    mtcnn-pnet",
        "ok    disk      free space",
        "ok    cameras   DOOR: codec: H.264, Constrained Baseline",
        "ok    cameras   DOOR: key frames only: yes",
        "ok    cameras   DOOR: faces: 1 face found",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }
    assert!(shown.trim_end().ends_with("all is well"), "{shown}");

    let (code, report) = site.doctor_json(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "ok", "{report:#}");
    assert_eq!(report["summary"]["fail"], 0);
    for field in ["section", "name", "status", "detail", "fix"] {
        assert!(
            report["checks"][0].get(field).is_some(),
            "{field} in every check"
        );
    }
    let door = &report["cameras"][0];
    assert_eq!(door["id"], "DOOR");
    assert_eq!(door["reached"], "decoded");
    assert_eq!(door["codec"], "H.264");
    assert_eq!(
        (door["width"].as_u64(), door["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let fps = door["fps"].as_f64().unwrap();
    assert!((24.0..=26.0).contains(&fps), "25 fps measured: {door}");
    assert_eq!(door["gop_frames"], 25, "{door}");
    assert_eq!(door["key_frame_interval_secs"], 1.0, "{door}");
    assert_eq!(door["key_frames_only"], true);
    assert_eq!(
        door["faces"], 1,
        "obama2 is in view for the first 8 s: {door}"
    );
}

/// A cache folder of links to the real cache's files (which stays as it is), with
/// `missing` left out and `corrupt` replaced by junk.
fn cache_copy(into: &Path, missing: &str, corrupt: &str) -> PathBuf {
    let real = vision::models::runtime::cache_dir();
    let cache = into.join("cache");
    for file in [
        "onnxruntime/libonnxruntime.so.1.31.1",
        "models/mtcnn/pnet.onnx",
        "models/mtcnn/rnet.onnx",
        "models/mtcnn/onet.onnx",
        "models/faceplugin/fr_feature.onnx",
    ] {
        let target = cache.join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        if file.ends_with(missing) {
            continue;
        }
        if file.ends_with(corrupt) {
            std::fs::write(&target, b"not a model").unwrap();
            continue;
        }
        std::os::unix::fs::symlink(real.join(file), &target).unwrap();
    }
    cache
}

#[test]
fn a_missing_or_corrupt_model_is_named_with_its_fix() {
    let site = Site::migrated();
    let cache = cache_copy(site.dir.path(), "onet.onnx", "fr_feature.onnx");
    let cache = cache.to_str().unwrap();
    let (code, report) = site.doctor_json(&[("HADIR_CACHE_DIR", cache), ("ORT_DYLIB_PATH", "")]);
    assert_eq!(code, 1, "{report:#}");
    let onet = check(&report, "mtcnn-onet");
    assert_eq!(onet["status"], "fail");
    assert!(
        onet["detail"]
            .as_str()
            .unwrap()
            .contains("the file is missing"),
        "{onet}"
    );
    assert!(
        onet["fix"]
            .as_str()
            .unwrap()
            .contains("python3 models/fetch.py"),
        "{onet}"
    );
    assert!(
        onet["fix"].as_str().unwrap().contains(cache),
        "names the cache: {onet}"
    );
    let embedder = check(&report, "fr-feature");
    assert_eq!(embedder["status"], "fail");
    assert!(
        embedder["detail"].as_str().unwrap().contains("corrupt"),
        "{embedder}"
    );
    assert_eq!(check(&report, "mtcnn-pnet")["status"], "ok");
    let mut failures = failed(&report);
    failures.sort();
    assert_eq!(failures, ["fr-feature", "mtcnn-onet"], "{report:#}");
    // The real cache is untouched.
    let real = vision::models::runtime::cache_dir().join("models/mtcnn/onet.onnx");
    assert!(real.is_file());

    // CUDA asked of the CPU-only library (the PyPI wheel's).
    let (code, report) = site.doctor_json(&[("HADIR_EXECUTION_PROVIDER", "cuda")]);
    assert_eq!(code, 1, "{report:#}");
    let provider = check(&report, "execution provider");
    assert_eq!(provider["status"], "fail", "{report:#}");
    assert!(
        provider["fix"]
            .as_str()
            .unwrap()
            .contains("onnxruntime-gpu"),
        "{provider}"
    );
}

#[test]
fn a_wrong_database_url_is_named_with_its_fix_and_no_password() {
    let site = Site::unmigrated();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let postgres = format!("postgres://hadir:hunter2@127.0.0.1:{port}/hadir");
    let (code, report) = site.doctor_json(&[("HADIR_DATABASE_URL", &postgres)]);
    assert_eq!(code, 1, "{report:#}");
    let reachable = check(&report, "reachable");
    assert_eq!(reachable["section"], "database");
    assert_eq!(reachable["status"], "fail");
    assert!(
        reachable["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}"))
    );
    assert!(
        reachable["fix"]
            .as_str()
            .unwrap()
            .contains("host, port, user, password")
    );
    assert!(!report.to_string().contains("hunter2"), "{report:#}");

    let (code, report) = site.doctor_json(&[("HADIR_DATABASE_URL", "mysql://root:hunter2@db/h")]);
    assert_eq!(code, 1);
    let url = check(&report, "database_url");
    assert_eq!(
        (&url["section"], &url["status"]),
        (&"config".into(), &"fail".into())
    );
    assert!(
        url["fix"].as_str().unwrap().contains("HADIR_DATABASE_URL"),
        "{url}"
    );
    assert!(!report.to_string().contains("hunter2"), "{report:#}");
}

#[test]
fn an_unreachable_or_silent_camera_is_named_with_its_fix_within_bounds() {
    let site = Site::migrated();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    site.camera(
        "GONE",
        &format!("rtsp://admin:s3cret@127.0.0.1:{closed_port}/x"),
    );
    // Takes the connection, answers nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    site.camera(
        "MUTE",
        &format!("rtsp://{}/x", silent.local_addr().unwrap()),
    );

    let started = Instant::now();
    let (code, report) = site.doctor_json(&[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, 1, "{report:#}");
    let gone = check(&report, "GONE: reachable");
    assert_eq!(gone["status"], "fail");
    assert!(
        gone["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("nothing listens at 127.0.0.1:{closed_port}")),
        "{gone}"
    );
    let mute = check(&report, "MUTE: stream");
    assert_eq!(mute["status"], "fail", "{report:#}");
    assert!(
        mute["fix"].as_str().unwrap().contains("did not answer"),
        "{mute}"
    );
    assert!(!report.to_string().contains("s3cret"), "{report:#}");
    drop(silent);
}

#[test]
fn an_h265_camera_is_told_to_switch_its_stream_to_h264() {
    let site = Site::migrated();
    let camera = RtspCamera::start_with(&["--h265-pattern".into(), "/h265".into()], "/h265");
    site.camera("HEVC", &camera.url);
    let output = site.hadir(&["doctor"], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let line = "FAIL  cameras   HEVC: codec: H.265, Main";
    assert!(text(&output).contains(line), "{}", text(&output));

    let (code, report) = site.doctor_json(&[]);
    assert_eq!(code, 1);
    let codec = check(&report, "HEVC: codec");
    assert_eq!(
        codec["fix"],
        "switch the camera's stream (main or sub) to H.264"
    );
    assert_eq!(failed(&report), ["HEVC: codec"], "{report:#}");
    let hevc = &report["cameras"][0];
    assert_eq!(hevc["codec"], "H.265");
    assert_eq!(
        (hevc["width"].as_u64(), hevc["height"].as_u64()),
        (Some(640), Some(480))
    );

    // A camera task (here `hadir camera check`, which opens the stream the same way) says
    // the same.
    let checked = site.hadir(&["camera", "check", &camera.url], &[]);
    assert!(!checked.status.success());
    let said = text(&checked);
    assert!(said.contains("H.265"), "{said}");
    assert!(
        said.contains("switch the camera's stream (main or sub) to H.264"),
        "{said}"
    );
}

#[test]
fn refused_credentials_are_named_and_never_printed() {
    let site = Site::migrated();
    let camera = RtspCamera::start_with(
        &[
            "--pattern".into(),
            "/live".into(),
            "--user".into(),
            "admin".into(),
            "--password".into(),
            "s3cret".into(),
        ],
        "/live",
    );
    let with = |user: &str| {
        camera
            .url
            .replacen("rtsp://", &format!("rtsp://{user}@"), 1)
    };
    site.camera("GOOD", &with("admin:s3cret"));
    site.camera("WRONG", &with("admin:hunter2"));
    site.camera("NONE", &camera.url);

    let (code, report) = site.doctor_json(&[]);
    assert_eq!(code, 1, "{report:#}");
    let wrong = check(&report, "WRONG: credentials");
    assert_eq!(wrong["status"], "fail");
    assert_eq!(
        wrong["detail"],
        "the camera refused the user name/password in its stream URL"
    );
    assert!(
        wrong["fix"]
            .as_str()
            .unwrap()
            .starts_with("correct the user name and password")
    );
    let none = check(&report, "NONE: credentials");
    assert!(
        none["fix"]
            .as_str()
            .unwrap()
            .starts_with("put the camera's user name"),
        "{none}"
    );
    assert_eq!(check(&report, "GOOD: credentials")["detail"], "accepted");
    assert_eq!(check(&report, "GOOD: frame")["status"], "ok", "{report:#}");
    let mut failures = failed(&report);
    failures.sort();
    assert_eq!(failures, ["NONE: credentials", "WRONG: credentials"]);
    let all = report.to_string();
    assert!(
        !all.contains("s3cret") && !all.contains("hunter2"),
        "{report:#}"
    );

    // A camera task (here `hadir camera check`) says the same.
    let checked = site.hadir(&["camera", "check", &with("admin:hunter2")], &[]);
    assert!(!checked.status.success());
    let said = text(&checked);
    assert!(
        said.contains("the camera refused the user name/password in its stream URL"),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "{said}");
}

#[test]
fn on_postgresql_the_migrations_the_write_and_pg_dump_are_checked() {
    let Some(db) = common::TestDb::create(common::Backend::Postgres, "doctor_on_postgresql") else {
        return;
    };
    let site = Site::unmigrated();
    let env = [("HADIR_DATABASE_URL", db.url.as_str())];
    let (_, report) = site.doctor_json(&env);
    assert_eq!(check(&report, "reachable")["status"], "ok", "{report:#}");
    assert_eq!(check(&report, "migrations")["status"], "warn");
    assert_eq!(check(&report, "writable")["status"], "ok", "{report:#}");
    let migrated = site.hadir(&["migrate"], &env);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let (code, report) = site.doctor_json(&env);
    let migrations = check(&report, "migrations");
    assert_eq!(migrations["status"], "ok", "{report:#}");
    assert_eq!(check(&report, "writable")["status"], "ok", "{report:#}");
    // pg_dump is there where the PostgreSQL tests run (their backups need it).
    assert_eq!(check(&report, "pg_dump")["status"], "ok", "{report:#}");
    assert_eq!(
        check(&report, "free space")["detail"],
        "PostgreSQL keeps its data on its server: check its disk there"
    );
    assert_eq!(code, 0, "{report:#}");
}
