//! Queries about notifications: the paginated list and the unread count.

use crate::graphql::types::Timestamp;
use async_graphql::ResultExt as _;
use async_graphql::{
    Context, ID, Object, SimpleObject,
    connection::{Connection, Edge},
};

use crate::{
    graphql::{
        error::bad_input,
        guard::RoleGuard,
        types::{Notification, NotificationType},
    },
    notifications::NotificationFilter,
    state::AppState,
};

/// Extra fields of the notification connection.
#[derive(SimpleObject)]
pub struct NotificationCount {
    /// Notifications matching the filter, on every page.
    pub total_count: i64,
}

/// A page of notifications, newest first.
pub type NotificationConnection = Connection<String, Notification, NotificationCount>;

#[derive(Default)]
pub struct NotificationQuery;

/// A notification id given as an `ID`.
pub fn parse_notification_id(field: &str, id: &str) -> async_graphql::Result<i64> {
    id.trim()
        .parse()
        .map_err(|_| bad_input(field, format!("{id:?} is not a notification id")))
}

#[Object]
impl NotificationQuery {
    /// Notifications, newest first: `first` of them after the cursor `after` (an edge's
    /// cursor from the previous page); optionally of one type, employee or camera, and
    /// created in [`from`, `to`) (the alert history).
    #[graphql(guard = "RoleGuard::read()")]
    #[allow(clippy::too_many_arguments)]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] unread_only: bool,
        #[graphql(name = "type")] kind: Option<NotificationType>,
        employee_id: Option<ID>,
        camera_id: Option<ID>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<NotificationConnection> {
        let state = ctx.data_unchecked::<AppState>();
        let after = after
            .as_deref()
            .map(|c| parse_notification_id("after", c))
            .transpose()?;
        let filter = NotificationFilter {
            unread_only,
            kind: kind.map(Into::into),
            employee_id: employee_id.map(|id| id.0),
            camera_id: camera_id.map(|id| id.0),
            from: from.map(|t| t.0),
            to: to.map(|t| t.0),
        };
        let page = state
            .notifications
            .page(&filter, first, after)
            .await
            .extend()?;
        let mut connection = NotificationConnection::with_additional_fields(
            after.is_some(),
            page.has_next_page,
            NotificationCount {
                total_count: i64::try_from(page.total_count).unwrap_or(i64::MAX),
            },
        );
        connection.edges.extend(page.items.into_iter().map(|model| {
            let cursor = model.id.to_string();
            Edge::new(cursor, Notification::from(model))
        }));
        Ok(connection)
    }

    /// One notification; null when there is none with that id.
    #[graphql(guard = "RoleGuard::read()")]
    async fn notification(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Notification>> {
        let state = ctx.data_unchecked::<AppState>();
        let id = parse_notification_id("id", &id)?;
        Ok(state
            .notifications
            .get(id)
            .await
            .extend()?
            .map(Notification::from))
    }

    /// Unread notifications, for the bell's badge.
    #[graphql(guard = "RoleGuard::read()")]
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(i64::try_from(state.notifications.unread_count().await.extend()?).unwrap_or(i64::MAX))
    }
}
