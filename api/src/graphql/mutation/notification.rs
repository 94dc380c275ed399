//! Marking notifications read (admins).

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{guard::RoleGuard, query::parse_notification_id, types::Notification},
    state::AppState,
};

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks one notification read.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Notification> {
        let state = ctx.data_unchecked::<AppState>();
        let id = parse_notification_id("id", &id)?;
        let model = state.notifications.mark_read(id).await.extend()?;
        Ok(model.into())
    }

    /// Marks every notification read; returns how many were unread.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(i64::try_from(state.notifications.mark_all_read().await.extend()?).unwrap_or(i64::MAX))
    }
}
