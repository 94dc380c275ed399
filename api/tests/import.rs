//! Bulk import of a staff directory with the real models: `hadir import` on a CSV of 24 rows
//! built from the registry photos (good rows, bad rows, one face under two ids) beside a
//! running server, checked over GraphQL and in the database, then run again to change
//! nothing; and the `importEmployees` mutation (one multipart request with the CSV and its
//! photos) on SQLite and PostgreSQL.

mod common;

use std::{io::Cursor, path::Path, process::Output};

use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer, create_token};
use serde_json::{Value, json};

/// The photo limit of these tests' servers and commands.
const MAX_PHOTO_BYTES: &str = "2000000";

fn photo_bytes(name: &str) -> Vec<u8> {
    let path = vision::models::runtime::cache_dir()
        .join("photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; fetch the photos with `python3 models/fetch.py`",
            path.display()
        )
    })
}

fn photo(name: &str) -> image::RgbImage {
    image::load_from_memory(&photo_bytes(name))
        .expect("a test photo")
        .to_rgb8()
}

fn jpeg(image: &image::RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("JPEG");
    out.into_inner()
}

/// Two people side by side.
fn pair() -> Vec<u8> {
    let left = photo("obama2.jpg");
    let right = photo("biden.jpg");
    let right = image::imageops::resize(
        &right,
        right.width() * left.height() / right.height(),
        left.height(),
        image::imageops::FilterType::Triangle,
    );
    let mut canvas = image::RgbImage::from_pixel(
        left.width() + right.width(),
        left.height(),
        image::Rgb([90; 3]),
    );
    image::imageops::replace(&mut canvas, &left, 0, 0);
    image::imageops::replace(&mut canvas, &right, i64::from(left.width()), 0);
    jpeg(&canvas)
}

/// obama2 shrunk until his face is about 65 px across (found, but under the 80 px
/// enrolment needs).
fn small() -> Vec<u8> {
    let p = photo("obama2.jpg");
    jpeg(&image::imageops::resize(
        &p,
        150,
        p.height() * 150 / p.width(),
        image::imageops::FilterType::Triangle,
    ))
}

/// obama2 blurred (sharpness about 30 of the 100 needed).
fn blurry() -> Vec<u8> {
    jpeg(&image::imageops::blur(&photo("obama2.jpg"), 6.0))
}

/// A grey picture of nothing.
fn nothing() -> Vec<u8> {
    jpeg(&image::RgbImage::from_pixel(
        640,
        480,
        image::Rgb([120, 130, 140]),
    ))
}

