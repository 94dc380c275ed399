//! Queries about the server itself: its time, the AI status, the caller, the tokens.

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::{
    auth::{Principal, RoleGuard},
    graphql::types::{AiStatus, ApiToken, Me},
    state::AppState,
};

#[derive(Default)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// The server's date and time (for the dashboard's header; no database involved).
    #[graphql(guard = "RoleGuard::read()")]
    async fn server_time(&self, ctx: &Context<'_>) -> DateTime<Utc> {
        ctx.data_unchecked::<AppState>().clock.now()
    }

    /// Whether face recognition is running.
    #[graphql(guard = "RoleGuard::read()")]
    async fn ai_status(&self, ctx: &Context<'_>) -> AiStatus {
        ctx.data_unchecked::<AppState>().ai_status.current()
    }

    /// The caller's role (any valid token may ask).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let principal = ctx
            .data_opt::<Principal>()
            .ok_or_else(crate::graphql::error::unauthenticated)?;
        Ok(Me {
            role: principal.role,
            token_id: principal.token_id.map(|id| ID(id.to_string())),
        })
    }

    /// Every API token (admins only; secrets are never shown again).
    #[graphql(guard = "RoleGuard::admin()")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .tokens
            .list()
            .await
            .extend()?
            .into_iter()
            .filter_map(ApiToken::from_model)
            .collect())
    }
}
