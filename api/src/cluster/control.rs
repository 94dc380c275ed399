//! The control channel (`hadir_control`): small typed messages between the nodes, beside the
//! events. The same envelope as events, `{"v":1,"o":"<instance>","c":{…}}`, without a
//! sequence: a lost control message is made good by the polls and resyncs that back each one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire::{self, WIRE_VERSION, WireError};

/// One message between nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum ControlMessage {
    /// An employee's embeddings changed (enrolled, removed, the employee deleted): reload
    /// that employee's faces.
    FacesChanged { employee_id: String },
    /// A node gave up a camera's lease (another may take it at once).
    CameraReleased { camera_id: String },
    /// A node joined the cluster.
    NodeJoined { node_id: String },
    /// A node left the cluster cleanly.
    NodeLeft { node_id: String },
    /// Every node should resync what changed since then.
    ResyncSince { since: DateTime<Utc> },
    /// An API token was revoked (by a node, or `hadir token revoke`): its connections close
    /// on every node.
    TokenRevoked { token_id: i64 },
    /// A liveness probe: its sender's own listener hearing it proves that listener alive
    /// and measures the round trip.
    Ping {
        instance: String,
        sent_at: DateTime<Utc>,
    },
}

/// A control message with the instance that sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlNotice {
    pub origin: String,
    pub message: ControlMessage,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u64,
    o: String,
    c: ControlMessage,
}

/// A control message as sent.
pub fn encode(origin: &str, message: &ControlMessage) -> Result<String, WireError> {
    serde_json::to_string(&Envelope {
        v: WIRE_VERSION,
        o: origin.to_owned(),
        c: message.clone(),
    })
    .map_err(|e| WireError::Encode(e.to_string()))
}

/// Reads a control message: garbage is [`WireError::Malformed`], another version
/// [`WireError::UnknownVersion`].
pub fn decode(text: &str) -> Result<ControlNotice, WireError> {
    wire::check_version(text)?;
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    Ok(ControlNotice {
        origin: envelope.o,
        message: envelope.c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let messages = [
            ControlMessage::FacesChanged {
                employee_id: "E1".into(),
            },
            ControlMessage::CameraReleased {
                camera_id: "C1".into(),
            },
            ControlMessage::NodeJoined {
                node_id: "a".into(),
            },
            ControlMessage::NodeLeft {
                node_id: "a".into(),
            },
            ControlMessage::ResyncSince { since: Utc::now() },
            ControlMessage::TokenRevoked { token_id: 42 },
            ControlMessage::Ping {
                instance: "i".into(),
                sent_at: Utc::now(),
            },
        ];
        for message in messages {
            let text = encode("origin-1", &message).unwrap();
            let notice = decode(&text).unwrap();
            assert_eq!(notice.origin, "origin-1");
            assert_eq!(notice.message, message);
        }
    }

    #[test]
    fn garbage_and_other_versions_are_refused_by_kind() {
        assert!(matches!(decode("junk"), Err(WireError::Malformed(_))));
        assert!(matches!(
            decode(r#"{"v":1,"o":"x","c":{"k":"no_such"}}"#),
            Err(WireError::Malformed(_))
        ));
        assert_eq!(
            decode(r#"{"v":2,"o":"x","c":{"k":"future"}}"#).unwrap_err(),
            WireError::UnknownVersion(2)
        );
    }
}