/// The photo folder: good photos, bad ones, and a link out of it; returns its path.
fn photo_folder(root: &Path) -> std::path::PathBuf {
    let dir = root.join("photos");
    std::fs::create_dir_all(dir.join("team")).unwrap();
    for (name, bytes) in [
        ("obama.jpg", photo_bytes("obama.jpg")),
        ("team/obama3.jpg", photo_bytes("obama3.jpg")),
        ("biden.jpg", photo_bytes("biden.jpg")),
        ("astronaut.png", photo_bytes("astronaut.png")),
        ("grace_hopper.jpg", photo_bytes("grace_hopper.jpg")),
        ("obama2.jpg", photo_bytes("obama2.jpg")),
        ("nothing.jpg", nothing()),
        ("pair.jpg", pair()),
        ("small.jpg", small()),
        ("blurry.jpg", blurry()),
        ("notes.jpg", b"these are not pixels".to_vec()),
        ("huge.jpg", vec![0xff; 2_100_000]),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(root.join("outside.jpg"), photo_bytes("obama2.jpg")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("outside.jpg"), dir.join("link.jpg")).unwrap();
    dir
}

/// 24 rows; E02 exists before the import (in another department).
const DIRECTORY: &str = "\
Name,Employee ID,Department,Role,Photos
Barack Obama,E01,Executive,President,obama.jpg; team/obama3.jpg
Joe Biden,E02,Executive,Vice President,biden.jpg
Eileen Collins,E03,Flight,Commander,astronaut.png
Grace Hopper,E04,Engineering,Rear Admiral,grace_hopper.jpg
Nobody Here,E05,Facilities,,nothing.jpg
Two People,E06,Facilities,,pair.jpg
Seven A,E07,Sales,,
Ann Lee,E08,Sales,Lead,
Budi Santoso,E09,Sales,,
Citra Dewi,E10,\"Research, Applied\",Analyst,
Dian Sastro,E11,Research,,
Eko Prasetyo,E12,Research,,
Fajar Nugroho,E13,Support,,
Gita Putri,E14,Support,,
Hadi Wijaya,E15,Support,,
Small Face,E16,Support,,small.jpg
Blurry Face,E17,Support,,blurry.jpg
Not A Photo,E18,Support,,notes.jpg;gone.jpg
Escaping,E19,Support,,../outside.jpg;/etc/hostname;link.jpg
Obama Again,E20,Executive,,obama2.jpg
Huge File,E21,Support,,huge.jpg
Seven B,E07,Sales,,
Spaced Id,bad id,Sales,,
,E22,Sales,,
";

/// Runs `hadir import` on `csv` with `photos` as the photo folder.
fn hadir_import(db: &TestDb, csv: &Path, photos: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .arg("import")
        .arg(csv)
        .arg("--photos")
        .arg(photos)
        .arg("--json")
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_MAX_PHOTO_BYTES", MAX_PHOTO_BYTES)
        .env("HADIR_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("hadir import")
}

fn report_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// (row, employee id, photo, reason) of each refusal.
fn refusals(report: &Value) -> Vec<(i64, String, String, String)> {
    report["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["employeeId"].as_str().unwrap_or("-").to_owned(),
                r["photo"].as_str().unwrap_or("-").to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn message_of<'a>(report: &'a Value, photo: &str) -> &'a str {
    report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["photo"] == photo)
        .and_then(|r| r["message"].as_str())
        .unwrap_or_else(|| panic!("no refusal of {photo}: {report}"))
}

/// Every employee as the server reports them, and the embeddings and last update in the
/// database.
async fn state_of(server: &TestServer, db: &TestDb) -> (Value, i64, String) {
    use sea_orm::{ConnectionTrait, Statement};
    let employees = server
        .gql(
            ADMIN_TOKEN,
            "{ employees { employeeId name department role faceCount } }",
            json!({}),
        )
        .await["employees"]
        .clone();
    let database = sea_orm::Database::connect(&db.url).await.unwrap();
    let backend = database.get_database_backend();
    let row = database
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT (SELECT COUNT(*) FROM face_embeddings) AS faces, \
             (SELECT CAST(MAX(updated_at) AS TEXT) FROM employees) AS latest",
        ))
        .await
        .unwrap()
        .unwrap();
    let faces: i64 = row.try_get("", "faces").unwrap();
    let latest: String = row.try_get("", "latest").unwrap();
    database.close().await.unwrap();
    (employees, faces, latest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_directory_imports_with_every_bad_row_named_and_again_changes_nothing() {
    let db = TestDb::create(Backend::Sqlite, "import").unwrap();
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![("HADIR_MAX_PHOTO_BYTES".into(), MAX_PHOTO_BYTES.into())],
            ..Default::default()
        },
    );
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: EmployeeInput!) { createEmployee(input: $i) { employeeId } }",
            json!({ "i": { "employeeId": "E02", "name": "Joe Biden", "department": "Senate" } }),
        )
        .await;
    let photos = photo_folder(db.dir.path());
    let csv = db.dir.path().join("staff.csv");
    std::fs::write(&csv, DIRECTORY).unwrap();

    let first = hadir_import(&db, &csv, &photos);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(!first.status.success(), "rows were refused: {stderr}");
    // Not a terminal: one plain line per row, the refusals under it.
    assert!(stderr.contains("[1/24] line 2 E01: created"), "{stderr}");
    assert!(stderr.contains("[2/24] line 3 E02: updated"), "{stderr}");
    assert!(
        stderr.contains("    nothing.jpg: NO_FACE: no face found"),
        "{stderr}"
    );
    assert!(
        stderr.contains("4 row(s) and 11 photo(s) refused"),
        "{stderr}"
    );
    let report = report_of(&first);
    let expected_refusals: Vec<(i64, &str, &str, &str)> = vec![
        (6, "E05", "nothing.jpg", "NO_FACE"),
        (7, "E06", "pair.jpg", "SEVERAL_FACES"),
        (8, "E07", "-", "DUPLICATE_ID"),
        (17, "E16", "small.jpg", "FACE_TOO_SMALL"),
        (18, "E17", "blurry.jpg", "FACE_TOO_BLURRY"),
        (19, "E18", "notes.jpg", "UNREADABLE"),
        (19, "E18", "gone.jpg", "PHOTO_MISSING"),
        (20, "E19", "../outside.jpg", "PHOTO_OUTSIDE_FOLDER"),
        (20, "E19", "/etc/hostname", "PHOTO_OUTSIDE_FOLDER"),
        (20, "E19", "link.jpg", "PHOTO_OUTSIDE_FOLDER"),
        (21, "E20", "obama2.jpg", "FACE_OF_ANOTHER_EMPLOYEE"),
        (22, "E21", "huge.jpg", "PHOTO_TOO_LARGE"),
        (23, "E07", "-", "DUPLICATE_ID"),
        (24, "bad id", "-", "INVALID_ROW"),
        (25, "E22", "-", "INVALID_ROW"),
    ];
    let expected: Vec<(i64, String, String, String)> = expected_refusals
        .iter()
        .map(|(r, e, p, w)| (*r, e.to_string(), p.to_string(), w.to_string()))
        .collect();
    assert_eq!(refusals(&report), expected, "{report:#}");
    assert_eq!(
        (
            &report["rows"],
            &report["created"],
            &report["updated"],
            &report["unchanged"],
            &report["facesEnrolled"],
            &report["facesUnchanged"],
        ),
        (
            &json!(24),
            &json!(19),
            &json!(1),
            &json!(0),
            &json!(5),
            &json!(0)
        ),
        "{report:#}"
    );
    // The messages say why, naming what is at fault.
    assert!(message_of(&report, "pair.jpg").starts_with("2 faces found"));
    assert!(message_of(&report, "small.jpg").contains("enrolment needs at least 80 px"));
    assert!(message_of(&report, "blurry.jpg").contains("too blurred"));
    assert!(message_of(&report, "notes.jpg").contains("not a JPEG or PNG"));
    assert!(message_of(&report, "../outside.jpg").contains("\"..\" leaves the photo folder"));
    assert!(message_of(&report, "/etc/hostname").contains("an absolute path"));
    assert!(message_of(&report, "link.jpg").contains("outside the photo folder"));
    assert!(message_of(&report, "huge.jpg").contains("at most 1.9 MB"));
    assert!(
        message_of(&report, "obama2.jpg").contains("already enrolled for employee E01"),
        "{report:#}"
    );
    let duplicate = &report["refused"][2]["message"];
    assert!(
        duplicate.as_str().unwrap().contains("is on lines 8, 23"),
        "{duplicate}"
    );

    // What the server sees.
    let (employees, faces, latest) = state_of(&server, &db).await;
    let by_id = |id: &str| {
        employees
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["employeeId"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(employees.as_array().unwrap().len(), 20, "{employees:#}");
    assert_eq!(
        by_id("E01"),
        json!({ "employeeId": "E01", "name": "Barack Obama", "department": "Executive",
                "role": "President", "faceCount": 2 })
    );
    assert_eq!(
        by_id("E02")["department"],
        "Executive",
        "updated from the CSV"
    );
    assert_eq!(by_id("E10")["department"], "Research, Applied");
    for (id, count) in [("E02", 1), ("E03", 1), ("E04", 1), ("E05", 0), ("E20", 0)] {
        assert_eq!(by_id(id)["faceCount"], count, "{id}");
    }
    for refused in ["E07", "E22"] {
        assert_eq!(by_id(refused), Value::Null, "{refused} was not imported");
    }
    assert_eq!(faces, 5);

    // Again: nothing changes, and the report says so.
    let second = hadir_import(&db, &csv, &photos);
    let again = report_of(&second);
    assert_eq!(
        (
            &again["created"],
            &again["updated"],
            &again["unchanged"],
            &again["facesEnrolled"],
            &again["facesUnchanged"],
        ),
        (&json!(0), &json!(0), &json!(20), &json!(0), &json!(5)),
        "{again:#}"
    );
    assert_eq!(refusals(&again), expected);
    assert!(String::from_utf8_lossy(&second.stderr).contains("[1/24] line 2 E01: unchanged"));
    assert_eq!(state_of(&server, &db).await, (employees, faces, latest));

    // The text report, for a person.
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .arg("import")
        .arg(&csv)
        .arg("--photos")
        .arg(&photos)
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_MAX_PHOTO_BYTES", MAX_PHOTO_BYTES)
        .env("HADIR_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.starts_with(
            "imported 24 rows: 0 created, 0 updated, 20 unchanged, 4 refused; 0 faces enrolled, \
             5 already enrolled (unchanged), 11 photos refused\nrefused:\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  line 21   E20          obama2.jpg FACE_OF_ANOTHER_EMPLOYEE: this face"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_that_is_no_directory_changes_nothing() {
    let db = TestDb::create(Backend::Sqlite, "import_refused_whole").unwrap();
    let csv = db.dir.path().join("staff.csv");
    std::fs::write(&csv, "employee_id,name,salary\nE1,Ann,100\n").unwrap();
    let output = hadir_import(&db, &csv, db.dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("csv: the header names a column \"salary\" hadir does not know"),
        "{stderr}"
    );
    let big = db.dir.path().join("big.csv");
    std::fs::write(&big, vec![b'x'; api::import::rows::MAX_CSV_BYTES + 1]).unwrap();
    let stderr =
        String::from_utf8_lossy(&hadir_import(&db, &big, db.dir.path()).stderr).into_owned();
    assert!(
        stderr.contains("a CSV may be at most 4194304 bytes"),
        "{stderr}"
    );
    let missing = hadir_import(&db, &csv, &db.dir.path().join("no-such-folder"));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("cannot open the photo folder"), "{stderr}");
    // Nothing was written: a server on the database sees no employee.
    let server = TestServer::start(&db, &ServerOptions::default());
    let employees = server
        .gql(ADMIN_TOKEN, "{ employees { employeeId } }", json!({}))
        .await;
    assert_eq!(employees["employees"], json!([]));
}

const IMPORT: &str = "mutation($csv: Upload!, $photos: [Upload!]) { importEmployees(csv: $csv, photos: $photos) { rows created updated unchanged refusedRows facesEnrolled facesUnchanged refusedPhotos refused { row employeeId photo reason message } } }";

/// `importEmployees` as one multipart request: the CSV, then each photo under its name.
async fn import_over_graphql(
    server: &TestServer,
    token: &str,
    csv: &str,
    photos: &[(&str, Vec<u8>)],
) -> Value {
    let operations = json!({
        "query": IMPORT,
        "variables": { "csv": null, "photos": vec![Value::Null; photos.len()] },
    });
    let mut map = serde_json::Map::new();
    map.insert("csv".into(), json!(["variables.csv"]));
    for n in 0..photos.len() {
        map.insert(n.to_string(), json!([format!("variables.photos.{n}")]));
    }
    let mut form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", Value::Object(map).to_string())
        .part(
            "csv",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("staff.csv"),
        );
    for (n, (name, bytes)) in photos.iter().enumerate() {
        form = form.part(
            n.to_string(),
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("multipart POST");
    response.json().await.expect("JSON")
}

async fn import_over_graphql_twice(backend: Backend) {
    let Some(db) = TestDb::create(backend, "import_over_graphql_twice") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![
                ("HADIR_MAX_PHOTO_BYTES".into(), MAX_PHOTO_BYTES.into()),
                ("HADIR_MAX_REQUEST_BYTES".into(), "4000000".into()),
            ],
            ..Default::default()
        },
    );
    let csv = "role,employee_id,name,photos\n\
               President,G1,Barack Obama,obama.jpg\n\
               ,G2,Joe Biden,biden.jpg\n\
               ,G3,Nobody,nothing.jpg\n\
               ,G4,Obama Again,obama2.jpg\n\
               ,G5,Not Sent,absent.jpg\n";
    let photos = [
        ("obama.jpg", photo_bytes("obama.jpg")),
        ("biden.jpg", photo_bytes("biden.jpg")),
        ("nothing.jpg", nothing()),
        ("obama2.jpg", photo_bytes("obama2.jpg")),
    ];
    let body = import_over_graphql(&server, ADMIN_TOKEN, csv, &photos).await;
    let report = &body["data"]["importEmployees"];
    assert_eq!(
        (
            &report["rows"],
            &report["created"],
            &report["facesEnrolled"],
            &report["refusedRows"],
            &report["refusedPhotos"]
        ),
        (&json!(5), &json!(5), &json!(2), &json!(0), &json!(3)),
        "{body:#}"
    );
    assert_eq!(
        refusals(report),
        vec![
            (4, "G3".into(), "nothing.jpg".into(), "NO_FACE".into()),
            (
                5,
                "G4".into(),
                "obama2.jpg".into(),
                "FACE_OF_ANOTHER_EMPLOYEE".into()
            ),
            (6, "G5".into(), "absent.jpg".into(), "PHOTO_MISSING".into()),
        ]
    );
    assert!(
        report["refused"][2]["message"]
            .as_str()
            .unwrap()
            .contains("not among the uploaded photos")
    );
    let again = import_over_graphql(&server, ADMIN_TOKEN, csv, &photos).await;
    let again = &again["data"]["importEmployees"];
    assert_eq!(
        (
            &again["created"],
            &again["updated"],
            &again["unchanged"],
            &again["facesEnrolled"],
            &again["facesUnchanged"]
        ),
        (&json!(0), &json!(0), &json!(5), &json!(0), &json!(2)),
        "{again:#}"
    );
    let faces = server
        .gql(
            ADMIN_TOKEN,
            "{ employees { employeeId faceCount role } }",
            json!({}),
        )
        .await;
    assert_eq!(
        faces["employees"][0],
        json!({ "employeeId": "G1", "faceCount": 1, "role": "President" })
    );

    // enrollFace refuses another employee's face the same way.
    let operations = json!({
        "query": "mutation($p: Upload!) { enrollFace(employeeId: \"G2\", photo: $p) { faceCount } }",
        "variables": { "p": null },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.p"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(photo_bytes("obama3.jpg")).file_name("obama3.jpg"),
        );
    let body: Value = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(ADMIN_TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("photo: this face is already enrolled for employee G1"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Admins only; and more photos than one import takes are refused at the map, before
    // any file is read (the bodies are small: the server answers before reading them).
    let viewer = create_token(&server, "VIEWER").await;
    let body = import_over_graphql(&server, &viewer, csv, &[("x.jpg", vec![1])]).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let photos = api::import::MAX_UPLOADED_PHOTOS + 1;
    let mut map = serde_json::Map::new();
    map.insert("csv".into(), json!(["variables.csv"]));
    for n in 0..photos {
        map.insert(n.to_string(), json!([format!("variables.photos.{n}")]));
    }
    let operations = json!({
        "query": IMPORT,
        "variables": { "csv": null, "photos": vec![Value::Null; photos] },
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", Value::Object(map).to_string())
        .part(
            "csv",
            reqwest::multipart::Part::bytes(b"id,name\n".to_vec()).file_name("a.csv"),
        );
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(ADMIN_TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("importEmployees alone its CSV and up to 200 photos"),
        "{body}"
    );
}

on_both_backends!(import_over_graphql_twice);
