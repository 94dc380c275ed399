//! GraphQL over HTTP and WebSocket as the specifications and the standard clients expect it,
//! against a real `hadir` process: the answer's media type and status, bodies that are not
//! JSON, `GET` queries (and refused `GET` mutations), graphql-js's standard introspection
//! query beside the bounds on introspection, automatic persisted queries, and the
//! graphql-transport-ws messages before `connection_init`. The clients themselves (the
//! graphql-http audits, urql, Apollo Client) are in `client-examples/tests/conformance.test.mjs`.
//!
//! Length: one test per part of the specifications, each reading the exact statuses, media
//! types and messages a client sees; they share one helper each for POST and GET.

mod common;

use std::time::Duration;

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    raw::{Ended, RawSocket},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// graphql-js's `getIntrospectionQuery()` with every option.
const STANDARD_INTROSPECTION: &str = include_str!("common/introspection_query.graphql");

fn server() -> (TestDb, TestServer) {
    let db = TestDb::create(Backend::Sqlite, "conformance").expect("SQLite");
    let server = TestServer::start(&db, &ServerOptions::default());
    (db, server)
}

/// A POST with its content type and Accept; status, Content-Type and body (JSON).
async fn post(
    server: &TestServer,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut request = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(ADMIN_TOKEN)
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    answer(request.send().await.expect("POST /graphql")).await
}

async fn answer(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not a JSON body ({e}): {status} {text:?}"));
    (status, content_type, body)
}

