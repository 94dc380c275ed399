//! The GraphQL API: schema, roots split by domain, types, loaders and errors.
//!
//! - [`query`], [`mutation`], [`subscription`]: the three roots, one module per domain.
//! - [`types`]: the object types, built from the services' records.
//! - [`loaders`]: DataLoaders against N+1 reads.
//! - [`error`]: `extensions.code` on every error.
//! - [`guard`]: the roles each resolver admits.
//! - [`patch`]: optional input fields (`MaybeUndefined`) as the services' `Patch`.
//! - [`cost`]: the size of an operation, checked before anything else runs.
//! - [`introspection`]: the depth limit, and introspection's own bounds.
//! - [`persisted`]: automatic persisted queries (Apollo's), a bounded registry.
//! - [`fanout`]: subscribers of the same selection share one execution and one serialisation.

pub mod cost;
pub mod error;
pub mod fanout;
pub mod guard;
pub mod introspection;
pub mod loaders;
pub mod mutation;
pub mod patch;
pub mod persisted;
pub mod query;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Schema, SchemaBuilder, dataloader::DataLoader};

use crate::{clock::Clock, server::settings::ServerSection, state::AppState};
use loaders::{CameraLoader, CameraNodeLoader, ConsentLoader, EmployeeLoader, FaceCountLoader};
use mutation::MutationRoot;
use query::QueryRoot;
use subscription::SubscriptionRoot;

/// The schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema without runtime data: enough for its SDL.
pub fn schema_builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .extension(error::ErrorCodes)
}

/// The SDL of the schema, as `schema.graphql` holds it and `hadir schema` prints it.
pub fn sdl() -> String {
    schema_builder()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// The schema serving requests, with its limits (of `[server]`) and data, and a registry
/// of persisted queries of its own.
pub fn build_schema(state: AppState, config: &ServerSection) -> AppSchema {
    let persisted = persisted::PersistedQueries::new(
        persisted::MAX_PERSISTED_QUERIES,
        persisted::MAX_PERSISTED_BYTES,
    );
    build_schema_with(state, config, persisted)
}

/// [`build_schema`] with the registry of persisted queries the routes share.
pub fn build_schema_with(
    state: AppState,
    config: &ServerSection,
    persisted: persisted::PersistedQueries,
) -> AppSchema {
    schema_builder()
        // First: the other checks see the query text a hash names.
        .extension(persisted)
        .extension(cost::OperationCost {
            limit: config.query_complexity_limit,
        })
        // After the cost check (see its module), instead of the library's depth limit.
        .extension(introspection::DepthRules {
            depth_limit: config.query_depth_limit,
        })
        .limit_complexity(config.query_complexity_limit)
        .limit_recursive_depth(config.query_depth_limit.saturating_mul(4).max(32))
        .data(DataLoader::new(
            EmployeeLoader(state.employees.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            CameraLoader(state.db.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            FaceCountLoader(state.db.clone(), state.faces.model()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            ConsentLoader(state.db.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            CameraNodeLoader(state.clone()),
            tokio::spawn,
        ))
        .data::<Arc<dyn Clock>>(state.clock.clone())
        .data(state)
        .finish()
}
