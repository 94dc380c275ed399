//! What every route shares ([`HttpState`]), and the client's socket address as an extractor.

use std::{net::SocketAddr, sync::Arc};

use axum::{extract::FromRequestParts, http::request::Parts};

use super::{gate::Gate, graphql_body::BodyLimits, listener::ConnectionCounters};
use crate::{
    graphql::{AppSchema, fanout::SubscriptionHub, persisted::PersistedQueries},
    state::AppState,
};

/// What every route shares.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
    /// The schema's persisted queries (a `GET`'s hash is looked up before its method is
    /// checked).
    pub persisted: PersistedQueries,
    pub hub: SubscriptionHub,
    pub gate: Gate,
    pub limits: BodyLimits,
    pub connections: Arc<ConnectionCounters>,
}

/// The client's socket address, as the listener recorded it (unspecified when the router
/// is driven without one).
pub struct ClientPeer(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientPeer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0),
        ))
    }
}