/// A GET with `parameters` (already encoded) and the admin token unless `token` is false.
async fn get(server: &TestServer, parameters: &str, token: bool) -> (u16, String, Value) {
    let mut request = server
        .http
        .get(server.url(&format!("/graphql?{parameters}")));
    if token {
        request = request.bearer_auth(ADMIN_TOKEN);
    }
    answer(request.send().await.expect("GET /graphql")).await
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[tokio::test]
async fn answers_follow_the_graphql_over_http_specification() {
    let (_db, server) = server();
    let query = r#"{"query": "{ presenceSummary { total } }"}"#;
    // The media type the client accepts; application/json without Accept.
    for (accept, expected) in [
        (None, JSON),
        (Some("application/json"), JSON),
        (Some("*/*"), JSON),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let (status, content_type, body) = post(&server, Some(JSON), accept, query).await;
        assert_eq!(status, 200, "{accept:?}: {body}");
        assert!(
            content_type.starts_with(expected),
            "{accept:?}: {content_type}"
        );
        assert!(
            body["data"]["presenceSummary"]["total"].is_number(),
            "{body}"
        );
    }
    let (status, _, body) = post(&server, Some(JSON), Some("text/html"), query).await;
    assert_eq!((status, code(&body)), (406, "NOT_ACCEPTABLE"), "{body}");

    // Request errors: no data; 400 in application/graphql-response+json, 200 in JSON.
    for (document, expected) in [
        ("{ presenceSummary { total }", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ] {
        let body = json!({ "query": document }).to_string();
        let (status, _, answer) = post(&server, Some(JSON), Some(GRAPHQL_RESPONSE), &body).await;
        assert_eq!((status, code(&answer)), (400, expected), "{answer}");
        assert!(answer.get("data").is_none(), "{answer}");
        let (status, _, answer) = post(&server, Some(JSON), Some(JSON), &body).await;
        assert_eq!((status, code(&answer)), (200, expected), "{answer}");
        assert!(answer.get("data").is_none(), "{answer}");
    }
    // Variables that do not coerce are a request error too.
    let body = json!({ "query": "query($id: ID!) { employee(employeeId: $id) { name } }",
                       "variables": { "id": [1, 2] } })
    .to_string();
    let (status, _, answer) = post(&server, Some(JSON), Some(GRAPHQL_RESPONSE), &body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.get("data").is_none(), "{answer}");

    // Bodies that are not GraphQL JSON: a GraphQL error naming what is wrong, never Rust text.
    let (status, _, answer) = post(&server, None, None, query).await;
    assert_eq!(status, 415, "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no Content-Type")),
        "{answer}"
    );
    let (status, _, answer) = post(&server, Some("text/plain"), None, query).await;
    assert_eq!(status, 415, "{answer}");
    let malformed = [
        (r#"{"query": "#, "EOF while parsing"),
        (
            r#"[{"query": "{ serverTime }"}, 5]"#,
            "not a GraphQL request",
        ),
        (r#"{"variables": {}}"#, "has no query"),
    ];
    for (body, needle) in malformed {
        let (status, content_type, answer) = post(&server, Some(JSON), None, body).await;
        assert_eq!(
            (status, code(&answer)),
            (400, "BAD_REQUEST"),
            "{body}: {answer}"
        );
        assert!(content_type.starts_with(JSON), "{content_type}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {message}");
        assert!(!message.contains("InvalidRequest("), "{message}");
        assert!(answer.get("data").is_none(), "{answer}");
    }
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let (_db, server) = server();
    let parameters: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "query",
            "query Q($id: ID!) { employee(employeeId: $id) { name } presenceSummary { total } }",
        )
        .append_pair("variables", r#"{"id": "nobody"}"#)
        .append_pair("operationName", "Q")
        .finish();
    let (status, _, body) = get(&server, &parameters, true).await;
    assert_eq!(body["data"]["employee"], Value::Null, "{body}");
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["presenceSummary"]["total"].is_number(),
        "{body}"
    );
    // The same token as POST.
    let (status, _, body) = get(&server, "query=%7B%20serverTime%20%7D", false).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    // Mutations only with POST: 405, Allow: POST, nothing done.
    let mutation = "query=mutation%20%7B%20markAllNotificationsRead%20%7D";
    let response = server
        .http
        .get(server.url(&format!("/graphql?{mutation}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("send mutations with POST")),
        "{body}"
    );
    let (status, _, body) = get(&server, "query=%7B%20serverTime%20%7D&variables=%7B", true).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body}");
    // Other methods: 405 with what /graphql takes.
    let response = server
        .http
        .put(server.url("/graphql"))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn the_standard_introspection_query_is_answered_and_amplification_is_not() {
    let (_db, server) = server();
    let body = json!({ "query": STANDARD_INTROSPECTION }).to_string();
    let (status, _, answer) = post(&server, Some(JSON), Some(GRAPHQL_RESPONSE), &body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "{answer}");
    let schema = &answer["data"]["__schema"];
    assert_eq!(schema["description"], Value::Null);
    let date_time = schema["types"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == "DateTime"))
        .expect("DateTime");
    assert_eq!(
        date_time["specifiedByURL"],
        "https://scalars.graphql.org/andimarek/date-time"
    );
    // Type lists nested three times (each level multiplies the answer): refused.
    let amplifying = "{ __type(name: \"QueryRoot\") { fields { type { fields { type { fields { name } } } } } } }";
    let (status, _, answer) = post(
        &server,
        Some(JSON),
        Some(GRAPHQL_RESPONSE),
        &json!({ "query": amplifying }).to_string(),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (400, "GRAPHQL_VALIDATION_FAILED"),
        "{answer}"
    );
    // Within those rules, aliases of __schema: the fields resolved are counted, and past
    // the bound the answer is one error and no more.
    let one = "types { fields { name type { name fields { name type { name kind } } } } }";
    let aliases: String = (0..40)
        .map(|i| format!("s{i}: __schema {{ {one} }} "))
        .collect();
    let response = server
        .http
        .post(server.url("/graphql"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "query": format!("{{ {aliases} }}") }))
        .send()
        .await
        .expect("POST /graphql");
    let text = response.text().await.expect("a body");
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    let errors = answer["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{}", &text[..text.len().min(2000)]);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("more than 50000 fields")),
        "{}",
        errors[0]
    );
    assert!(text.len() < 2_000_000, "{} bytes", text.len());
    // And the ordinary depth limit still holds for ordinary fields.
    let mut deep = String::from("name");
    for _ in 0..13 {
        deep = format!("employee {{ {deep} }}");
    }
    let (_, _, answer) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "query": format!("{{ notifications {{ nodes {{ {deep} }} }} }}") }).to_string(),
    )
    .await;
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("query_depth_limit"), "{answer}");
}

