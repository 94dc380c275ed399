//! The `[server]` section of `hadir.toml`: where and how the HTTP server listens, its
//! limits and timeouts, TLS, CORS, the proxies it believes, and what it serves.
//!
//! A leaf: it imports nothing from the crate but [`crate::validate`], so the server's modules
//! read it and [`crate::config`] assembles it without either importing the other.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::validate::{InvalidSetting, positive_settings};

/// Where the server listens by default.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// The deepest selection a query may nest.
pub const DEFAULT_QUERY_DEPTH_LIMIT: usize = 12;
/// The most fields (weighted) one query may select.
pub const DEFAULT_QUERY_COMPLEXITY_LIMIT: usize = 2_000;
/// The largest HTTP request body accepted (GraphQL requests, uploads).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// The largest JSON body of a GraphQL request (and of a WebSocket message).
pub const DEFAULT_MAX_JSON_BYTES: usize = 64 * 1024;
/// Files one multipart request may upload (`enrollFace` takes one photo).
pub const DEFAULT_MAX_UPLOAD_FILES: usize = 1;
/// Operations one batched request (a JSON array) may hold.
pub const DEFAULT_MAX_BATCH_OPERATIONS: usize = 10;
/// Connections served at once (WebSockets included); one more is answered 503. Well above
/// the 10,000-subscriber benchmark, which runs from one address.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// A connection that sends no whole request head for this long is closed (half-sent
/// headers, and idle keep-alive connections between requests: clients should keep idle
/// connections for less, as most do).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 30;
/// The longest an ordinary request (body and execution) may take; live streams and
/// WebSockets are not ordinary requests.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Failed authentications per client address and minute before it is refused (429) for
/// the rest of the minute (0: no limit).
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 30;
/// Threads encoding live frames (JPEG) at once.
pub const DEFAULT_IMAGE_WORKERS: usize = 2;
/// How long a live-view grant (in `liveUrl`/`snapshotUrl`) lasts by default.
pub const DEFAULT_LIVE_GRANT_SECS: u64 = 300;
/// Bearer tokens in URLs (`?token=`) are refused by default: URLs end up in histories and
/// proxy logs.
pub const DEFAULT_QUERY_TOKEN: bool = false;
/// GraphiQL is served at `/` by default.
pub const DEFAULT_GRAPHIQL: bool = true;
/// The dashboard is served at `/dashboard/` by default.
pub const DEFAULT_DASHBOARD: bool = true;
/// How long browsers may cache a CORS preflight answer.
pub const CORS_MAX_AGE: Duration = Duration::from_secs(600);

/// `[server]`: how the HTTP server listens, what it accepts and what it serves.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// `host:port` to listen on.
    pub listen: String,
    /// The deepest selection a query may nest.
    pub query_depth_limit: usize,
    /// The most fields (weighted) one query may select.
    pub query_complexity_limit: usize,
    /// The largest HTTP request body (multipart uploads).
    pub max_request_bytes: usize,
    /// The largest JSON body of a GraphQL request and of a WebSocket message.
    pub max_json_bytes: usize,
    /// Files one multipart request may upload.
    pub max_upload_files: usize,
    /// Operations one batched request may hold.
    pub max_batch_operations: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Seconds a connection may take to send a request head (and may stay idle between
    /// requests).
    pub header_read_timeout_secs: u64,
    /// Seconds an ordinary request may take, body and execution.
    pub request_timeout_secs: u64,
    /// Failed authentications per address and minute before it must wait (0: no limit).
    pub auth_failures_per_minute: u32,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// A PEM certificate chain to serve HTTPS with (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Origins (`https://hr.example.com`) whose pages may call the API from a browser; `*`
    /// for any; none: the same origin only.
    pub cors_origins: Vec<String>,
    /// Accept a bearer token in the URL (`?token=`) of the image, report and metrics
    /// routes (off: long-lived secrets do not belong in URLs; live views carry grants).
    pub query_token: bool,
    /// Seconds a live-view grant in `liveUrl`/`snapshotUrl` lasts.
    pub live_grant_secs: u64,
    /// Threads encoding live frames at once.
    pub image_workers: usize,
    /// Serve the GraphiQL explorer at `/`.
    pub graphiql: bool,
    /// Serve the dashboard at `/dashboard/`.
    pub dashboard: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            query_depth_limit: DEFAULT_QUERY_DEPTH_LIMIT,
            query_complexity_limit: DEFAULT_QUERY_COMPLEXITY_LIMIT,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            max_upload_files: DEFAULT_MAX_UPLOAD_FILES,
            max_batch_operations: DEFAULT_MAX_BATCH_OPERATIONS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout_secs: DEFAULT_HEADER_READ_TIMEOUT_SECS,
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
            auth_failures_per_minute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
            trusted_proxies: Vec::new(),
            tls_cert_file: None,
            tls_key_file: None,
            cors_origins: Vec::new(),
            query_token: DEFAULT_QUERY_TOKEN,
            live_grant_secs: DEFAULT_LIVE_GRANT_SECS,
            image_workers: DEFAULT_IMAGE_WORKERS,
            graphiql: DEFAULT_GRAPHIQL,
            dashboard: DEFAULT_DASHBOARD,
        }
    }
}

