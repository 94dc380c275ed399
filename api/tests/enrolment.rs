//! Enrolment end to end: photos uploaded with the GraphQL multipart request spec to a real
//! server running the real models, then `hadir recognize` against the same database.

mod common;

use std::{io::Cursor, path::PathBuf};

use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer, create_token};
use serde_json::{Value, json};

const ENROLL: &str = "mutation($id: ID!, $photo: Upload!) { enrollFace(employeeId: $id, photo: $photo) { employeeId faceCount } }";

fn photo_path(name: &str) -> PathBuf {
    vision::models::runtime::cache_dir()
        .join("photos")
        .join(name)
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(photo_path(name))
        .unwrap_or_else(|e| panic!("{name}: {e}; fetch the photos with `python3 models/fetch.py`"))
}

fn encode_jpeg(image: &image::RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("JPEG");
    out.into_inner()
}

/// Three people side by side on one frame.
fn group_photo() -> Vec<u8> {
    let mut canvas = image::RgbImage::from_pixel(1920, 1080, image::Rgb([96, 96, 96]));
    for (n, name) in ["obama2.jpg", "biden.jpg", "astronaut.png"]
        .iter()
        .enumerate()
    {
        let p = image::load_from_memory(&photo(name)).unwrap().to_rgb8();
        let scale = (600.0 / p.width() as f64).min(1000.0 / p.height() as f64);
        let p = image::imageops::resize(
            &p,
            (p.width() as f64 * scale) as u32,
            (p.height() as f64 * scale) as u32,
            image::imageops::FilterType::Triangle,
        );
        image::imageops::replace(
            &mut canvas,
            &p,
            30 + n as i64 * 630,
            ((1080 - p.height()) / 2) as i64,
        );
    }
    encode_jpeg(&canvas)
}

