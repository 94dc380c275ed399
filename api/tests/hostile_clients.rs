//! Clients that attack or misbehave, against a real `hadir` process: requests without a
//! token that try to make the server read, parse or store something, bodies and queries
//! past their limits, slow and idle connections, connection floods, guessed tokens, and
//! WebSocket abuse. Each is refused with a clear answer and leaves the server serving.

mod common;

use std::time::{Duration, Instant};

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer, create_token, first_error,
    raw::{Ended, RawSocket, exchange, open_files, read_answer},
};
use serde_json::json;
use tokio::io::AsyncWriteExt;

fn server_with(env: &[(&str, &str)]) -> (TestDb, TestServer) {
    let db = TestDb::create(Backend::Sqlite, "hostile_clients").expect("SQLite");
    let server = TestServer::start(
        &db,
        &ServerOptions {
            extra_env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        },
    );
    (db, server)
}

/// The head of a POST to /graphql.
fn post_head(addr: &str, token: Option<&str>, content_type: &str, length: usize) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

async fn healthy(server: &TestServer) {
    let response = server
        .http
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn requests_without_a_token_are_refused_before_their_body() {
    let (_db, server) = server_with(&[]);
    let pid = server.child.id();
    let files_before = open_files(pid);

    // The headers alone of a 2 MB multipart upload: refused at once, body never awaited.
    let started = Instant::now();
    let head = post_head(
        &server.addr,
        None,
        "multipart/form-data; boundary=x",
        2_000_000,
    );
    let answer = exchange(&server.addr, head.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), 401, "{}", answer.text);
    assert_eq!(
        answer.json()["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // The finding: 20,000 tiny file parts and a body never finished, from 20 connections.
    let mut parts = String::new();
    for i in 0..20_000 {
        parts.push_str(&format!(
            "--x\r\nContent-Disposition: form-data; name=\"{i}\"; filename=\"f\"\r\n\r\nz\r\n"
        ));
    }
    let mut floods = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        let head = post_head(
            &server.addr,
            None,
            "multipart/form-data; boundary=x",
            parts.len() + 1_000,
        );
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(parts.as_bytes()).await;
        floods.push(stream);
    }
    healthy(&server).await;
    let files_during = open_files(pid);
    assert!(
        files_during < files_before + 100,
        "no file per part: {files_before} open files before, {files_during} during the flood"
    );
    for mut stream in floods {
        let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
        assert_eq!(answer.status(), 401, "{}", answer.text);
    }

    // 900,000 `__typename` aliases without a token: refused, nothing parsed.
    let mut query = String::from("{");
    for i in 0..900_000 {
        query.push_str(&format!(" a{i}: __typename"));
    }
    query.push('}');
    let body = json!({ "query": query }).to_string();
    let mut stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let head = post_head(&server.addr, None, "application/json", body.len());
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body.as_bytes()[..1_000_000]).await;
    let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
    // Unauthenticated (401), or past max_request_bytes (413): either way nothing parsed.
    assert!(
        [401, 413].contains(&answer.status()),
        "refused: {}",
        answer.text
    );
    healthy(&server).await;
    // With a token, 200 KB is over max_json_bytes: refused by its Content-Length.
    let head = post_head(&server.addr, Some(ADMIN_TOKEN), "application/json", 200_000);
    let answer = exchange(&server.addr, head.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), 413, "{}", answer.text);
    let message = answer.json()["errors"][0]["message"].to_string();
    assert!(message.contains("max_json_bytes"), "{message}");
    healthy(&server).await;
}

