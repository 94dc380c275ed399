//! [`RoleGuard`]: the roles a resolver admits, checked against the caller's
//! [`Principal`] in the request's data.

use async_graphql::{Context, Guard};

use super::error::{forbidden, unauthenticated};
use crate::auth::{Principal, Role};

/// The roles a resolver admits; the caller's principal comes from the request's data.
pub struct RoleGuard {
    allowed: &'static [Role],
}

impl RoleGuard {
    /// Queries and subscriptions: admins and viewers.
    pub fn read() -> Self {
        Self {
            allowed: &[Role::Admin, Role::Viewer],
        }
    }

    /// Changes to employees, cameras, notifications and tokens: admins.
    pub fn admin() -> Self {
        Self {
            allowed: &[Role::Admin],
        }
    }

    /// Sightings and heartbeats from edge devices: admins and ingest tokens.
    pub fn ingest() -> Self {
        Self {
            allowed: &[Role::Admin, Role::Ingest],
        }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<Principal>() {
            None => Err(unauthenticated()),
            Some(p) if self.allowed.contains(&p.role) => Ok(()),
            Some(p) => Err(forbidden(p.role, self.allowed)),
        }
    }
}
