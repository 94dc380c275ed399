//! The notification service: the alert list (newest first, paginated by id), the unread
//! count, and marking notifications read (published, so that every client's bell follows).

use std::collections::HashMap;

use entity::{
    camera,
    notification::{self, NotificationType},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, sea_query::Expr,
};

use crate::{
    error::{AppError, AppResult},
    events::{Event, EventBus, NotificationRecord},
    presence::store,
};

/// Notifications as events carry them: each with its employee's presence and its camera
/// (three queries however many), for re-delivering stored notifications (a resync of the
/// relay, a new leader's webhooks).
pub async fn records(
    db: &impl ConnectionTrait,
    notifications: Vec<notification::Model>,
) -> Result<Vec<NotificationRecord>, DbErr> {
    if notifications.is_empty() {
        return Ok(Vec::new());
    }
    let employee_ids: Vec<String> = notifications
        .iter()
        .filter_map(|n| n.employee_id.clone())
        .collect();
    let presences: HashMap<String, _> = if employee_ids.is_empty() {
        HashMap::new()
    } else {
        store::load_presence(db, Some(&employee_ids))
            .await?
            .into_iter()
            .map(|p| (p.employee.employee_id.clone(), p))
            .collect()
    };
    let camera_ids: Vec<String> = notifications
        .iter()
        .filter_map(|n| n.camera_id.clone())
        .collect();
    let cameras: HashMap<String, camera::Model> = if camera_ids.is_empty() {
        HashMap::new()
    } else {
        camera::Entity::find()
            .filter(camera::Column::CameraId.is_in(camera_ids))
            .all(db)
            .await
            .map_err(store::in_table("cameras"))?
            .into_iter()
            .map(|c| (c.camera_id.clone(), c))
            .collect()
    };
    Ok(notifications
        .into_iter()
        .map(|notification| NotificationRecord {
            employee: notification
                .employee_id
                .as_ref()
                .and_then(|id| presences.get(id).cloned()),
            camera: notification
                .camera_id
                .as_ref()
                .and_then(|id| cameras.get(id).cloned()),
            notification,
        })
        .collect())
}

/// Notifications per page when the client does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 200;

/// Which notifications to list.
#[derive(Clone, Debug, Default)]
pub struct NotificationFilter {
    pub unread_only: bool,
    pub kind: Option<NotificationType>,
    pub employee_id: Option<String>,
    pub camera_id: Option<String>,
    /// Created at or after.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// One page, newest first.
#[derive(Clone, Debug)]
pub struct NotificationPage {
    pub items: Vec<notification::Model>,
    pub has_next_page: bool,
    pub total_count: u64,
}

/// The notification service.
#[derive(Clone, Debug)]
pub struct Notifications {
    db: DatabaseConnection,
    events: EventBus,
}

impl Notifications {
    pub fn new(db: DatabaseConnection, events: EventBus) -> Self {
        Self { db, events }
    }

    fn filtered(filter: &NotificationFilter) -> Select<notification::Entity> {
        let mut query = notification::Entity::find();
        if filter.unread_only {
            query = query.filter(notification::Column::IsRead.eq(false));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(notification::Column::Kind.eq(kind));
        }
        if let Some(employee_id) = &filter.employee_id {
            query = query.filter(notification::Column::EmployeeId.eq(employee_id.as_str()));
        }
        if let Some(camera_id) = &filter.camera_id {
            query = query.filter(notification::Column::CameraId.eq(camera_id.as_str()));
        }
        if let Some(from) = filter.from {
            query = query.filter(notification::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(notification::Column::CreatedAt.lt(to));
        }
        query
    }

    /// `first` notifications older than the one with id `after` (None: from the newest).
    pub async fn page(
        &self,
        filter: &NotificationFilter,
        first: Option<i32>,
        after: Option<i64>,
    ) -> AppResult<NotificationPage> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 0 && (n as u64) <= MAX_PAGE_SIZE => n as u64,
            Some(n) => {
                return Err(AppError::invalid(
                    "first",
                    format!("{n} is not between 0 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let total_count = Self::filtered(filter).count(&self.db).await?;
        let mut query = Self::filtered(filter);
        if let Some(after) = after {
            query = query.filter(notification::Column::Id.lt(after));
        }
        let mut items = query
            .order_by_desc(notification::Column::Id)
            .limit(first + 1)
            .all(&self.db)
            .await?;
        let has_next_page = items.len() as u64 > first;
        items.truncate(first as usize);
        Ok(NotificationPage {
            items,
            has_next_page,
            total_count,
        })
    }

    pub async fn unread_count(&self) -> AppResult<u64> {
        Ok(Self::filtered(&NotificationFilter {
            unread_only: true,
            ..Default::default()
        })
        .count(&self.db)
        .await?)
    }

    pub async fn get(&self, id: i64) -> AppResult<Option<notification::Model>> {
        Ok(notification::Entity::find_by_id(id).one(&self.db).await?)
    }

    /// Marks one notification read (again is fine) and returns it. Publishes
    /// [`Event::NotificationsRead`] when it was unread.
    pub async fn mark_read(&self, id: i64) -> AppResult<notification::Model> {
        let result = notification::Entity::update_many()
            .col_expr(notification::Column::IsRead, Expr::value(true))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::IsRead.eq(false))
            .exec(&self.db)
            .await?;
        let model = self
            .get(id)
            .await?
            .ok_or_else(|| AppError::not_found("notification", id.to_string()))?;
        if result.rows_affected > 0 {
            self.events.publish(Event::NotificationsRead {
                notification_ids: vec![id],
                all: false,
                unread_count: self.unread_count().await?,
            });
        }
        Ok(model)
    }

    /// Marks every unread notification read; returns how many were unread. Publishes
    /// [`Event::NotificationsRead`] when there were any.
    pub async fn mark_all_read(&self) -> AppResult<u64> {
        let result = notification::Entity::update_many()
            .col_expr(notification::Column::IsRead, Expr::value(true))
            .filter(notification::Column::IsRead.eq(false))
            .exec(&self.db)
            .await?;
        if result.rows_affected > 0 {
            self.events.publish(Event::NotificationsRead {
                notification_ids: Vec::new(),
                all: true,
                unread_count: self.unread_count().await?,
            });
        }
        Ok(result.rows_affected)
    }
}