#[tokio::test]
async fn automatic_persisted_queries_register_and_run() {
    let (_db, server) = server();
    let query = "{ presenceSummary { total } }";
    let hash = hex::encode(Sha256::digest(query));
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    // A hash nobody registered: Apollo's error, so the client sends the text.
    let (status, _, body) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "extensions": extensions }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // The hash with its text runs and registers it; then the hash alone runs, over GET too.
    let (_, _, body) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "query": query, "extensions": extensions }).to_string(),
    )
    .await;
    assert!(
        body["data"]["presenceSummary"]["total"].is_number(),
        "{body}"
    );
    let (_, _, body) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "extensions": extensions }).to_string(),
    )
    .await;
    assert!(
        body["data"]["presenceSummary"]["total"].is_number(),
        "{body}"
    );
    let encoded: String =
        url::form_urlencoded::byte_serialize(extensions.to_string().as_bytes()).collect();
    let (status, _, body) = get(&server, &format!("extensions={encoded}"), true).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["presenceSummary"]["total"].is_number(),
        "{body}"
    );
    // A hash that is not the text's: refused, nothing registered under it.
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
    let (_, _, body) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "query": query, "extensions": wrong }).to_string(),
    )
    .await;
    assert_eq!(code(&body), "BAD_REQUEST", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("provided sha does not match query")),
        "{body}"
    );
    let (_, _, body) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "extensions": wrong }).to_string(),
    )
    .await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    // A registered mutation is still refused over GET.
    let mutation = "mutation { markAllNotificationsRead }";
    let mutation_hash = hex::encode(Sha256::digest(mutation));
    let registering = json!({ "persistedQuery": { "version": 1, "sha256Hash": mutation_hash } });
    let (_, _, body) = post(
        &server,
        Some(JSON),
        None,
        &json!({ "query": mutation, "extensions": registering }).to_string(),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let encoded: String =
        url::form_urlencoded::byte_serialize(registering.to_string().as_bytes()).collect();
    let (status, _, _) = get(&server, &format!("extensions={encoded}"), true).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn graphql_transport_ws_before_and_after_connection_init() {
    let (_db, server) = server();
    // A ping before connection_init is answered; the socket then starts as usual.
    let mut socket = RawSocket::connect(&server, "graphql-transport-ws").await;
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.next().await, json!({ "type": "pong" }));
    socket.send(json!({ "type": "pong" })).await;
    socket.init(ADMIN_TOKEN).await;
    assert_eq!(socket.next().await["type"], "connection_ack");

    // A subscription that does not parse, or does not validate: `error`, not `next`.
    for (id, query, code) in [
        (
            "bad-parse",
            "subscription { serverTime",
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "bad-field",
            "subscription { noSuchField }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("bad-query", "{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ] {
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
        let message = socket.next().await;
        assert_eq!(message["type"], "error", "{query}: {message}");
        assert_eq!(message["id"], id);
        assert_eq!(
            message["payload"][0]["extensions"]["code"], code,
            "{message}"
        );
    }
    // The socket still serves.
    socket
        .send(json!({ "id": "ok", "type": "subscribe", "payload": { "query": "{ presenceSummary { total } }" } }))
        .await;
    let message = socket.next().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(socket.next().await["type"], "complete");

    // Something that is not JSON before connection_init: 4400, saying so.
    let mut socket = RawSocket::connect(&server, "graphql-transport-ws").await;
    socket.send_text("hello?").await;
    assert_eq!(
        socket.ended(Duration::from_secs(5)).await,
        Some(Ended::Closed(4400, "invalid message: not JSON".into()))
    );
}