#[tokio::test]
async fn queries_are_measured_before_they_run() {
    let (_db, server) = server_with(&[]);
    // Aliases and __typename count: 3,500 of them fit in 64 KiB but not in the limit.
    let mut query = String::from("{");
    for i in 0..3_500 {
        query.push_str(&format!(" a{i}:__typename"));
    }
    query.push('}');
    let (code, message) = server.gql_error(Some(ADMIN_TOKEN), &query, json!({})).await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
    assert!(message.contains("too complex"), "{message}");

    // Fragments that expand to 2^40 fields (walked expanded, they would take days), and a
    // fragment cycle.
    let mut bomb = String::from("{ ...F0 }");
    for level in 0..40 {
        bomb.push_str(&format!(
            " fragment F{level} on QueryRoot {{ ...F{n} ...F{n} }}",
            n = level + 1
        ));
    }
    bomb.push_str(" fragment F40 on QueryRoot { __typename }");
    let (code, message) = server.gql_error(Some(ADMIN_TOKEN), &bomb, json!({})).await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
    assert!(message.contains("1099511627776"), "{message}");
    let cycle = "{ ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }";
    let (_, message) = server.gql_error(Some(ADMIN_TOKEN), cycle, json!({})).await;
    assert!(message.contains("fragment cycle"), "{message}");

    // Nesting past the parser's recursion limit, in the query and in the variables: a
    // clear error, the server unharmed.
    let deep = format!("{{{}b{}}}", "a{".repeat(20_000), "}".repeat(20_000));
    let (code, _) = server.gql_error(Some(ADMIN_TOKEN), &deep, json!({})).await;
    assert_eq!(code, "GRAPHQL_PARSE_FAILED");
    let mut nested = json!(1);
    for _ in 0..200 {
        nested = json!([nested]);
    }
    let (status, body) = server
        .post_json(
            Some(ADMIN_TOKEN),
            &json!({ "query": "{ serverTime }", "variables": { "v": nested } }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(first_error(&body).contains("recursion limit"), "{body}");

    // Batches: a small one runs, one over max_batch_operations is refused whole.
    let batch = |n: usize| {
        json!(
            (0..n)
                .map(|_| json!({ "query": "{ serverTime }" }))
                .collect::<Vec<_>>()
        )
    };
    let (_, answers) = server.post_json(Some(ADMIN_TOKEN), &batch(2)).await;
    assert_eq!(answers.as_array().map(Vec::len), Some(2), "{answers}");
    let (status, body) = server.post_json(Some(ADMIN_TOKEN), &batch(11)).await;
    assert_eq!(status, 400);
    assert!(
        first_error(&body).contains("max_batch_operations"),
        "{body}"
    );

    // Malformed JSON: a clear GraphQL error, not Rust debug text.
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("not a GraphQL request in JSON"),
        "{message}"
    );

    // Uploads: not for viewers, and one file at most.
    let viewer = create_token(&server, "VIEWER").await;
    let operations = json!({ "query": "mutation($p: Upload!) { enrollFace(employeeId: \"E1\", photo: $p) { employeeId } }", "variables": { "p": null } });
    let form = |map: serde_json::Value, files: usize| {
        let mut form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", map.to_string());
        for i in 0..files {
            form = form.part(
                i.to_string(),
                reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("p.jpg"),
            );
        }
        form
    };
    let send = |token: String, form: reqwest::multipart::Form| {
        let request = server
            .http
            .post(server.url("/graphql"))
            .bearer_auth(token)
            .multipart(form);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = send(viewer, form(json!({ "0": ["variables.p"] }), 1)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let (status, body) = send(
        ADMIN_TOKEN.to_owned(),
        form(json!({ "0": ["variables.p"], "1": ["variables.p"] }), 2),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(first_error(&body).contains("max_upload_files"), "{body}");
    let (status, body) = send(
        ADMIN_TOKEN.to_owned(),
        form(json!({ "0": ["variables.p"] }), 0),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(first_error(&body).contains("does not hold"), "{body}");
    healthy(&server).await;
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off() {
    let (_db, server) = server_with(&[
        ("HADIR_HEADER_READ_TIMEOUT_SECS", "2"),
        ("HADIR_REQUEST_TIMEOUT_SECS", "2"),
    ]);
    // An idle connection, and one that sends half a request head: both closed.
    let mut idle = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let mut half_head = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    half_head
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthoriza")
        .await
        .unwrap();
    // A body that never finishes, from an authenticated client: 408 after the timeout.
    let mut half_body = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let head = post_head(&server.addr, Some(ADMIN_TOKEN), "application/json", 1_000);
    half_body.write_all(head.as_bytes()).await.unwrap();
    half_body.write_all(b"{\"query\": \"{ ").await.unwrap();
    let (idle, half_head, half_body) = tokio::join!(
        read_answer(&mut idle, Duration::from_secs(10)),
        read_answer(&mut half_head, Duration::from_secs(10)),
        read_answer(&mut half_body, Duration::from_secs(10)),
    );
    assert!(idle.closed, "an idle connection is closed");
    assert!(half_head.closed, "a half-sent head is closed");
    assert_eq!(half_body.status(), 408, "{}", half_body.text);
    assert_eq!(
        half_body.json()["errors"][0]["extensions"]["code"],
        "REQUEST_TIMEOUT"
    );
    healthy(&server).await;
}

#[tokio::test]
async fn connections_over_the_limit_get_a_clear_refusal() {
    let (_db, server) = server_with(&[
        ("HADIR_MAX_CONNECTIONS", "8"),
        ("HADIR_HEADER_READ_TIMEOUT_SECS", "3"),
    ]);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tokio::net::TcpStream::connect(&server.addr).await.unwrap());
    }
    // Give the server a moment to take them all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = exchange(
        &server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(answer.status(), 503, "{}", answer.text);
    assert!(answer.text.contains("max_connections"), "{}", answer.text);
    assert!(answer.closed);
    // Once the idle ones are closed by the header timeout, there is room again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    healthy(&server).await;
    let metrics = server.metrics().await;
    assert!(
        metrics.value("hadir_http_connections_total{result=\"refused\"}") >= 1.0,
        "refusals are counted"
    );
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
    let (_db, server) = server_with(&[
        ("HADIR_AUTH_FAILURES_PER_MINUTE", "5"),
        ("HADIR_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    let ask = |token: &'static str, forwarded: &'static str| {
        let request = server
            .http
            .post(server.url("/graphql"))
            .bearer_auth(token)
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "query": "{ serverTime }" }));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (status, retry)
        }
    };
    for _ in 0..5 {
        assert_eq!(ask("guess", "203.0.113.7").await.0, 401);
    }
    let (status, retry) = ask("guess", "203.0.113.7").await;
    assert_eq!(status, 429);
    assert!(retry.is_some(), "Retry-After is sent");
    // While blocked, the address is refused before its token is looked at.
    assert_eq!(ask(ADMIN_TOKEN, "203.0.113.7").await.0, 429);
    // Another client behind the same proxy is not.
    assert_eq!(ask("guess", "203.0.113.8").await.0, 401);
    assert_eq!(ask(ADMIN_TOKEN, "203.0.113.8").await.0, 200);
    // Without the proxy setting, X-Forwarded-For is not believed: see
    // server::client::tests for the rules.
}

#[tokio::test]
async fn websocket_abuse_is_closed_clearly() {
    let (_db, server) = server_with(&[]);
    // No connection_init: closed after the initialisation timeout (10 s).
    let mut silent = RawSocket::connect(&server, "graphql-transport-ws").await;
    // Two inits.
    let mut double = RawSocket::open(&server, ADMIN_TOKEN).await;
    double.init(ADMIN_TOKEN).await;
    assert_eq!(double.close_code().await, 4429);
    // Not JSON, and binary that is not text.
    let mut garbage = RawSocket::open(&server, ADMIN_TOKEN).await;
    garbage.send_text("\u{1}\u{2}not json").await;
    assert_eq!(garbage.close_code().await, 4400);
    let mut binary = RawSocket::open(&server, ADMIN_TOKEN).await;
    binary.send_binary(vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(binary.close_code().await, 4400);
    // A message over max_json_bytes.
    let mut huge = RawSocket::open(&server, ADMIN_TOKEN).await;
    huge.send_text(&"x".repeat(100 * 1024)).await;
    let ended = huge.ended(Duration::from_secs(5)).await;
    assert!(
        matches!(ended, Some(Ended::Closed(1009, _)) | Some(Ended::Dropped)),
        "{ended:?}"
    );
    // More than 100 subscriptions on one socket.
    let mut greedy = RawSocket::open(&server, ADMIN_TOKEN).await;
    for i in 0..101 {
        greedy
            .send(json!({ "id": i.to_string(), "type": "subscribe", "payload": { "query": "subscription { serverTime }" } }))
            .await;
    }
    match greedy.ended(Duration::from_secs(10)).await {
        Some(Ended::Closed(4400, reason)) => assert!(reason.contains("too many"), "{reason}"),
        other => panic!("closed for too many subscriptions expected: {other:?}"),
    }
    // A wrong token in connection_init.
    let mut wrong = RawSocket::connect(&server, "graphql-transport-ws").await;
    wrong.init("not-a-token").await;
    assert_eq!(wrong.close_code().await, 4403);
    // A client that never reads: the server keeps serving others.
    let mut deaf = RawSocket::open(&server, ADMIN_TOKEN).await;
    for i in 0..20 {
        deaf.send(json!({ "id": format!("d{i}"), "type": "subscribe", "payload": { "query": "subscription { serverTime }" } }))
            .await;
    }
    healthy(&server).await;
    match silent.ended(Duration::from_secs(15)).await {
        Some(Ended::Closed(4408, _)) => {}
        other => panic!("4408 expected for a socket that never initialised: {other:?}"),
    }
    drop(deaf);
    healthy(&server).await;
}

#[tokio::test]
async fn revoked_tokens_lose_their_sockets_within_a_second() {
    let (db, server) = server_with(&[]);
    let viewer = create_token(&server, "VIEWER").await;
    let second = create_token(&server, "VIEWER").await;
    let tokens = server
        .gql(ADMIN_TOKEN, "{ apiTokens { id name } }", json!({}))
        .await;
    let ids: Vec<String> = tokens["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let mut socket = RawSocket::open(&server, &viewer).await;
    socket
        .send(json!({ "id": "t", "type": "subscribe", "payload": { "query": "subscription { serverTime }" } }))
        .await;
    assert_eq!(socket.next().await["type"], "next");
    // Revoked through the API: closed with 4403 at once.
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($id: ID!) { revokeApiToken(id: $id) }",
            json!({ "id": ids[ids.len() - 2] }),
        )
        .await;
    let started = Instant::now();
    match socket.ended(Duration::from_secs(3)).await {
        Some(Ended::Closed(4403, reason)) => assert!(reason.contains("revoked"), "{reason}"),
        other => panic!("4403 expected: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));

    // Revoked by another process (`hadir token revoke`): closed within about a second.
    let mut socket = RawSocket::open(&server, &second).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadir"))
        .args(["token", "revoke", &ids[ids.len() - 1]])
        .env("HADIR_DATABASE_URL", &db.url)
        .current_dir(db.dir.path())
        .output()
        .expect("hadir token revoke");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    match socket.ended(Duration::from_secs(3)).await {
        Some(Ended::Closed(4403, _)) => {}
        other => panic!("4403 expected: {other:?}"),
    }
    // A socket whose token goes away cannot start anything either (checked per operation).
    let mut fresh = RawSocket::connect(&server, "graphql-transport-ws").await;
    fresh.init(&second).await;
    assert_eq!(fresh.close_code().await, 4403);
}
