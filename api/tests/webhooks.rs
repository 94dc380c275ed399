//! Webhooks end to end: a real `hadir` POSTs to a receiver of the test's own on 127.0.0.1,
//! which refuses the first delivery (to be retried) and checks every signature; a second
//! webhook whose receiver is down holds nothing up.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use common::{ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const SECRET: &str = "webhook-test-secret";

/// A delivery as received.
struct Received {
    event: String,
    delivery: String,
    signature: String,
    timestamp: String,
    body: Vec<u8>,
    accepted: bool,
}

#[derive(Clone)]
struct Receiver {
    seen: mpsc::UnboundedSender<Received>,
    requests: Arc<AtomicUsize>,
}

/// Answers 500 to the first request, 204 to the others.
async fn hook(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let accepted = receiver.requests.fetch_add(1, Ordering::SeqCst) > 0;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let _ = receiver.seen.send(Received {
        event: header("x-hadir-event"),
        delivery: header("x-hadir-delivery"),
        signature: header("x-hadir-signature"),
        timestamp: header("x-hadir-timestamp"),
        body: body.to_vec(),
        accepted,
    });
    if accepted {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn next_delivery(deliveries: &mut mpsc::UnboundedReceiver<Received>) -> (Received, Value) {
    let received = tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
        .await
        .expect("a delivery within 20 s")
        .expect("the receiver runs");
    // The receiver's check, as the README documents it: HMAC of "{timestamp}.{body}", and a
    // timestamp close to its own clock (a replayed delivery is refused).
    let timestamp: i64 = received.timestamp.parse().expect("X-Hadir-Timestamp");
    assert!(
        (chrono::Utc::now().timestamp() - timestamp).abs() <= 300,
        "a fresh timestamp: {timestamp}"
    );
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&received.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(received.signature, expected, "signed with the secret");
    let body: Value = serde_json::from_slice(&received.body).expect("JSON");
    assert_eq!(body["event"], received.event.as_str());
    assert_eq!(body["deliveryId"], received.delivery.as_str());
    (received, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_posted_signed_retried_and_in_order() {
    let Some(db) = TestDb::create(Backend::Sqlite, "webhooks") else {
        return;
    };
    let (seen, mut deliveries) = mpsc::unbounded_channel();
    let receiver = Receiver {
        seen,
        requests: Arc::new(AtomicUsize::new(0)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    // A port nothing listens on: its deliveries fail and are retried, on their own.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);

    let server = TestServer::start(
        &db,
        &ServerOptions {
            lost_after_secs: 2,
            // The sample cameras (unreachable here) must not go down within the test.
            camera_timeout_secs: 600,
            extra_env: vec![
                (
                    "HADIR_WEBHOOK_URLS".into(),
                    format!("http://127.0.0.1:{dead_port}/down, http://127.0.0.1:{port}/hook"),
                ),
                ("HADIR_WEBHOOK_SECRET".into(), SECRET.into()),
            ],
            ..Default::default()
        },
    );
    server.create_employee("E1", "Ana Putri").await;
    server
        .gql(
            ADMIN_TOKEN,
            "mutation { reportSighting(input: {employeeId: \"E1\", cameraId: \"CAM1\", score: 0.7}) { employeeId } }",
            json!({}),
        )
        .await;

    // AVAILABLE: refused once, then delivered again, the same delivery.
    let (first, body) = next_delivery(&mut deliveries).await;
    assert!(!first.accepted);
    assert_eq!(first.event, "employee.status_changed");
    assert_eq!(body["data"]["status"], "AVAILABLE");
    assert_eq!(body["data"]["cameraId"], "CAM1");
    let (again, _) = next_delivery(&mut deliveries).await;
    assert!(again.accepted);
    assert_eq!(
        again.delivery, first.delivery,
        "a retry is the same delivery"
    );
    assert_eq!(again.body, first.body);

    // Lost after lost_after: OFFLINE, then the notification, in that order. Detections and
    // summaries are not among the default events.
    let (offline, body) = next_delivery(&mut deliveries).await;
    assert_eq!(offline.event, "employee.status_changed");
    assert_eq!(body["data"]["status"], "OFFLINE");
    let (notification, body) = next_delivery(&mut deliveries).await;
    assert_eq!(notification.event, "notification.created");
    assert_eq!(body["data"]["type"], "EMPLOYEE_LOST");
    assert_eq!(body["data"]["employeeId"], "E1");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), deliveries.recv())
            .await
            .is_err(),
        "nothing else"
    );

    // /metrics counts them: three accepted here, retries for the refused one and the dead
    // receiver's.
    let metrics = server.metrics().await;
    let value = |result: &str| {
        metrics.value(&format!(
            "hadir_webhook_deliveries_total{{result=\"{result}\"}}"
        ))
    };
    assert_eq!(value("delivered"), 3.0, "{metrics}");
    assert!(value("retried") >= 2.0, "{metrics}");
}
