//! GraphQL over WebSocket on `GET /graphql`, speaking both `graphql-transport-ws` (the
//! `graphql-ws` npm package, Apollo, urql) and the older `graphql-ws`
//! (subscriptions-transport-ws). Subscriptions go through the [`SubscriptionHub`], so each
//! event is resolved and serialised once per selection; each socket only frames and writes.
//!
//! The token comes in `connection_init` (`{"authorization": "Bearer …"}`), or in the upgrade
//! request's `Authorization` header. It is checked again before every operation, and a
//! socket whose token is revoked is closed with 4403 as soon as the revocation is known.

//!
//! - [`protocol`]: the two protocols' messages.
//! - `handshake`: `connection_init` (pings may come before it) and its token.

mod handshake;
pub mod protocol;
#[cfg(test)]
mod tests;

pub use protocol::{Protocol, token_from_init_payload};

use std::{collections::HashMap, net::IpAddr, time::Duration};

use async_graphql::Request;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    sync::{broadcast::error::RecvError, mpsc},
    task::JoinHandle,
};

use protocol::{
    close, complete_message, error_message, is_subscription, next_message, read_error_close,
    refusal_close, text,
};

use super::{
    gate::{Gate, Refusal},
    negotiation::is_request_error,
};
use crate::{
    auth::Principal,
    graphql::{
        AppSchema,
        fanout::{SharedOutput, SubscriptionHub},
    },
    state::AppState,
};

/// Bytes buffered per WebSocket for reading; small, since thousands of subscribers each
/// hold one.
pub const WS_READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes buffered per WebSocket for writing before a flush.
pub const WS_WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// Time a client has to send `connection_init`.
pub const CONNECTION_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of the `ka` messages the older protocol expects.
pub const LEGACY_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Messages queued for one socket before its subscriptions wait.
pub const OUTBOX_CAPACITY: usize = 64;
/// Subscriptions one socket may hold at once.
pub const MAX_SUBSCRIPTIONS_PER_SOCKET: usize = 100;

/// Everything one socket needs.
pub struct Connection {
    pub app: AppState,
    pub schema: AppSchema,
    pub hub: SubscriptionHub,
    pub gate: Gate,
    /// The client's address (failed authentications are counted by it).
    pub client: IpAddr,
    pub protocol: Protocol,
    /// The caller according to the upgrade request's header, and its token, if it carried one.
    pub header_principal: Option<(Principal, String)>,
}

