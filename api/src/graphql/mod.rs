//! The GraphQL API: schema, roots split by domain, types, loaders and errors.
//!
//! - [`query`], [`mutation`], [`subscription`]: the three roots, one module per domain.
//! - [`types`]: the object types, built from the services' records.
//! - [`loaders`]: DataLoaders against N+1 reads.
//! - [`error`]: `extensions.code` on every error.
//! - [`guard`]: the roles each resolver admits.
//! - [`patch`]: optional input fields (`MaybeUndefined`) as the services' `Patch`.
//! - [`cost`]: the size of an operation, checked before anything else runs.
//! - [`fanout`]: subscribers of the same selection share one execution and one serialisation.

pub mod cost;
pub mod error;
pub mod fanout;
pub mod guard;
pub mod loaders;
pub mod mutation;
pub mod patch;
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
    schema_builder().finish().sdl()
}

/// The schema serving requests, with its limits (of `[server]`) and data.
pub fn build_schema(state: AppState, config: &ServerSection) -> AppSchema {
    schema_builder()
        .extension(cost::OperationCost {
            limit: config.query_complexity_limit,
        })
        .limit_depth(config.query_depth_limit)
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