/// Posts a GraphQL multipart request (operations, map, one file as variable `photo`).
async fn upload(
    server: &TestServer,
    token: &str,
    query: &str,
    employee_id: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let operations = json!({ "query": query, "variables": { "id": employee_id, "photo": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.photo"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("multipart POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Sends only the headers of a multipart POST announcing `length` bytes; returns the answer.
async fn announce_body(server: &TestServer, length: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\
         Connection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b.trim()).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

fn error_of(body: &Value) -> (String, String) {
    let error = &body["errors"][0];
    assert!(!error.is_null(), "an error expected: {body}");
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// `hadir recognize --json` of the test `photos` on `db` with the model set `models`: one JSON
/// line per photo.
fn recognise(db: &TestDb, photos: &[&str], models: &str) -> Vec<Value> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["recognize", "--json"])
        .args(photos.iter().map(|p| photo_path(p)))
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_FACE_MODELS", models)
        .env("HADIR_LOG", "warn")
        .output()
        .expect("hadir recognize");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn enrol_over_graphql_then_recognise(backend: Backend) {
    let Some(db) = TestDb::create(backend, "enrol_over_graphql_then_recognise") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![
                ("HADIR_MAX_PHOTO_BYTES".into(), "2000000".into()),
                ("HADIR_MAX_REQUEST_BYTES".into(), "3000000".into()),
            ],
            ..Default::default()
        },
    );
    for (id, name) in [("E1", "Barack Obama"), ("E2", "Joe Biden")] {
        server
            .gql(
                ADMIN_TOKEN,
                "mutation($i: EmployeeInput!) { createEmployee(input: $i) { faceCount } }",
                json!({ "i": { "employeeId": id, "name": name } }),
            )
            .await;
    }
    let count_query = "{ employees { employeeId faceCount } }";
    let faces =
        || async { server.gql(ADMIN_TOKEN, count_query, json!({})).await["employees"].clone() };
    let zero =
        json!([{ "employeeId": "E1", "faceCount": 0 }, { "employeeId": "E2", "faceCount": 0 }]);
    assert_eq!(faces().await, zero);

    let (status, body) = upload(
        &server,
        ADMIN_TOKEN,
        ENROLL,
        "E1",
        "obama.jpg",
        photo("obama.jpg"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["enrollFace"],
        json!({ "employeeId": "E1", "faceCount": 1 }),
        "{body}"
    );
    let (_, body) = upload(
        &server,
        ADMIN_TOKEN,
        ENROLL,
        "E2",
        "biden.jpg",
        photo("biden.jpg"),
    )
    .await;
    assert_eq!(body["data"]["enrollFace"]["faceCount"], 1, "{body}");

    // Refused, each with a clear error, and nothing stored.
    let blank = encode_jpeg(&image::RgbImage::from_pixel(
        640,
        480,
        image::Rgb([120, 130, 140]),
    ));
    let mut tiny = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(1, 1, image::Rgb([9, 9, 9]))
        .write_to(&mut tiny, image::ImageFormat::Png)
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("blank.jpg", blank, "BAD_USER_INPUT", "no face found"),
        (
            "tiny.png",
            tiny.into_inner(),
            "BAD_USER_INPUT",
            "1×1 frame is outside what hadir accepts",
        ),
        (
            "notes.txt",
            b"these are not pixels".to_vec(),
            "BAD_USER_INPUT",
            "not a JPEG or PNG",
        ),
        ("empty.jpg", Vec::new(), "BAD_USER_INPUT", "empty"),
        (
            "group.jpg",
            group_photo(),
            "BAD_USER_INPUT",
            "3 faces found",
        ),
        (
            "huge.jpg",
            vec![0xff; 2_500_000],
            "BAD_USER_INPUT",
            "at most",
        ),
    ];
    for (name, bytes, code, needle) in cases {
        let (_, body) = upload(&server, ADMIN_TOKEN, ENROLL, "E1", name, bytes).await;
        let (got, message) = error_of(&body);
        assert_eq!(got, code, "{name}: {message}");
        assert!(message.contains(needle), "{name}: {message}");
        assert!(
            message.starts_with("photo:"),
            "{name}: the field is named: {message}"
        );
    }
    // Past max_request_bytes the server answers before reading the body (a client still
    // sending would see its pipe closed): ask with the headers alone.
    let (status, body) = announce_body(&server, 3_500_000).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_of(&body).0, "PAYLOAD_TOO_LARGE");
    let (_, body) = upload(
        &server,
        ADMIN_TOKEN,
        ENROLL,
        "E404",
        "obama2.jpg",
        photo("obama2.jpg"),
    )
    .await;
    assert_eq!(error_of(&body).0, "NOT_FOUND");
    let viewer = create_token(&server, "VIEWER").await;
    let (_, body) = upload(
        &server,
        &viewer,
        ENROLL,
        "E1",
        "obama2.jpg",
        photo("obama2.jpg"),
    )
    .await;
    assert_eq!(error_of(&body).0, "FORBIDDEN");
    assert_eq!(
        faces().await,
        json!([{ "employeeId": "E1", "faceCount": 1 }, { "employeeId": "E2", "faceCount": 1 }])
    );

    // `hadir recognize` on the same database: the other photos of each, and strangers.
    let lines = recognise(
        &db,
        &[
            "obama2.jpg",
            "obama3.jpg",
            "astronaut.png",
            "grace_hopper.jpg",
        ],
        "default",
    );
    let matched: Vec<Value> = lines
        .iter()
        .map(|l| l["faces"][0]["employeeId"].clone())
        .collect();
    assert_eq!(
        matched,
        [json!("E1"), json!("E1"), Value::Null, Value::Null],
        "{lines:#?}"
    );
    for line in &lines[..2] {
        assert!(
            line["faces"][0]["similarity"].as_f64().unwrap() > 0.6,
            "{line}"
        );
    }

    // Removing faces empties the gallery for that employee at once.
    let removed = server
        .gql(
            ADMIN_TOKEN,
            "mutation { removeFaces(employeeId: \"E1\") { faceCount } }",
            json!({}),
        )
        .await;
    assert_eq!(removed["removeFaces"]["faceCount"], 0);
    let line = &recognise(&db, &["obama2.jpg"], "default")[0];
    assert_eq!(line["faces"][0]["employeeId"], Value::Null, "{line}");
}

async fn enrol_from_the_command_line(backend: Backend) {
    let Some(db) = TestDb::create(backend, "enrol_from_the_command_line") else {
        return;
    };
    let server = TestServer::start(&db, &ServerOptions::default());
    server.create_employee("E1", "Barack Obama").await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["enroll", "--employee-id", "E1"])
        .args([
            photo_path("obama.jpg"),
            photo_path("astronaut.png").with_file_name("missing.jpg"),
        ])
        .env("HADIR_DATABASE_URL", &db.url)
        .env("HADIR_LOG", "warn")
        .output()
        .expect("hadir enroll");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "one photo is missing: {stderr}");
    assert!(
        stderr.contains("[1/2]") && stderr.contains("enrolled (face"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[2/2]") && stderr.contains("missing.jpg"),
        "{stderr}"
    );
    // The running server picks the new face up without a restart.
    let mut count = 0;
    for _ in 0..40 {
        count = server
            .gql(
                ADMIN_TOKEN,
                "{ employee(employeeId: \"E1\") { faceCount } }",
                json!({}),
            )
            .await["employee"]["faceCount"]
            .as_i64()
            .unwrap();
        if count == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(count, 1);
}

/// A server running the model set `models` with E1 enrolled from obama.jpg over GraphQL, and
/// its `aiStatus` message.
async fn enrolled_with(db: &TestDb, models: &str) -> (TestServer, String) {
    let options = ServerOptions {
        extra_env: vec![("HADIR_FACE_MODELS".into(), models.into())],
        ..Default::default()
    };
    let server = TestServer::start(db, &options);
    let status = server
        .gql(ADMIN_TOKEN, "{ aiStatus { state message } }", json!({}))
        .await;
    let message = status["aiStatus"]["message"].as_str().unwrap().to_owned();
    server.create_employee("E1", "Barack Obama").await;
    let (_, body) = upload(
        &server,
        ADMIN_TOKEN,
        ENROLL,
        "E1",
        "obama.jpg",
        photo("obama.jpg"),
    )
    .await;
    assert_eq!(body["data"]["enrollFace"]["faceCount"], 1, "{body}");
    (server, message)
}

async fn switching_models_asks_for_reenrolment(backend: Backend) {
    let Some(db) = TestDb::create(backend, "switching_models_asks_for_reenrolment") else {
        return;
    };
    let (mut server, message) = enrolled_with(&db, "insightface").await;
    assert!(
        message.contains("insightface") && message.contains("non-commercial"),
        "{message}"
    );
    server.kill();

    // The default models do not compare vectors made by another model: E1 has no face now.
    let server = TestServer::start(&db, &ServerOptions::default());
    let count = server
        .gql(
            ADMIN_TOKEN,
            "{ employee(employeeId: \"E1\") { faceCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["employee"]["faceCount"], 0);
    assert!(server.log().contains("re-enrol"), "{}", server.log());
}

async fn cuda_without_a_cuda_library_is_reported(backend: Backend) {
    let Some(db) = TestDb::create(backend, "cuda_without_a_cuda_library_is_reported") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: vec![("HADIR_EXECUTION_PROVIDER".into(), "cuda".into())],
            ..Default::default()
        },
    );
    // The server runs; the AI status says why recognition does not, and enrolment says so.
    let status = server
        .gql(
            ADMIN_TOKEN,
            "{ aiStatus { running state message } }",
            json!({}),
        )
        .await;
    assert_eq!(status["aiStatus"]["state"], "STOPPED", "{status}");
    assert_eq!(status["aiStatus"]["running"], false);
    let message = status["aiStatus"]["message"].as_str().unwrap();
    assert!(
        message.contains("CUDA") && message.contains("onnxruntime-gpu"),
        "{message}"
    );
    server.create_employee("E1", "Ann").await;
    let (_, body) = upload(
        &server,
        ADMIN_TOKEN,
        ENROLL,
        "E1",
        "obama.jpg",
        photo("obama.jpg"),
    )
    .await;
    let (code, message) = error_of(&body);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.contains("unavailable") && message.contains("CUDA"),
        "{message}"
    );
}

