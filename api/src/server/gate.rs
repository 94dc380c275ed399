//! The door every authenticated request passes, over HTTP and WebSocket alike: a token is
//! checked for a client address, failures are counted per address ([`AuthFailures`]), and
//! an address over its limit is refused before its token is even looked up.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    Json,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::client::{AuthFailures, TrustedProxies, client_ip};
use crate::{
    auth::{Principal, TokenStore, token_from_authorization},
    graphql::error::{INTERNAL_SERVER_ERROR, UNAUTHENTICATED},
};

/// Why a caller was not let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token was sent.
    NoToken,
    /// The `Authorization` header is not `Bearer <token>`.
    Malformed,
    /// The token is unknown or revoked.
    Unknown,
    /// The address failed too often; it may try again after this long.
    TooManyFailures(Duration),
    /// The token store cannot be read now.
    Unavailable,
}

/// The `extensions.code` of a refusal for too many failures.
pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoToken | Self::Malformed | Self::Unknown => StatusCode::UNAUTHORIZED,
            Self::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NoToken | Self::Malformed | Self::Unknown => UNAUTHENTICATED,
            Self::TooManyFailures(_) => TOO_MANY_REQUESTS,
            Self::Unavailable => INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NoToken => {
                "a token is needed: send `Authorization: Bearer <token>` (GraphiQL: the Headers tab)"
                    .to_owned()
            }
            Self::Malformed => "the Authorization header must be `Bearer <token>`".to_owned(),
            Self::Unknown => "the token is unknown or revoked".to_owned(),
            Self::TooManyFailures(wait) => format!(
                "too many failed authentications from this address; try again in {} s",
                wait.as_secs().max(1)
            ),
            Self::Unavailable => "cannot check the token now".to_owned(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyFailures(wait) => Some(wait.as_secs().max(1)),
            _ => None,
        }
    }

    /// As a GraphQL response (`POST /graphql`).
    pub fn graphql_response(&self) -> Response {
        let body = serde_json::json!({
            "errors": [{ "message": self.message(), "extensions": { "code": self.code() } }],
        });
        let mut response = (self.status(), Json(body)).into_response();
        self.add_retry_after(&mut response);
        response
    }

    /// As plain text (images, reports, metrics).
    pub fn plain_response(&self) -> Response {
        let mut response = (self.status(), format!("{}\n", self.message())).into_response();
        self.add_retry_after(&mut response);
        response
    }

    fn add_retry_after(&self, response: &mut Response) {
        if let Some(seconds) = self.retry_after()
            && let Ok(value) = seconds.to_string().parse()
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
}

/// Tokens checked per client address.
#[derive(Clone)]
pub struct Gate {
    tokens: TokenStore,
    failures: Arc<AuthFailures>,
    trusted: Arc<TrustedProxies>,
}

impl Gate {
    pub fn new(tokens: TokenStore, failures_per_minute: u32, trusted: TrustedProxies) -> Self {
        Self {
            tokens,
            failures: Arc::new(AuthFailures::new(failures_per_minute)),
            trusted: Arc::new(trusted),
        }
    }

    /// The client's address (see [`client_ip`]).
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        client_ip(peer, headers, &self.trusted)
    }

    /// The principal of `token` sent from `ip`.
    pub async fn token(&self, ip: IpAddr, token: &str) -> Result<Principal, Refusal> {
        self.failures.check(ip).map_err(Refusal::TooManyFailures)?;
        match self.tokens.authenticate(token).await {
            Ok(Some(principal)) => Ok(principal),
            Ok(None) => {
                self.failures.record(ip);
                Err(Refusal::Unknown)
            }
            Err(error) => {
                tracing::error!(%error, "cannot check a token");
                Err(Refusal::Unavailable)
            }
        }
    }

    /// The principal of the `Authorization` header, None when there is none.
    pub async fn header(
        &self,
        ip: IpAddr,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, Refusal> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let Some(token) = value.to_str().ok().and_then(token_from_authorization) else {
            self.failures.record(ip);
            return Err(Refusal::Malformed);
        };
        self.token(ip, token).await.map(Some)
    }

    /// Err(wait) when the address failed too often to be heard now.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        self.failures.check(ip)
    }

    /// Counts a failed authentication of another kind (a bad grant).
    pub fn record_failure(&self, ip: IpAddr) {
        self.failures.record(ip);
    }

    /// Addresses whose failures are being counted.
    pub fn tracked_addresses(&self) -> usize {
        self.failures.tracked()
    }
}
