//! The first start: with no admin token configured (`HADIR_ADMIN_TOKEN`) and no admin
//! token stored, the server makes one and prints it once.

use entity::api_token;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{
    principal::Role,
    store::{CreatedToken, TokenStore},
};
use crate::error::AppResult;

/// Name of the token created on first start when none exists.
pub const FIRST_START_TOKEN_NAME: &str = "first start";
/// Name under which `HADIR_ADMIN_TOKEN` is recorded.
pub const BOOTSTRAP_TOKEN_NAME: &str = "HADIR_ADMIN_TOKEN";

impl TokenStore {
    /// On a first start with no admin token configured and no token stored, creates an admin
    /// token and returns it, to be printed once.
    pub async fn ensure_first_admin(&self) -> AppResult<Option<CreatedToken>> {
        if self.bootstrap_admin_hash.is_some() {
            return Ok(None);
        }
        let active_admins = api_token::Entity::find()
            .filter(api_token::Column::Role.eq(Role::Admin))
            .filter(api_token::Column::RevokedAt.is_null())
            .count(&self.db)
            .await?;
        if active_admins > 0 {
            return Ok(None);
        }
        self.create(Role::Admin, FIRST_START_TOKEN_NAME)
            .await
            .map(Some)
    }
}