/// The `sface` set (MTCNN + OpenCV's SFace) end to end: enrolled over GraphQL in a server
/// running it, then `hadir recognize` with the same set names the other photos of that person
/// and nobody for strangers; no licence warning (its weights are Apache-2.0).
async fn the_sface_set_enrols_and_recognises(backend: Backend) {
    let Some(db) = TestDb::create(backend, "the_sface_set_enrols_and_recognises") else {
        return;
    };
    let (mut server, message) = enrolled_with(&db, "sface").await;
    assert!(!message.contains("non-commercial"), "{message}");
    server.kill();

    let lines = recognise(
        &db,
        &["obama2.jpg", "obama3.jpg", "biden.jpg", "grace_hopper.jpg"],
        "sface",
    );
    let matched: Vec<Value> = lines
        .iter()
        .map(|l| l["faces"][0]["employeeId"].clone())
        .collect();
    assert_eq!(
        matched,
        [json!("E1"), json!("E1"), Value::Null, Value::Null],
        "{lines:#?}"
    );
}

on_both_backends!(
    enrol_over_graphql_then_recognise,
    enrol_from_the_command_line,
    switching_models_asks_for_reenrolment,
    the_sface_set_enrols_and_recognises,
    cuda_without_a_cuda_library_is_reported,
);
