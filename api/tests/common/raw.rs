//! Talking to a server below the clients' level: a raw WebSocket (to check the protocols'
//! messages and close codes themselves) and raw HTTP over TCP (half-sent requests, floods,
//! bodies never finished).

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use super::TestServer;

/// How long a raw socket waits for the server's next message.
pub const RAW_WAIT: Duration = Duration::from_secs(5);

/// A raw GraphQL WebSocket.
pub struct RawSocket(
    pub tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

/// How a socket ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with its code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Dropped,
}

impl RawSocket {
    /// Connects with `protocol` (`graphql-transport-ws` or `graphql-ws`), sending nothing.
    pub async fn connect(server: &TestServer, protocol: &'static str) -> Self {
        let mut request = format!("ws://{}/graphql", server.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Self(socket)
    }

    /// Connects with `graphql-transport-ws` and authenticates with `token`.
    pub async fn open(server: &TestServer, token: &str) -> Self {
        let mut raw = Self::connect(server, "graphql-transport-ws").await;
        raw.init(token).await;
        assert_eq!(raw.next().await["type"], "connection_ack");
        raw
    }

    pub async fn init(&mut self, token: &str) {
        self.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
    }

    pub async fn send(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        let _ = self.0.send(Message::Text(text.to_owned().into())).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        let _ = self.0.send(Message::Binary(bytes.into())).await;
    }

    /// The next JSON message (pings and pongs skipped).
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(RAW_WAIT, self.0.next())
                .await
                .expect("a message in time")
                .expect("an open socket")
                .expect("a message");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// Waits up to `within` for the socket to end, skipping other messages.
    pub async fn ended(&mut self, within: Duration) -> Option<Ended> {
        tokio::time::timeout(within, async {
            loop {
                match self.0.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        return frame.map_or(Ended::Closed(1005, String::new()), |f| {
                            Ended::Closed(f.code.into(), f.reason.to_string())
                        });
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return Ended::Dropped,
                }
            }
        })
        .await
        .ok()
    }

    /// The close code the socket ends with, within [`RAW_WAIT`].
    pub async fn close_code(&mut self) -> u16 {
        match self.ended(RAW_WAIT).await {
            Some(Ended::Closed(code, _)) => code,
            other => panic!("a close frame expected, got {other:?}"),
        }
    }
}

/// A raw HTTP exchange: what the server answered within `within` (maybe nothing), and
/// whether it closed the connection in that time.
pub struct RawAnswer {
    pub text: String,
    pub closed: bool,
}

impl RawAnswer {
    /// The status code of the answer, 0 when there is none.
    pub fn status(&self) -> u16 {
        self.text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The body as JSON (Null when it is not).
    pub fn json(&self) -> Value {
        self.text
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b.trim()).ok())
            .unwrap_or(Value::Null)
    }
}

/// Sends `bytes` on a new connection and reads what comes back for up to `within`.
pub async fn exchange(addr: &str, bytes: &[u8], within: Duration) -> RawAnswer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(bytes).await;
    read_answer(&mut stream, within).await
}

/// Reads what the server sends on `stream` for up to `within`, or until it closes.
pub async fn read_answer(stream: &mut tokio::net::TcpStream, within: Duration) -> RawAnswer {
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .is_ok();
    RawAnswer {
        text: String::from_utf8_lossy(&answer).into_owned(),
        closed,
    }
}

/// The number of file descriptors a process has open (Linux).
pub fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}
