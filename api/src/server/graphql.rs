//! GraphQL over HTTP and the WebSocket upgrade on `/graphql`, and the SDL at
//! `/schema.graphql`. The caller is authenticated from the headers before any byte of the
//! body is read; a request without a valid token executes nothing. `POST` takes JSON (and
//! admins' uploads), `GET` a query in the URL or the WebSocket upgrade; the answer's media
//! type, status and shape follow the GraphQL-over-HTTP specification ([`negotiation`]).

use async_graphql::{BatchRequest, BatchResponse, parser::types::OperationType};
use axum::{
    Router,
    body::Body,
    extract::{RawQuery, State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    gate::Refusal,
    graphql_body,
    negotiation::{self, MediaType},
    responses::graphql_error_response,
    state::{ClientPeer, HttpState},
    ws,
};

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_http)
                .fallback(method_not_allowed),
        )
        .route("/schema.graphql", get(schema_sdl))
}

/// The 406 for a client that accepts no JSON.
fn not_acceptable() -> Response {
    graphql_error_response(
        StatusCode::NOT_ACCEPTABLE,
        "NOT_ACCEPTABLE",
        "the Accept header allows neither application/graphql-response+json nor \
         application/json, the types GraphQL answers come in",
    )
}

/// `POST /graphql`: one operation or a batch, as JSON, or a multipart upload (admins).
pub async fn graphql_http(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiation::negotiate(&headers) else {
        return not_acceptable();
    };
    let principal = match authenticate(&state, peer, &headers).await {
        Ok(principal) => principal,
        Err(refused) => return negotiation::in_media_type(refused, media),
    };
    if let Err(reason) = negotiation::body_kind(&headers) {
        let refused =
            graphql_error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_REQUEST", &reason);
        return negotiation::in_media_type(refused, media);
    }
    let batch = match graphql_body::read(&headers, body, principal.role, &state.limits).await {
        Ok(batch) => batch,
        Err(error) => return negotiation::in_media_type(error.into_response(), media),
    };
    execute(&state, batch.data(principal), media).await
}

/// `GET /graphql`: the WebSocket upgrade (`graphql-transport-ws` or `graphql-ws`), or a
/// query in the URL (`?query=…&variables=…`); mutations only over POST.
pub async fn graphql_get(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    RawQuery(parameters): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if headers.contains_key(header::UPGRADE) {
        return match upgrade {
            Ok(upgrade) => graphql_ws(state, peer, &headers, upgrade).await,
            Err(rejection) => rejection.into_response(),
        };
    }
    let Some(media) = negotiation::negotiate(&headers) else {
        return not_acceptable();
    };
    let principal = match authenticate(&state, peer, &headers).await {
        Ok(principal) => principal,
        Err(refused) => return negotiation::in_media_type(refused, media),
    };
    let request = match graphql_body::url_request(parameters.as_deref().unwrap_or_default()) {
        Ok(request) => request,
        Err(error) => return negotiation::in_media_type(error.into_response(), media),
    };
    // A hash's text first: what it names may be a mutation.
    let request = match state.persisted.resolve(request) {
        Ok(request) => request,
        Err(error) => {
            let failed = async_graphql::Response::from_errors(vec![error]);
            return negotiation::graphql_response(BatchResponse::Single(failed), media);
        }
    };
    if let Some(kind) = negotiation::operation_kind(&request)
        && kind != OperationType::Query
    {
        let mut refused = graphql_error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            &format!(
                "a {kind} cannot be sent with GET: send mutations with POST{}",
                if kind == OperationType::Subscription {
                    " and subscriptions over the WebSocket"
                } else {
                    ""
                }
            ),
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return negotiation::in_media_type(refused, media);
    }
    execute(&state, BatchRequest::Single(request).data(principal), media).await
}

/// Other methods on `/graphql`.
async fn method_not_allowed() -> Response {
    let mut refused = graphql_error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "BAD_REQUEST",
        "/graphql takes GET (queries, the WebSocket upgrade) and POST",
    );
    refused
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    refused
}

/// The caller of an HTTP request, from its `Authorization` header.
async fn authenticate(
    state: &HttpState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> Result<crate::auth::Principal, Response> {
    let ip = state.gate.client(peer, headers);
    match state.gate.header(ip, headers).await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => Err(Refusal::NoToken.graphql_response()),
        Err(refusal) => Err(refusal.graphql_response()),
    }
}

/// Runs authenticated request(s) within `request_timeout`.
async fn execute(state: &HttpState, batch: BatchRequest, media: MediaType) -> Response {
    let timeout = state.app.config.server.request_timeout();
    match tokio::time::timeout(timeout, state.schema.execute_batch(batch)).await {
        Ok(response) => negotiation::graphql_response(response, media),
        Err(_) => negotiation::in_media_type(
            graphql_error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "REQUEST_TIMEOUT",
                &format!(
                    "the request took longer than {} s (request_timeout_secs)",
                    timeout.as_secs()
                ),
            ),
            media,
        ),
    }
}

/// The WebSocket upgrade (`graphql-transport-ws` or `graphql-ws`).
async fn graphql_ws(
    state: HttpState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ip = state.gate.client(peer, headers);
    let header_principal = match state.gate.header(ip, headers).await {
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
        return graphql_error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "ask for the WebSocket subprotocol graphql-transport-ws or graphql-ws",
        );
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
