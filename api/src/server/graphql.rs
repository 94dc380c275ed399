//! GraphQL over HTTP and the WebSocket upgrade on `/graphql`, and the SDL at
//! `/schema.graphql`. The caller is authenticated from the headers before any byte of the
//! body is read; a request without a valid token executes nothing.

use async_graphql_axum::GraphQLResponse;
use axum::{
    Router,
    body::Body,
    extract::{State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    gate::Refusal,
    graphql_body,
    responses::graphql_error_response,
    state::{ClientPeer, HttpState},
    ws,
};

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/graphql", get(graphql_ws).post(graphql_http))
        .route("/schema.graphql", get(schema_sdl))
}

/// `POST /graphql`: one operation or a batch, as JSON, or a multipart upload (admins).
pub async fn graphql_http(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ip = state.gate.client(peer, &headers);
    let principal = match state.gate.header(ip, &headers).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return Refusal::NoToken.graphql_response(),
        Err(refusal) => return refusal.graphql_response(),
    };
    let batch = match graphql_body::read(&headers, body, principal.role, &state.limits).await {
        Ok(batch) => batch,
        Err(error) => return error.into_response(),
    };
    let batch = batch.data(principal);
    let timeout = state.app.config.server.request_timeout();
    match tokio::time::timeout(timeout, state.schema.execute_batch(batch)).await {
        Ok(response) => GraphQLResponse::from(response).into_response(),
        Err(_) => graphql_error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "REQUEST_TIMEOUT",
            &format!(
                "the request took longer than {} s (request_timeout_secs)",
                timeout.as_secs()
            ),
        ),
    }
}

/// `GET /graphql`: the WebSocket upgrade (`graphql-transport-ws` or `graphql-ws`).
pub async fn graphql_ws(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ip = state.gate.client(peer, &headers);
    let header_principal = match state.gate.header(ip, &headers).await {
        Ok(p) => p,
        Err(refusal) => return refusal.graphql_response(),
    };
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::token_from_authorization)
        .map(str::to_owned);
    let upgrade = upgrade
        .read_buffer_size(ws::WS_READ_BUFFER_BYTES)
        .write_buffer_size(ws::WS_WRITE_BUFFER_BYTES)
        .max_message_size(state.app.config.server.max_json_bytes)
        .max_frame_size(state.app.config.server.max_json_bytes)
        .protocols(ws::Protocol::NAMES);
    // A client that names no subprotocol gets graphql-transport-ws.
    let asked = headers.contains_key(header::SEC_WEBSOCKET_PROTOCOL);
    let selected = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(ws::Protocol::from_name);
    let Some(protocol) = selected.or((!asked).then_some(ws::Protocol::TransportWs)) else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the WebSocket subprotocol graphql-transport-ws or graphql-ws",
        )
            .into_response();
    };
    let connection = ws::Connection {
        app: state.app,
        schema: state.schema,
        hub: state.hub,
        gate: state.gate,
        client: ip,
        protocol,
        header_principal: header_principal.zip(header_token),
    };
    upgrade.on_upgrade(move |socket| connection.serve(socket))
}

/// `GET /schema.graphql`: the SDL.
pub async fn schema_sdl() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::graphql::sdl(),
    )
        .into_response()
}
