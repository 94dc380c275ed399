//! Creating and revoking API tokens (admins).

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, InputObject, Object};

use crate::{
    auth::{Role, RoleGuard},
    graphql::{
        error::bad_input,
        types::{ApiToken, NewApiToken},
    },
    state::AppState,
};

/// A token to create.
#[derive(InputObject)]
pub struct ApiTokenInput {
    /// What the token is for ("lobby tablet", "jetson-3").
    pub name: String,
    pub role: Role,
}

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates a token; the secret is in the answer and nowhere else.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: ApiTokenInput,
    ) -> async_graphql::Result<NewApiToken> {
        let state = ctx.data_unchecked::<AppState>();
        let created = state
            .tokens
            .create(input.role, &input.name)
            .await
            .extend()?;
        let api_token = ApiToken::from_model(created.record)
            .ok_or_else(|| bad_input("role", "unknown role"))?;
        Ok(NewApiToken {
            token: created.token,
            api_token,
        })
    }

    /// Revokes a token; false when it was revoked already.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let state = ctx.data_unchecked::<AppState>();
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| bad_input("id", format!("{:?} is not a token id", id.0)))?;
        state.tokens.revoke(id).await.extend()
    }
}