impl ServerSection {
    /// Checks what can be checked here: positive limits, the address, the TLS pair, the
    /// origins. (The trusted proxies are parsed by [`crate::config::Config::validate`].)
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        self.listen_addr()?;
        positive_settings(&[
            ("server.query_depth_limit", self.query_depth_limit as u64),
            (
                "server.query_complexity_limit",
                self.query_complexity_limit as u64,
            ),
            ("server.max_request_bytes", self.max_request_bytes as u64),
            ("server.max_json_bytes", self.max_json_bytes as u64),
            ("server.max_upload_files", self.max_upload_files as u64),
            (
                "server.max_batch_operations",
                self.max_batch_operations as u64,
            ),
            ("server.max_connections", self.max_connections as u64),
            (
                "server.header_read_timeout_secs",
                self.header_read_timeout_secs,
            ),
            ("server.request_timeout_secs", self.request_timeout_secs),
            ("server.image_workers", self.image_workers as u64),
            ("server.live_grant_secs", self.live_grant_secs),
        ])?;
        self.tls_pair()?;
        self.cors()?;
        Ok(())
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> Result<SocketAddr, InvalidSetting> {
        self.listen.parse().map_err(|e| {
            InvalidSetting::new(
                "server.listen",
                format!("{:?} is not host:port ({e})", self.listen),
            )
        })
    }

    /// The certificate and key files to serve HTTPS with, when both are set.
    pub fn tls_pair(&self) -> Result<Option<(PathBuf, PathBuf)>, InvalidSetting> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some((cert.clone(), key.clone()))),
            _ => Err(InvalidSetting::new(
                "server.tls_cert_file/server.tls_key_file",
                "set both, or neither (plain HTTP)",
            )),
        }
    }

    /// The browser origins allowed to call the API (None: the same origin only).
    pub fn cors(&self) -> Result<Option<tower_http::cors::CorsLayer>, InvalidSetting> {
        use tower_http::cors::{AllowOrigin, Any, CorsLayer};
        if self.cors_origins.is_empty() {
            return Ok(None);
        }
        let origins = if self.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            let mut list = Vec::new();
            for origin in &self.cors_origins {
                let parsed = url::Url::parse(origin).ok().filter(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.path() == "/"
                        && u.query().is_none()
                });
                let value = parsed
                    .and_then(|_| origin.trim_end_matches('/').parse().ok())
                    .ok_or_else(|| {
                        InvalidSetting::new(
                            "server.cors_origins",
                            format!(
                                "{origin:?} is not an origin such as https://hr.example.com (or *)"
                            ),
                        )
                    })?;
                list.push(value);
            }
            AllowOrigin::list(list)
        };
        Ok(Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers(Any)
                .max_age(CORS_MAX_AGE),
        ))
    }

    /// How long a live-view grant lasts.
    pub fn live_grant_lifetime(&self) -> Duration {
        Duration::from_secs(self.live_grant_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }
}
