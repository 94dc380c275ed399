//! Bodies read as a client sends them: JSON within its cap, uploads for admins only,
//! every malformed multipart part named.

use std::time::Duration;

use axum::http::StatusCode;

use super::{multipart::argument_of, *};

fn limits() -> BodyLimits {
    BodyLimits {
        max_json_bytes: 1024,
        max_multipart_bytes: 64 * 1024,
        max_files: 1,
        max_import_files: 3,
        max_file_bytes: 16 * 1024,
        max_batch: 3,
        timeout: Duration::from_secs(5),
    }
}

fn multipart_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "multipart/form-data; boundary=X".parse().unwrap(),
    );
    headers
}

fn part(name: &str, filename: Option<&str>, body: &str) -> String {
    let filename = filename
        .map(|f| format!("; filename=\"{f}\""))
        .unwrap_or_default();
    format!("--X\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{body}\r\n")
}

const OPERATIONS: &str = r#"{"query":"mutation($p: Upload!) { enrollFace(employeeId: \"E1\", photo: $p) { employeeId } }","variables":{"p":null}}"#;

async fn read_multipart_body(body: String, role: Role) -> Result<BatchRequest, BodyError> {
    read(&multipart_headers(), Body::from(body), role, &limits()).await
}

#[tokio::test]
async fn json_bodies_are_capped_and_explained() {
    let ok = read(
        &HeaderMap::new(),
        Body::from(r#"{"query":"{ a }"}"#),
        Role::Viewer,
        &limits(),
    )
    .await;
    assert!(matches!(ok, Ok(BatchRequest::Single(_))));
    let big = format!(r#"{{"query":"{{ {} }}"}}"#, "a ".repeat(1000));
    let error = read(&HeaderMap::new(), Body::from(big), Role::Admin, &limits())
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error.to_string().contains("max_json_bytes"), "{error}");
    let error = read(
        &HeaderMap::new(),
        Body::from("{\"query\": "),
        Role::Admin,
        &limits(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, BodyError::Malformed(m) if m.contains("not a GraphQL request in JSON")),
        "{error}"
    );
    let batch = format!("[{}]", [r#"{"query":"{ a }"}"#; 4].join(","));
    let error = read(&HeaderMap::new(), Body::from(batch), Role::Admin, &limits())
        .await
        .unwrap_err();
    assert_eq!(error, BodyError::BatchTooLarge(3));
}

#[tokio::test]
async fn one_upload_reaches_the_operation() {
    let body = format!(
        "{}{}{}--X--\r\n",
        part("operations", None, OPERATIONS),
        part("map", None, r#"{"0":["variables.p"]}"#),
        part("0", Some("a.jpg"), "JPEGBYTES"),
    );
    let Ok(BatchRequest::Single(request)) = read_multipart_body(body, Role::Admin).await else {
        panic!("one operation expected")
    };
    assert_eq!(request.uploads.len(), 1);
    assert_eq!(&request.uploads[0].content[..], b"JPEGBYTES");
}

#[tokio::test]
async fn uploads_are_for_admins_and_capped() {
    let body = format!(
        "{}{}{}--X--\r\n",
        part("operations", None, OPERATIONS),
        part("map", None, r#"{"0":["variables.p"]}"#),
        part("0", Some("a.jpg"), "x"),
    );
    assert_eq!(
        read_multipart_body(body, Role::Viewer).await.unwrap_err(),
        BodyError::UploadsForbidden
    );
    // Two files where one is allowed: refused at the map, before any file is read.
    let body = format!(
        "{}{}{}{}--X--\r\n",
        part("operations", None, OPERATIONS),
        part("map", None, r#"{"0":["variables.p"],"1":["variables.p"]}"#),
        part("0", Some("a.jpg"), "x"),
        part("1", Some("b.jpg"), "y"),
    );
    assert_eq!(
        read_multipart_body(body, Role::Admin).await.unwrap_err(),
        BodyError::TooManyFiles(1)
    );
    // One importEmployees mutation may upload its CSV and photos (3 files here), no more;
    // the same files beside another field, or in a batch, are held to max_upload_files.
    let import = |query: &str, files: usize| {
        let operations = serde_json::json!({
            "query": query,
            "variables": { "c": null, "p": vec![serde_json::Value::Null; files - 1] },
        });
        let mut map = serde_json::Map::new();
        map.insert("0".into(), serde_json::json!(["variables.c"]));
        for n in 1..files {
            map.insert(
                n.to_string(),
                serde_json::json!([format!("variables.p.{}", n - 1)]),
            );
        }
        let mut body = part("operations", None, &operations.to_string())
            + &part("map", None, &serde_json::Value::Object(map).to_string());
        for n in 0..files {
            body.push_str(&part(&n.to_string(), Some(&format!("{n}.jpg")), "x"));
        }
        body + "--X--\r\n"
    };
    let only_import =
        "mutation($c: Upload!, $p: [Upload!]) { importEmployees(csv: $c, photos: $p) { rows } }";
    assert!(
        read_multipart_body(import(only_import, 3), Role::Admin)
            .await
            .is_ok()
    );
    assert_eq!(
        read_multipart_body(import(only_import, 4), Role::Admin)
            .await
            .unwrap_err(),
        BodyError::TooManyFiles(1)
    );
    let and_more = "mutation($c: Upload!, $p: [Upload!]) { importEmployees(csv: $c, photos: $p) { rows } deleteEmployee(employeeId: \"E1\") }";
    assert_eq!(
        read_multipart_body(import(and_more, 2), Role::Admin)
            .await
            .unwrap_err(),
        BodyError::TooManyFiles(1)
    );
    let query =
        "query($c: Upload!, $p: [Upload!]) { importEmployees(csv: $c, photos: $p) { rows } }";
    assert_eq!(
        read_multipart_body(import(query, 2), Role::Admin)
            .await
            .unwrap_err(),
        BodyError::TooManyFiles(1)
    );
    // Hundreds of parts nobody asked for: refused at the first.
    let mut body = format!(
        "{}{}",
        part("operations", None, OPERATIONS),
        part("map", None, r#"{"0":["variables.p"]}"#),
    );
    for i in 0..500 {
        body.push_str(&part(&format!("f{i}"), Some("f"), "z"));
    }
    let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
    assert!(
        matches!(&error, BodyError::Malformed(m) if m.contains("unexpected multipart part \"f0\"")),
        "{error}"
    );
    // A file over the limit.
    let body = format!(
        "{}{}{}--X--\r\n",
        part("operations", None, OPERATIONS),
        part("map", None, r#"{"0":["variables.p"]}"#),
        part("0", Some("a.jpg"), &"x".repeat(20 * 1024)),
    );
    let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
    assert_eq!(
        error,
        BodyError::FileTooLarge {
            field: "p".into(),
            limit: 16 * 1024
        }
    );
    assert!(
        error.to_string().starts_with("p: the file is larger"),
        "{error}"
    );
    assert_eq!(argument_of("0.variables.photos.2"), "photos");
    // A map naming a file that never comes, and parts out of order.
    let body = format!(
        "{}{}--X--\r\n",
        part("operations", None, OPERATIONS),
        part("map", None, r#"{"0":["variables.p"]}"#),
    );
    let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
    assert!(
        matches!(&error, BodyError::Malformed(m) if m.contains("does not hold")),
        "{error}"
    );
    let body = format!(
        "{}{}--X--\r\n",
        part("map", None, r#"{"0":["variables.p"]}"#),
        part("operations", None, OPERATIONS),
    );
    let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
    assert!(
        matches!(&error, BodyError::Malformed(m) if m.contains("expected operations")),
        "{error}"
    );
}
