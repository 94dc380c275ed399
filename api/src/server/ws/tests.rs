//! The protocols' messages as clients read them.

use axum::extract::ws::Message;
use serde_json::{Value, json};

use super::protocol::*;

#[test]
fn operations_are_told_apart() {
    assert!(is_subscription("subscription { serverTime }", None));
    assert!(!is_subscription("{ serverTime }", None));
    assert!(!is_subscription(
        "mutation { markAllNotificationsRead }",
        None
    ));
    let both = "query A { serverTime } subscription B { serverTime }";
    assert!(is_subscription(both, Some("B")));
    assert!(!is_subscription(both, Some("A")));
    assert!(!is_subscription(both, None));
    assert!(!is_subscription("subscription {", None));
}

#[test]
fn tokens_are_found_in_init_payloads() {
    let token = |v: Value| token_from_init_payload(&v);
    assert_eq!(
        token(json!({"authorization": "Bearer a"})).as_deref(),
        Some("a")
    );
    assert_eq!(
        token(json!({"Authorization": "Bearer b"})).as_deref(),
        Some("b")
    );
    assert_eq!(token(json!({"token": "c"})).as_deref(), Some("c"));
    assert_eq!(
        token(json!({"headers": {"Authorization": "Bearer d"}})).as_deref(),
        Some("d")
    );
    assert_eq!(token(json!({})), None);
    assert_eq!(token(Value::Null), None);
}

#[test]
fn results_are_framed_around_the_shared_payload() {
    let Message::Text(m) = next_message(Protocol::TransportWs, "\"7\"", r#"{"data":{"a":1}}"#)
    else {
        panic!("text expected")
    };
    let v: Value = serde_json::from_str(m.as_str()).unwrap();
    assert_eq!(
        v,
        json!({"type": "next", "id": "7", "payload": {"data": {"a": 1}}})
    );
    let Message::Text(m) = next_message(Protocol::LegacyWs, "\"7\"", "{}") else {
        panic!("text expected")
    };
    assert_eq!(
        serde_json::from_str::<Value>(m.as_str()).unwrap()["type"],
        "data"
    );
}

#[test]
fn request_errors_are_framed_as_error_messages() {
    let Message::Text(m) = error_message("\"3\"", r#"[{"message":"bad"}]"#) else {
        panic!("text expected")
    };
    assert_eq!(
        serde_json::from_str::<Value>(m.as_str()).unwrap(),
        json!({"type": "error", "id": "3", "payload": [{"message": "bad"}]})
    );
}
