//! The two GraphQL-over-WebSocket protocols and their messages: results framed around an
//! already serialised payload, completions, close frames, the token of `connection_init`,
//! and whether an operation is a subscription.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use serde_json::Value;

use crate::{auth::token_from_authorization, server::gate::Refusal};

/// The two protocols, by their `Sec-WebSocket-Protocol` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws` (subscriptions-transport-ws).
    LegacyWs,
}

impl Protocol {
    pub const NAMES: [&'static str; 2] = ["graphql-transport-ws", "graphql-ws"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "graphql-transport-ws" => Some(Self::TransportWs),
            "graphql-ws" => Some(Self::LegacyWs),
            _ => None,
        }
    }

    /// The message type of a result.
    pub fn next_type(self) -> &'static str {
        match self {
            Self::TransportWs => "next",
            Self::LegacyWs => "data",
        }
    }
}

/// Why a socket's token no longer holds, as a close frame.
pub fn refusal_close(refusal: &Refusal) -> Message {
    match refusal {
        Refusal::TooManyFailures(_) => close(4429, &refusal.message()),
        Refusal::Unavailable => close(1011, &refusal.message()),
        _ => close(4403, &format!("forbidden: {}", refusal.message())),
    }
}

pub fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

/// The close frame for a message that could not be read: too big (1009), or not WebSocket
/// (1002).
pub fn read_error_close(error: axum::Error, limit: usize) -> Message {
    match error.into_inner().downcast::<tungstenite::Error>() {
        Ok(error) if matches!(*error, tungstenite::Error::Capacity(_)) => close(
            1009,
            &format!("message too big: at most {limit} bytes (max_json_bytes)"),
        ),
        _ => close(1002, "invalid WebSocket data"),
    }
}

/// The most a close frame's reason may hold (RFC 6455: 125 bytes of payload, 2 for the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

pub fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason[..end].to_owned()),
    }))
}

/// The token in a `connection_init` payload: `authorization`, `Authorization` or `token`,
/// at the top or inside `headers`.
pub fn token_from_init_payload(payload: &Value) -> Option<String> {
    let keys = ["authorization", "Authorization", "token"];
    let direct = keys
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str));
    let nested = || {
        payload
            .get("headers")
            .and_then(|h| keys.iter().find_map(|k| h.get(*k).and_then(Value::as_str)))
    };
    direct
        .or_else(nested)
        .and_then(token_from_authorization)
        .map(str::to_owned)
}

/// `{"type":"next","id":…,"payload":…}` around an already serialised payload.
pub fn next_message(protocol: Protocol, id_json: &str, payload: &str) -> Message {
    let kind = protocol.next_type();
    let mut message = String::with_capacity(payload.len() + id_json.len() + 40);
    message.push_str(r#"{"type":""#);
    message.push_str(kind);
    message.push_str(r#"","id":"#);
    message.push_str(id_json);
    message.push_str(r#","payload":"#);
    message.push_str(payload);
    message.push('}');
    Message::Text(message.into())
}

/// graphql-transport-ws's `{"type":"error","id":…,"payload":[…]}` around serialised errors.
pub fn error_message(id_json: &str, errors_json: &str) -> Message {
    Message::Text(format!(r#"{{"type":"error","id":{id_json},"payload":{errors_json}}}"#).into())
}

pub fn complete_message(id_json: &str) -> Message {
    Message::Text(format!(r#"{{"type":"complete","id":{id_json}}}"#).into())
}

/// Whether the operation to run is a subscription. A query that does not parse is not:
/// running it directly reports the parse error.
pub fn is_subscription(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.is_some_and(|op| op.node.ty == OperationType::Subscription)
}
