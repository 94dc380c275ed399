//! Creating and revoking API tokens (admins).

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, InputObject, Object};

use crate::{
    graphql::{
        error::bad_input,
        guard::RoleGuard,
        types::{NewApiToken, Role},
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
            .create(input.role.into(), &input.name)
            .await
            .extend()?;
        Ok(NewApiToken {
            token: created.token,
            api_token: created.record.into(),
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