impl Connection {
    /// Serves one socket until either side closes it.
    pub async fn serve(self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let (outbox, mut inbox) = mpsc::channel::<Message>(OUTBOX_CAPACITY);
        let writer = tokio::spawn(async move {
            while let Some(message) = inbox.recv().await {
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || closing {
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let Some((principal, token)) = self.handshake(&mut stream, &outbox).await else {
            drop(outbox);
            let _ = writer.await;
            return;
        };
        let mut revocations = self.app.tokens.revocations();
        let keepalive = (self.protocol == Protocol::LegacyWs).then(|| {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(LEGACY_KEEPALIVE_INTERVAL);
                loop {
                    ticker.tick().await;
                    if outbox.send(text(json!({ "type": "ka" }))).await.is_err() {
                        break;
                    }
                }
            })
        });

        let mut subscriptions: HashMap<String, JoinHandle<()>> = HashMap::new();
        loop {
            let message = tokio::select! {
                message = stream.next() => match message {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => {
                        let _ = outbox.send(read_error_close(error, self.app.config.server.max_json_bytes)).await;
                        break;
                    }
                    None => break,
                },
                revoked = revocations.recv() => {
                    let still_valid = match revoked {
                        Ok(id) if principal.token_id != Some(id) => continue,
                        Ok(_) => Err(Refusal::Unknown),
                        // Missed some: check this socket's token again.
                        Err(RecvError::Lagged(_)) => self.recheck(&token).await.map(|_| ()),
                        Err(RecvError::Closed) => Ok(()),
                    };
                    match still_valid {
                        Ok(()) => continue,
                        Err(refusal) => {
                            let _ = outbox.send(refusal_close(&refusal)).await;
                            break;
                        }
                    }
                }
            };
            let body = match message {
                Message::Text(t) => t,
                Message::Binary(b) => match Utf8Bytes::try_from(b) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = outbox
                            .send(close(
                                4400,
                                "invalid message: binary data that is not UTF-8",
                            ))
                            .await;
                        break;
                    }
                },
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            let Ok(value) = serde_json::from_str::<Value>(body.as_str()) else {
                let _ = outbox.send(close(4400, "invalid message: not JSON")).await;
                break;
            };
            let kind = value["type"].as_str().unwrap_or_default();
            let id = value["id"].as_str().map(str::to_owned);
            match (self.protocol, kind) {
                (_, "connection_init") => {
                    if self.protocol == Protocol::TransportWs {
                        let _ = outbox
                            .send(close(4429, "too many initialisation requests"))
                            .await;
                        break;
                    }
                }
                (Protocol::TransportWs, "ping") => {
                    let _ = outbox.send(text(json!({ "type": "pong" }))).await;
                }
                (Protocol::TransportWs, "pong") => {}
                (Protocol::TransportWs, "subscribe") | (Protocol::LegacyWs, "start") => {
                    let Some(id) = id else {
                        let _ = outbox.send(close(4400, "invalid message: no id")).await;
                        break;
                    };
                    // Every operation runs under a token that still holds.
                    let principal = match self.recheck(&token).await {
                        Ok(principal) => principal,
                        Err(refusal) => {
                            let _ = outbox.send(refusal_close(&refusal)).await;
                            break;
                        }
                    };
                    subscriptions.retain(|_, task| !task.is_finished());
                    if subscriptions.contains_key(&id) {
                        if self.protocol == Protocol::TransportWs {
                            let reason = format!("subscriber for {id} already exists");
                            let _ = outbox.send(close(4409, &reason)).await;
                            break;
                        }
                        if let Some(old) = subscriptions.remove(&id) {
                            old.abort();
                        }
                    }
                    if subscriptions.len() >= MAX_SUBSCRIPTIONS_PER_SOCKET {
                        let _ = outbox
                            .send(close(4400, "too many subscriptions on one socket"))
                            .await;
                        break;
                    }
                    let task = self.start(&principal, id.clone(), &value["payload"], &outbox);
                    subscriptions.insert(id, task);
                }
                (Protocol::TransportWs, "complete") | (Protocol::LegacyWs, "stop") => {
                    if let Some(task) = id.and_then(|id| subscriptions.remove(&id)) {
                        task.abort();
                    }
                }
                (Protocol::LegacyWs, "connection_terminate") => break,
                (_, other) => {
                    let reason = format!("invalid message type {other:?}");
                    let _ = outbox.send(close(4400, &reason)).await;
                    break;
                }
            }
        }
        for task in subscriptions.into_values() {
            task.abort();
        }
        if let Some(task) = keepalive {
            task.abort();
        }
        drop(outbox);
        let _ = writer.await;
    }

    /// The socket's token checked again (it may have been revoked since).
    async fn recheck(&self, token: &str) -> Result<Principal, Refusal> {
        self.gate.token(self.client, token).await
    }

    /// Starts one operation: subscriptions through the hub, queries and mutations directly.
    fn start(
        &self,
        principal: &Principal,
        id: String,
        payload: &Value,
        outbox: &mpsc::Sender<Message>,
    ) -> JoinHandle<()> {
        let protocol = self.protocol;
        let outbox = outbox.clone();
        let query = payload["query"].as_str().unwrap_or_default().to_owned();
        let variables = match &payload["variables"] {
            Value::Null => json!({}),
            v => v.clone(),
        };
        let operation_name = payload["operationName"].as_str().map(str::to_owned);
        let id_json = Value::String(id.clone()).to_string();

        if !is_subscription(&query, operation_name.as_deref()) {
            let schema = self.schema.clone();
            let mut request = Request::new(query)
                .variables(async_graphql::Variables::from_json(variables))
                .data(principal.clone());
            if let Some(name) = operation_name {
                request = request.operation_name(name);
            }
            return tokio::spawn(async move {
                let response = schema.execute(request).await;
                // graphql-transport-ws: an operation that never ran (it did not parse or
                // validate) gets `error`, and nothing after it.
                if protocol == Protocol::TransportWs && is_request_error(&response) {
                    let errors = serde_json::to_string(&response.errors).unwrap_or_default();
                    let _ = outbox.send(error_message(&id_json, &errors)).await;
                    return;
                }
                let payload = serde_json::to_string(&response).unwrap_or_default();
                let _ = outbox
                    .send(next_message(protocol, &id_json, &payload))
                    .await;
                let _ = outbox.send(complete_message(&id_json)).await;
            });
        }

        let shared = self
            .hub
            .subscribe(principal, query, variables, operation_name);
        tokio::spawn(async move {
            // Own the whole subscription (not only its receiver): it keeps the shared
            // execution running.
            let mut shared = shared;
            loop {
                let frame = match shared.frames.recv().await {
                    Ok(frame) => frame,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "a WebSocket subscriber fell behind and skipped events"
                        );
                        continue;
                    }
                    Err(RecvError::Closed) => {
                        let _ = outbox.send(complete_message(&id_json)).await;
                        return;
                    }
                };
                let message = match &*frame {
                    SharedOutput::Next(payload) => next_message(protocol, &id_json, payload),
                    SharedOutput::Error(errors) => {
                        let message = match protocol {
                            Protocol::TransportWs => error_message(&id_json, errors),
                            Protocol::LegacyWs => Message::Text(
                                format!(
                                    r#"{{"type":"data","id":{id_json},"payload":{{"data":null,"errors":{errors}}}}}"#
                                )
                                .into(),
                            ),
                        };
                        let _ = outbox.send(message).await;
                        if protocol == Protocol::LegacyWs {
                            let _ = outbox.send(complete_message(&id_json)).await;
                        }
                        return;
                    }
                    SharedOutput::Complete => {
                        let _ = outbox.send(complete_message(&id_json)).await;
                        return;
                    }
                };
                if outbox.send(message).await.is_err() {
                    return;
                }
            }
        })
    }
}
