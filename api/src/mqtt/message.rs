//! One message to publish, and the retained state a deleted record clears.

use serde_json::Value;

/// One message to publish.
pub(crate) struct Message {
    pub(crate) topic: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) retain: bool,
}

/// A retained state, or (for a deleted record) the empty retained message that clears the
/// topic.
pub(crate) fn state_or_cleared(topic: String, state: Option<Value>) -> Message {
    Message {
        topic,
        payload: state
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default(),
        retain: true,
    }
}
