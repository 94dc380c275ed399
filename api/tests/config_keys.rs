//! Every key of the README's configuration table works each way it is documented: in the
//! file in its section and as its flat alias, and through its variable (`HADIR_{ALIAS}` and
//! `HADIR_{SECTION}__{KEY}`), as `hadir config print` shows; the README names no key or
//! variable this test does not set, and the key table of the code none it does not cover.
//! One `hadir config print` per way, every key at once, plus a few runs for the errors and
//! for empty variables meaning none.

#[path = "common/tls.rs"]
mod tls;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// One key: its sectioned path, its flat alias, a value other than the default as the file
/// writes it (TOML) and as its variable does, and what `config print` shows of it (TOML).
struct Case {
    key: &'static str,
    alias: &'static str,
    file: String,
    env: String,
    shown: String,
}

fn case(key: &'static str, alias: &'static str, file: &str, env: &str, shown: &str) -> Case {
    Case {
        key,
        alias,
        file: file.to_owned(),
        env: env.to_owned(),
        shown: shown.to_owned(),
    }
}

/// Every key with a variable of its own, one a line; `ca` is a real CA file (the MQTT check
/// reads it).
#[rustfmt::skip]
fn cases(ca: &Path) -> Vec<Case> {
    let ca = format!("{:?}", ca.display().to_string());
    vec![
        case("database_url", "database_url", r#""postgres://hadir:s3cr3t-db@db.example/hadir""#, "postgres://hadir:s3cr3t-db@db.example/hadir", r#""postgres://hadir:***@db.example/hadir""#),
        case("admin_token", "admin_token", r#""s3cr3t-admin""#, "s3cr3t-admin", r#""***""#),
        case("log", "log", r#""warn,api=debug""#, "warn,api=debug", r#""warn,api=debug""#),
        case("server.listen", "listen", r#""127.0.0.1:9123""#, "127.0.0.1:9123", r#""127.0.0.1:9123""#),
        case("server.query_depth_limit", "query_depth_limit", "13", "13", "13"),
        case("server.query_complexity_limit", "query_complexity_limit", "2001", "2001", "2001"),
        case("server.max_request_bytes", "max_request_bytes", "10485761", "10485761", "10485761"),
        case("server.max_json_bytes", "max_json_bytes", "65537", "65537", "65537"),
        case("server.max_upload_files", "max_upload_files", "2", "2", "2"),
        case("server.max_batch_operations", "max_batch_operations", "11", "11", "11"),
        case("server.max_connections", "max_connections", "100", "100", "100"),
        case("server.header_read_timeout_secs", "header_read_timeout_secs", "31", "31", "31"),
        case("server.request_timeout_secs", "request_timeout_secs", "32", "32", "32"),
        case("server.auth_failures_per_minute", "auth_failures_per_minute", "0", "0", "0"),
        case("server.trusted_proxies", "trusted_proxies", r#"["10.0.0.0/8", "::1"]"#, "10.0.0.0/8, ::1", r#"["10.0.0.0/8", "::1"]"#),
        case("server.tls_cert_file", "tls_cert_file", r#""/etc/hadir/cert.pem""#, "/etc/hadir/cert.pem", r#""/etc/hadir/cert.pem""#),
        case("server.tls_key_file", "tls_key_file", r#""/etc/hadir/key.pem""#, "/etc/hadir/key.pem", r#""/etc/hadir/key.pem""#),
        case("server.cors_origins", "cors_origins", r#"["https://hr.example.com", "http://127.0.0.1:3000"]"#, "https://hr.example.com,http://127.0.0.1:3000", r#"["https://hr.example.com", "http://127.0.0.1:3000"]"#),
        case("server.query_token", "query_token", "true", "true", "true"),
        case("server.live_grant_secs", "live_grant_secs", "301", "301", "301"),
        case("server.image_workers", "image_workers", "3", "3", "3"),
        case("server.graphiql", "graphiql", "false", "false", "false"),
        case("server.dashboard", "dashboard", "false", "false", "false"),
        case("cameras.configs", "camera_configs", r#""/srv/cameras""#, "/srv/cameras", r#""/srv/cameras""#),
        case("cameras.max_redirects", "camera_max_redirects", "2", "2", "2"),
        case("recognition.face_models", "face_models", r#""insightface""#, "insightface", r#""insightface""#),
        case("recognition.model_manifest", "model_manifest", r#""/srv/manifest.toml""#, "/srv/manifest.toml", r#""/srv/manifest.toml""#),
        case("recognition.execution_provider", "execution_provider", r#""cuda:1""#, "cuda:1", r#""cuda:1""#),
        case("recognition.match_threshold", "match_threshold", "0.5", "0.5", "0.5"),
        case("recognition.inference_threads", "inference_threads", "2", "2", "2"),
        case("recognition.inference_workers", "inference_workers", "3", "3", "3"),
        case("recognition.min_face_px", "min_face_px", "48.0", "48", "48.0"),
        case("recognition.max_photo_bytes", "max_photo_bytes", "1048576", "1048576", "1048576"),
        case("recognition.min_consecutive", "min_consecutive", "2", "2", "2"),
        case("recognition.track_end_after_secs", "track_end_after_secs", "4", "4", "4"),
        case("recognition.announce_interval_secs", "announce_interval_secs", "6", "6", "6"),
        case("recognition.min_track_evidence", "min_track_evidence", "1.5", "1.5", "1.5"),
        case("recognition.motion_gating", "motion_gating", "false", "false", "false"),
        case("recognition.full_frame_interval_secs", "full_frame_interval_secs", "7", "7", "7"),
        case("recognition.look_more_fps", "look_more_fps", "5.0", "5", "5.0"),
        case("recognition.look_more_secs", "look_more_secs", "2", "2", "2"),
        case("presence.lost_after_secs", "lost_after_secs", "31", "31", "31"),
        case("presence.camera_timeout_secs", "camera_timeout_secs", "9", "9", "9"),
        case("presence.monitor_interval_ms", "monitor_interval_ms", "250", "250", "250"),
        case("attendance.timezone", "timezone", r#""Asia/Jakarta""#, "Asia/Jakarta", r#""Asia/Jakarta""#),
        case("attendance.work_start", "work_start", r#""08:30""#, "08:30", r#""08:30""#),
        case("attendance.work_end", "work_end", r#""16:30""#, "16:30", r#""16:30""#),
        case("attendance.grace_minutes", "grace_minutes", "5", "5", "5"),
        case("attendance.work_days", "work_days", r#""sun-thu""#, "sun-thu", r#""sun-thu""#),
        case("attendance.close_interval_secs", "attendance_close_interval_secs", "61", "61", "61"),
        case("retention.visits_days", "retention_visits_days", "30", "30", "30"),
        case("retention.notifications_days", "retention_notifications_days", "31", "31", "31"),
        case("retention.attendance_days", "retention_attendance_days", "365", "365", "365"),
        case("mqtt.url", "mqtt_url", r#""mqtts://ha:s3cr3t-mqtt@broker.example:8884""#, "mqtts://ha:s3cr3t-mqtt@broker.example:8884", r#""mqtts://ha:***@broker.example:8884""#),
        case("mqtt.ca_file", "mqtt_ca_file", &ca, ca.trim_matches('"'), &ca),
        case("mqtt.topic_prefix", "mqtt_topic_prefix", r#""office""#, "office", r#""office""#),
        case("mqtt.home_assistant", "mqtt_home_assistant", "true", "true", "true"),
        case("mqtt.home_assistant_prefix", "mqtt_home_assistant_prefix", r#""ha""#, "ha", r#""ha""#),
        case("cluster.node_id", "node_id", r#""node-a""#, "node-a", r#""node-a""#),
        case("cluster.advertise_url", "advertise_url", r#""http://10.0.0.5:8080""#, "http://10.0.0.5:8080", r#""http://10.0.0.5:8080""#),
        case("cluster.max_cameras", "max_cameras", "12", "12", "12"),
        case("cluster.lease_secs", "lease_secs", "4", "4", "4"),
        case("cluster.listen_url", "cluster_listen_url", r#""postgres://hadir:s3cr3t-listen@db.example/hadir""#, "postgres://hadir:s3cr3t-listen@db.example/hadir", r#""postgres://hadir:***@db.example/hadir""#),
        case("demo.enabled", "demo_enabled", "false", "false", "false"),
        case("demo.folder", "demo_folder", r#""/srv/hadir/demo""#, "/srv/hadir/demo", r#""/srv/hadir/demo""#),
        case("demo.lost_after_secs", "demo_lost_after_secs", "25", "25", "25"),
    ]
}

/// The keys without a variable of their own, each with its test below.
const TABLES: [(&str, &str); 2] = [
    ("attendance.departments", "departments"),
    ("webhooks", "webhooks"),
];
/// The webhooks' variables, and `RUST_LOG` (over `log`).
const WEBHOOK_VARIABLES: [&str; 3] = [
    "HADIR_WEBHOOK_URLS",
    "HADIR_WEBHOOK_SECRET",
    "HADIR_WEBHOOK_EVENTS",
];

fn section_and_name(key: &str) -> (Option<&str>, &str) {
    match key.split_once('.') {
        Some((section, name)) => (Some(section), name),
        None => (None, key),
    }
}

fn variable(alias: &str) -> String {
    format!("HADIR_{}", alias.to_ascii_uppercase())
}

/// `HADIR_{SECTION}__{KEY}`, or the flat variable for a key at the top level.
fn sectioned_variable(case: &Case) -> String {
    match section_and_name(case.key) {
        (Some(section), name) => format!(
            "HADIR_{}__{}",
            section.to_ascii_uppercase(),
            name.to_ascii_uppercase()
        ),
        (None, _) => variable(case.alias),
    }
}

/// `hadir config print` in `dir`, with only `vars` (and PATH) in its environment.
fn print(dir: &Path, args: &[&str], vars: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hadir"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(args)
        .args(["config", "print"])
        .output()
        .expect("hadir runs")
}

/// The printed configuration, parsed; the run must have succeeded.
fn printed(output: &Output, what: &str) -> toml::Table {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("s3cr3t"),
        "{what}: a secret is shown:\n{stdout}"
    );
    toml::from_str(&stdout).unwrap_or_else(|e| panic!("{what}: not TOML ({e}):\n{stdout}"))
}

/// The value at `path` (`section.key`, `webhooks.1.url`).
fn at<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = match value {
            toml::Value::Table(t) => t.get(part)?,
            toml::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

fn value(text: &str) -> toml::Value {
    let table: toml::Table = toml::from_str(&format!("v = {text}")).expect("a TOML value");
    table["v"].clone()
}

fn assert_cases(table: &toml::Table, cases: &[Case], what: &str) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|c| at(table, c.key) != Some(&value(&c.shown)))
        .map(|c| format!("{}: {:?}, not {}", c.key, at(table, c.key), c.shown))
        .collect();
    assert!(wrong.is_empty(), "{what}: {wrong:#?}");
}

/// The file with every key flat at the top (`sectioned`: in its section).
fn file_of(cases: &[Case], sectioned: bool) -> String {
    let mut text = String::new();
    if sectioned {
        let mut section = None;
        for case in cases {
            let (in_section, name) = section_and_name(case.key);
            if in_section != section {
                text.push_str(&format!("\n[{}]\n", in_section.unwrap_or_default()));
                section = in_section;
            }
            text.push_str(&format!("{name} = {}\n", case.file));
        }
        text.push_str("\n[attendance.departments.Night]\n");
    } else {
        for case in cases {
            text.push_str(&format!("{} = {}\n", case.alias, case.file));
        }
        text.push_str("\n[departments.Night]\n");
    }
    text.push_str(
        "start = \"21:00\"\nend = \"23:59\"\n\n[[webhooks]]\n\
         url = \"https://hr.example.com/hooks/s3cr3t-path\"\n\
         events = [\"notification.created\"]\nsecret = \"s3cr3t-hook\"\n",
    );
    text
}

fn assert_file_tables(table: &toml::Table, what: &str) {
    assert_eq!(
        at(table, "attendance.departments.Night.start"),
        Some(&value("\"21:00\"")),
        "{what}"
    );
    assert_eq!(
        at(table, "webhooks.0.url"),
        Some(&value("\"https://hr.example.com/…\"")),
        "{what}"
    );
    assert_eq!(
        at(table, "webhooks.0.events"),
        Some(&value("[\"notification.created\"]")),
        "{what}"
    );
    assert_eq!(
        at(table, "webhooks.0.secret"),
        Some(&value("\"***\"")),
        "{what}"
    );
}

fn webhook_variables() -> Vec<(String, String)> {
    [
        (
            "HADIR_WEBHOOK_URLS",
            "http://127.0.0.1:9/a/s3cr3t, http://127.0.0.1:9/b",
        ),
        ("HADIR_WEBHOOK_SECRET", "s3cr3t-hook"),
        ("HADIR_WEBHOOK_EVENTS", "summary.changed, employee.detected"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

fn assert_env_webhooks(table: &toml::Table, what: &str) {
    assert_eq!(
        at(table, "webhooks.1.url"),
        Some(&value("\"http://127.0.0.1:9/…\"")),
        "{what}"
    );
    assert_eq!(
        at(table, "webhooks.1.events"),
        Some(&value("[\"summary.changed\", \"employee.detected\"]")),
        "{what}"
    );
    assert_eq!(
        at(table, "webhooks.1.secret"),
        Some(&value("\"***\"")),
        "{what}"
    );
}

/// A CA certificate in `dir` (`[mqtt] ca_file` is read when the configuration loads).
fn ca_file(dir: &Path) -> PathBuf {
    tls::openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=hadir config test",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    dir.join("ca.pem")
}

#[test]
fn every_key_works_in_its_section_as_its_alias_and_from_its_variables() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(&ca_file(dir.path()));

    // The file, every key flat, named by --config.
    let flat = dir.path().join("flat.toml");
    std::fs::write(&flat, file_of(&cases, false)).unwrap();
    let table = printed(
        &print(dir.path(), &["--config", flat.to_str().unwrap()], &[]),
        "flat file",
    );
    assert_cases(&table, &cases, "flat file");
    assert_file_tables(&table, "flat file");

    // The file, every key in its section, named by HADIR_CONFIG.
    let sectioned = dir.path().join("sectioned.toml");
    std::fs::write(&sectioned, file_of(&cases, true)).unwrap();
    let vars = vec![("HADIR_CONFIG".to_owned(), sectioned.display().to_string())];
    let table = printed(&print(dir.path(), &[], &vars), "sectioned file");
    assert_cases(&table, &cases, "sectioned file");
    assert_file_tables(&table, "sectioned file");

    // Every flat variable, no file.
    let mut vars: Vec<(String, String)> = cases
        .iter()
        .map(|c| (variable(c.alias), c.env.clone()))
        .collect();
    vars.extend(webhook_variables());
    let table = printed(&print(dir.path(), &[], &vars), "flat variables");
    assert_cases(&table, &cases, "flat variables");
    assert_env_webhooks(&table, "flat variables");

    // Every sectioned variable; RUST_LOG over HADIR_LOG.
    let mut vars: Vec<(String, String)> = cases
        .iter()
        .filter(|c| c.key != "log")
        .map(|c| (sectioned_variable(c), c.env.clone()))
        .collect();
    vars.push(("HADIR_LOG".to_owned(), "error".to_owned()));
    vars.push(("RUST_LOG".to_owned(), "warn,api=debug".to_owned()));
    let table = printed(&print(dir.path(), &[], &vars), "sectioned variables");
    assert_cases(&table, &cases, "sectioned variables");
}

#[test]
fn empty_variables_mean_none_over_the_file_and_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(dir.path());
    // ./hadir.toml, found without being named.
    std::fs::write(
        dir.path().join("hadir.toml"),
        format!(
            "admin_token = \"s3cr3t-admin\"\n[server]\ntls_cert_file = \"c.pem\"\n\
             tls_key_file = \"k.pem\"\n[mqtt]\nurl = \"mqtts://broker.example\"\nca_file = {:?}\n",
            ca.display().to_string()
        ),
    )
    .unwrap();
    let table = printed(&print(dir.path(), &[], &[]), "./hadir.toml");
    assert_eq!(
        at(&table, "mqtt.url"),
        Some(&value("\"mqtts://broker.example\""))
    );
    assert_eq!(at(&table, "admin_token"), Some(&value("\"***\"")));
    let empty: Vec<(String, String)> = [
        "HADIR_ADMIN_TOKEN",
        "HADIR_TLS_CERT_FILE",
        "HADIR_SERVER__TLS_KEY_FILE",
        "HADIR_MQTT_URL",
        "HADIR_MQTT_CA_FILE",
    ]
    .map(|k| (k.to_owned(), String::new()))
    .to_vec();
    let table = printed(&print(dir.path(), &[], &empty), "empty variables");
    for key in [
        "admin_token",
        "server.tls_cert_file",
        "server.tls_key_file",
        "mqtt.url",
        "mqtt.ca_file",
    ] {
        assert_eq!(at(&table, key), None, "{key} is none");
    }

    let failure = |file: &str, vars: &[(&str, &str)]| -> String {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, file).unwrap();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let output = print(dir.path(), &["--config", path.to_str().unwrap()], &vars);
        assert!(!output.status.success(), "{file} {vars:?} is refused");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let error = failure(
        "lost_after_secs = 30\n[presence]\nlost_after_secs = 31\n",
        &[],
    );
    assert!(
        error.contains("bad.toml")
            && error.contains("`lost_after_secs`")
            && error.contains("presence.lost_after_secs"),
        "{error}"
    );
    let error = failure("lost_after = 30\n", &[]);
    assert!(
        error.contains("bad.toml") && error.contains("lost_after"),
        "{error}"
    );
    let error = failure("[presence]\nlost_after = 30\n", &[]);
    assert!(error.contains("presence.lost_after"), "{error}");
    let error = failure("", &[("HADIR_PRESENCE__LOST_AFTER_SECS", "soon")]);
    assert!(
        error.contains("HADIR_PRESENCE__LOST_AFTER_SECS") && error.contains("soon"),
        "{error}"
    );
    let error = failure(
        "",
        &[
            ("HADIR_LOST_AFTER_SECS", "5"),
            ("HADIR_PRESENCE__LOST_AFTER_SECS", "6"),
        ],
    );
    assert!(
        error.contains("HADIR_LOST_AFTER_SECS")
            && error.contains("HADIR_PRESENCE__LOST_AFTER_SECS"),
        "{error}"
    );
    let error = failure("[mqtt]\nurl = \"http://broker\"\n", &[]);
    assert!(
        error.contains("mqtt.url") && error.contains("mqtt_url"),
        "{error}"
    );
    let error = failure("", &[("HADIR_LOOK_MORE_FPS", "0")]);
    assert!(
        error.contains("recognition.look_more_fps") && error.contains("between 0.1 and 30"),
        "{error}"
    );
    let error = failure("[recognition]\nlook_more_secs = 600\n", &[]);
    assert!(
        error.contains("recognition.look_more_secs") && error.contains("600"),
        "{error}"
    );
}

/// The README's configuration rows: (keys, flat aliases, variables) of each.
fn readme_rows() -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let start = readme
        .find("## Configuration")
        .expect("a Configuration section");
    let section = &readme[start..];
    let section = &section[..section[2..].find("\n## ").map_or(section.len(), |i| i + 2)];
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            assert!(cells.len() >= 5, "a row of five cells: {line}");
            let variables = ticked(cells[2])
                .into_iter()
                .filter(|v| v.starts_with("HADIR_") || v == "RUST_LOG")
                .collect();
            (ticked(cells[0]), ticked(cells[1]), variables)
        })
        .collect()
}

#[test]
fn the_readme_names_no_key_or_variable_left_untested() {
    let cases = cases(Path::new("/ca.pem"));
    let mut keys: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| (c.key.to_owned(), c.alias.to_owned()))
        .collect();
    keys.extend(TABLES.iter().map(|(k, a)| (k.to_string(), a.to_string())));
    let mut variables: BTreeSet<String> = cases.iter().map(|c| variable(c.alias)).collect();
    variables.extend(cases.iter().map(sectioned_variable));
    variables.extend(WEBHOOK_VARIABLES.iter().map(|v| v.to_string()));
    variables.insert("RUST_LOG".to_owned());

    let rows = readme_rows();
    let mut named = BTreeSet::new();
    let mut untested = Vec::new();
    for (row_keys, aliases, row_variables) in &rows {
        assert_eq!(row_keys.len(), 1, "one key a row: {row_keys:?}");
        assert_eq!(aliases.len(), 1, "one flat alias a row: {aliases:?}");
        let pair = (row_keys[0].clone(), aliases[0].clone());
        if !keys.contains(&pair) {
            untested.push(format!("key {} (flat {})", pair.0, pair.1));
        }
        untested.extend(
            row_variables
                .iter()
                .filter(|v| !variables.contains(*v))
                .map(|v| format!("variable {v}")),
        );
        named.insert(pair);
    }
    assert!(
        untested.is_empty(),
        "the README names what this test does not set: {untested:#?}"
    );
    let missing: Vec<_> = keys.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "keys the README does not name: {missing:?}"
    );
    // The code's key table: the same keys and aliases.
    let table: BTreeSet<(String, String)> = api::config::keys::KEYS
        .iter()
        .map(|k| (k.path(), k.alias.to_owned()))
        .collect();
    assert_eq!(
        table, keys,
        "the key table and this test cover the same keys"
    );
}
