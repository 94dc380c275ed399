//! The HTTP server: the router, merged from one router per resource, in front of the
//! listener. [`crate::app`] starts it.
//!
//! - [`listener`]: the socket: connection limit, header timeout, TLS.
//! - [`open_files`]: the open-files limit that bounds the connections served.
//! - [`client`]: the client's address (trusted proxies) and failed authentications per address.
//! - [`close_unread`]: a refusal sent before its request's body was read closes the connection.
//! - [`gate`]: authentication of every request, over HTTP and WebSocket.
//! - [`viewer`]: the viewer-or-admin check of the plain routes.
//! - [`state`]: what every route shares; the client's address.
//! - [`responses`]: GraphQL error answers.
//! - [`negotiation`]: GraphQL over HTTP's media types, statuses and request errors.
//! - Resources: [`graphql`] (`GET` and `POST /graphql`, the WebSocket upgrade, the SDL),
//!   [`graphiql`] (GraphiQL at `/`, its files served by hadir itself),
//!   [`cameras`] (`snapshot.jpg`, `live.mjpeg`), [`reports`] (the CSV), [`health`]
//!   (`/healthz`, `/metrics`), [`dashboard`] (its files), [`internal`] (a camera's frames
//!   for the other nodes of a cluster).
//! - [`graphql_body`]: reading GraphQL bodies within their limits (JSON, admin uploads).
//! - [`ws`]: GraphQL over WebSocket (`graphql-transport-ws` and `graphql-ws`).
//! - [`settings`]: the `[server]` section of `hadir.toml`.

pub mod cameras;
pub mod client;
pub mod close_unread;
pub mod dashboard;
pub mod gate;
pub mod graphiql;
pub mod graphql;
pub mod graphql_body;
pub mod health;
pub mod internal;
pub mod listener;
pub mod negotiation;
pub mod open_files;
pub mod reports;
pub mod responses;
pub mod settings;
pub mod state;
pub mod viewer;
pub mod ws;

use std::sync::Arc;

use axum::{Router, response::Response};
use tower_http::limit::RequestBodyLimitLayer;

use crate::{
    graphql::{
        fanout::SubscriptionHub,
        persisted::{MAX_PERSISTED_BYTES, MAX_PERSISTED_QUERIES, PersistedQueries},
    },
    state::AppState,
};
use gate::Gate;
use listener::ConnectionCounters;
use state::HttpState;

/// The router of a running server: every resource's routes, behind the body limit, CORS
/// and the unread-body check.
pub fn router(app: AppState, connections: Arc<ConnectionCounters>) -> anyhow::Result<Router> {
    let persisted = PersistedQueries::new(MAX_PERSISTED_QUERIES, MAX_PERSISTED_BYTES);
    let schema =
        crate::graphql::build_schema_with(app.clone(), &app.config.server, persisted.clone());
    let max_body = app.config.server.max_request_bytes;
    let gate = Gate::new(
        app.tokens.clone(),
        app.config.server.auth_failures_per_minute,
        app.config.trusted_proxies()?,
    );
    let mut router = Router::new()
        .merge(graphql::routes())
        .merge(cameras::routes())
        .merge(reports::routes())
        .merge(health::routes())
        .merge(internal::routes());
    if app.config.server.dashboard {
        router = router.merge(dashboard::routes());
    }
    if app.config.server.graphiql {
        let assets = graphiql::GraphiqlAssets::load(&vision::models::runtime::cache_dir());
        router = router.merge(graphiql::routes(Arc::new(assets)));
    }
    let limits = app.config.body_limits();
    // Without configured origins, browsers get no CORS headers: same origin only.
    let cors = tower::util::option_layer(app.config.server.cors()?);
    Ok(router
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::map_response(
            move |response: Response| async move {
                responses::explain_payload_too_large(response, max_body)
            },
        ))
        .layer(cors)
        // Outermost: it sees the body limit's refusals too.
        .layer(axum::middleware::from_fn(
            close_unread::close_if_body_unread,
        ))
        .with_state(HttpState {
            hub: SubscriptionHub::new(schema.clone()),
            schema,
            persisted,
            gate,
            limits,
            connections,
            app,
        }))
}
