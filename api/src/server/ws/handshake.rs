//! The start of a socket: `connection_init` within [`CONNECTION_INIT_TIMEOUT`], and its token
//! (or the upgrade request's). graphql-transport-ws allows `ping` and `pong` at any time, so
//! they are answered (and ignored) before `connection_init` too; a message that is not JSON
//! closes the socket with 4400 and says so.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    CONNECTION_INIT_TIMEOUT, Connection, Protocol,
    protocol::{close, refusal_close, text, token_from_init_payload},
};
use crate::{auth::Principal, server::gate::Refusal};

/// What came before (or instead of) `connection_init`.
enum First {
    /// A JSON message other than ping and pong.
    Message(Value),
    /// Something that is not a protocol message: the close frame that says why.
    Invalid(Message),
    /// The client closed, or the connection broke.
    Gone,
}

impl Connection {
    /// Waits for `connection_init` and authenticates it; None when the socket is done.
    pub(super) async fn handshake(
        &self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        outbox: &mpsc::Sender<Message>,
    ) -> Option<(Principal, String)> {
        let first =
            tokio::time::timeout(CONNECTION_INIT_TIMEOUT, self.first_message(stream, outbox)).await;
        let init = match first {
            Err(_) => {
                let _ = outbox
                    .send(close(4408, "connection initialisation timeout"))
                    .await;
                return None;
            }
            Ok(First::Gone) => return None,
            Ok(First::Invalid(closing)) => {
                let _ = outbox.send(closing).await;
                return None;
            }
            Ok(First::Message(value)) => value,
        };
        if init["type"] != "connection_init" {
            let _ = match self.protocol {
                Protocol::TransportWs => outbox.send(close(4401, "unauthorized")).await,
                Protocol::LegacyWs => outbox.send(close(4400, "expected connection_init")).await,
            };
            return None;
        }
        match self.authenticate(&init["payload"]).await {
            Ok(authenticated) => {
                let _ = outbox.send(text(json!({ "type": "connection_ack" }))).await;
                Some(authenticated)
            }
            Err(refusal) => {
                let reason = refusal.message();
                if self.protocol == Protocol::LegacyWs {
                    let _ = outbox
                        .send(text(
                            json!({ "type": "connection_error", "payload": { "message": reason } }),
                        ))
                        .await;
                }
                let _ = outbox.send(refusal_close(&refusal)).await;
                None
            }
        }
    }

    /// The first message that is not a ping or a pong (those are answered on the way).
    async fn first_message(
        &self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        outbox: &mpsc::Sender<Message>,
    ) -> First {
        loop {
            let body = match stream.next().await {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Binary(b))) => match Utf8Bytes::try_from(b) {
                    Ok(t) => t,
                    Err(_) => {
                        return First::Invalid(close(
                            4400,
                            "invalid message: binary data that is not UTF-8",
                        ));
                    }
                },
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => return First::Gone,
            };
            let Ok(value) = serde_json::from_str::<Value>(body.as_str()) else {
                return First::Invalid(close(4400, "invalid message: not JSON"));
            };
            match (self.protocol, value["type"].as_str()) {
                (Protocol::TransportWs, Some("ping")) => {
                    let _ = outbox.send(text(json!({ "type": "pong" }))).await;
                }
                (Protocol::TransportWs, Some("pong")) => {}
                _ => return First::Message(value),
            }
        }
    }

    /// The caller of `connection_init`: its payload's token, else the upgrade's header.
    async fn authenticate(&self, payload: &Value) -> Result<(Principal, String), Refusal> {
        match token_from_init_payload(payload) {
            Some(token) => {
                let principal = self.gate.token(self.client, &token).await?;
                Ok((principal, token))
            }
            None => self.header_principal.clone().ok_or(Refusal::NoToken),
        }
    }
}
