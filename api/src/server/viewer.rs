//! The check of a viewer or admin on a plain HTTP route (reports, images, metrics): a token
//! in the header or, where `query_token` is set, in `?token=`.

use std::net::SocketAddr;

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use super::state::HttpState;
use crate::auth::{Principal, Role};

/// Checks the caller of a plain HTTP route (reports, images, metrics): a token in the
/// header, or — where `query_token` is set — in `?token=`; viewers and admins only.
pub async fn viewer(
    state: &HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Principal, Response> {
    let ip = state.gate.client(peer, headers);
    let principal = match state.gate.header(ip, headers).await {
        Ok(Some(principal)) => principal,
        Ok(None) => match query_token {
            Some(token) if state.app.config.server.query_token => state
                .gate
                .token(ip, token)
                .await
                .map_err(|r| r.plain_response())?,
            Some(_) => {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "a token in the URL is not accepted here (query_token is off: URLs end up in \
                     histories and logs); send Authorization: Bearer …, or use a camera's \
                     liveUrl/snapshotUrl, which carry a short-lived grant\n",
                )
                    .into_response());
            }
            None => {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "a viewer or admin token is needed (Authorization: Bearer …)\n",
                )
                    .into_response());
            }
        },
        Err(refusal) => return Err(refusal.plain_response()),
    };
    if principal.role == Role::Ingest {
        return Err(ingest_refused());
    }
    Ok(principal)
}

/// The answer to an ingest token on a route for viewers and admins.
pub fn ingest_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "an ingest token may only report sightings\n",
    )
        .into_response()
}

/// The query of the routes that take a token in the URL.
#[derive(serde::Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}
