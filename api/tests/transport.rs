//! Transport and browser policy, against a real `hadir` process: HTTPS from a certificate
//! file (re-read when it changes, without a restart), CORS for configured origins only, and
//! bearer tokens in URLs only where configured.

mod common;

use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer, tls::make_certificate};

fn server_with(db: &TestDb, env: Vec<(String, String)>) -> TestServer {
    TestServer::start(
        db,
        &ServerOptions {
            extra_env: env,
            ..Default::default()
        },
    )
}

/// A client that trusts only the CA at `ca`.
fn trusting(ca: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_from_certificate_files_reloaded_on_change() {
    let db = TestDb::create(Backend::Sqlite, "https").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = make_certificate(dir.path(), "first");
    let (cert, key) = (dir.path().join("hadir.pem"), dir.path().join("hadir.key"));
    std::fs::copy(&first.cert, &cert).unwrap();
    std::fs::copy(&first.key, &key).unwrap();
    let server = server_with(
        &db,
        vec![
            ("HADIR_TLS_CERT_FILE".into(), cert.display().to_string()),
            ("HADIR_TLS_KEY_FILE".into(), key.display().to_string()),
        ],
    );
    let url = format!("https://{}/graphql", server.addr);
    let query = serde_json::json!({ "query": "{ me { role } }" });
    let answer: serde_json::Value = trusting(&first.ca)
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&query)
        .send()
        .await
        .expect("HTTPS with the first certificate")
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"]["me"]["role"], "ADMIN");
    // Plain HTTP on the TLS port gets nothing it can read as HTTP.
    let plain = server.http.get(server.url("/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // A renewed certificate (another CA, as after a re-issue): served without a restart.
    let second = make_certificate(dir.path(), "second");
    std::fs::copy(&second.key, &key).unwrap();
    std::fs::copy(&second.cert, &cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reloaded = trusting(&second.ca)
            .get(format!("https://{}/healthz", server.addr))
            .send()
            .await;
        if reloaded.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served within 30 s:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(server.log().contains("TLS certificate reloaded"));

    // A broken replacement is refused and the last good one kept.
    std::fs::write(&cert, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let still = trusting(&second.ca)
        .get(format!("https://{}/healthz", server.addr))
        .send()
        .await
        .expect("the previous certificate is still served");
    assert!(still.status().is_success());
    assert!(server.log().contains("keeping the previous one"));
}

/// A CORS preflight from `origin`: the `Access-Control-Allow-Origin` it gets, if any.
async fn preflight(server: &TestServer, origin: &str) -> Option<String> {
    let response = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn browsers_of_other_origins_only_where_configured() {
    let db = TestDb::create(Backend::Sqlite, "cors_default").unwrap();
    let server = server_with(&db, Vec::new());
    assert_eq!(
        preflight(&server, "http://evil.example").await,
        None,
        "same origin only by default"
    );
    drop(server);
    let db = TestDb::create(Backend::Sqlite, "cors_listed").unwrap();
    let server = server_with(
        &db,
        vec![(
            "HADIR_CORS_ORIGINS".into(),
            "https://hr.example.com, http://10.0.0.9:3000".into(),
        )],
    );
    assert_eq!(
        preflight(&server, "https://hr.example.com")
            .await
            .as_deref(),
        Some("https://hr.example.com")
    );
    assert_eq!(preflight(&server, "http://evil.example").await, None);
    drop(server);
    // A malformed origin stops the start with the setting named.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .arg("serve")
        .env("HADIR_CORS_ORIGINS", "hr.example.com/path")
        .env("HADIR_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cors_origins"), "{stderr}");
}

#[tokio::test]
async fn tokens_in_urls_only_where_configured() {
    let db = TestDb::create(Backend::Sqlite, "query_token_off").unwrap();
    let server = server_with(&db, Vec::new());
    let metrics = |server: &TestServer| {
        server
            .http
            .get(server.url(&format!("/metrics?token={ADMIN_TOKEN}")))
            .send()
    };
    let refused = metrics(&server).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("query_token"));
    drop(server);
    let db = TestDb::create(Backend::Sqlite, "query_token_on").unwrap();
    let server = server_with(&db, vec![("HADIR_QUERY_TOKEN".into(), "true".into())]);
    assert_eq!(metrics(&server).await.unwrap().status(), 200);
}
