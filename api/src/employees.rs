//! The employee service: list, get, create, update and delete employees with their presence,
//! and the events that tell subscribers.

use chrono::Utc;
use entity::{employee, notification};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait, sea_query::Expr,
};

use crate::{
    error::{AppError, AppResult},
    events::{ChangeKind, Event, EventBus},
    patch::Patch,
    presence::{EmployeePresence, PresenceCounts, store},
    validate,
};

/// The message left in an erased employee's notifications.
pub const ERASED_EMPLOYEE_MESSAGE: &str = "An employee who has since been deleted";

/// An employee to create.
#[derive(Clone, Debug)]
pub struct NewEmployee {
    pub employee_id: String,
    pub name: String,
    pub department: Option<String>,
    pub role: Option<String>,
    /// Made by the demo site ([`crate::demo`]).
    pub demo: bool,
}

/// Changes to an employee; `None` and [`Patch::Unchanged`] leave a field as it is.
#[derive(Clone, Debug, Default)]
pub struct EmployeePatch {
    pub name: Option<String>,
    pub department: Patch<String>,
    pub role: Patch<String>,
}

/// The employee service.
#[derive(Clone, Debug)]
pub struct EmployeeDirectory {
    db: DatabaseConnection,
    events: EventBus,
}

impl EmployeeDirectory {
    pub fn new(db: DatabaseConnection, events: EventBus) -> Self {
        Self { db, events }
    }

    /// Every employee with their presence, ordered by name.
    pub async fn list(&self) -> AppResult<Vec<EmployeePresence>> {
        Ok(store::load_presence(&self.db, None).await?)
    }

    pub async fn get(&self, employee_id: &str) -> AppResult<Option<EmployeePresence>> {
        Ok(store::presence_of(&self.db, employee_id.trim()).await?)
    }

    /// The presence of the employees named, in no particular order (for data loaders).
    pub async fn get_many(&self, employee_ids: &[String]) -> AppResult<Vec<EmployeePresence>> {
        Ok(store::load_presence(&self.db, Some(employee_ids)).await?)
    }

    pub async fn counts(&self) -> AppResult<PresenceCounts> {
        Ok(store::counts(&self.db).await?)
    }

    pub async fn create(&self, input: NewEmployee) -> AppResult<EmployeePresence> {
        let employee_id = validate::identifier("employeeId", &input.employee_id)?;
        let name = validate::required_text("name", &input.name, validate::MAX_NAME_CHARS)?;
        let department = validate::optional_text(
            "department",
            input.department.as_deref(),
            validate::MAX_NAME_CHARS,
        )?;
        let role =
            validate::optional_text("role", input.role.as_deref(), validate::MAX_NAME_CHARS)?;
        if employee::Entity::find_by_id(employee_id.clone())
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(AppError::AlreadyExists {
                kind: "employee",
                id: employee_id,
            });
        }
        let now = Utc::now();
        let created = employee::ActiveModel {
            employee_id: Set(employee_id.clone()),
            name: Set(name),
            department: Set(department),
            role: Set(role),
            demo: Set(input.demo),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::AlreadyExists {
                kind: "employee",
                id: employee_id.clone(),
            },
            _ => e.into(),
        })?;
        let presence = EmployeePresence {
            employee: created,
            tracking: None,
            camera: None,
        };
        self.publish_change(ChangeKind::Created, &employee_id, Some(presence.clone()))
            .await;
        Ok(presence)
    }

    pub async fn update(
        &self,
        employee_id: &str,
        patch: EmployeePatch,
    ) -> AppResult<EmployeePresence> {
        let employee_id = employee_id.trim();
        let existing = employee::Entity::find_by_id(employee_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::not_found("employee", employee_id))?;
        let mut active: employee::ActiveModel = existing.into();
        if let Some(name) = &patch.name {
            active.name = Set(validate::required_text(
                "name",
                name,
                validate::MAX_NAME_CHARS,
            )?);
        }
        match &patch.department {
            Patch::Set(v) => {
                active.department = Set(validate::optional_text(
                    "department",
                    Some(v),
                    validate::MAX_NAME_CHARS,
                )?)
            }
            Patch::Clear => active.department = Set(None),
            Patch::Unchanged => {}
        }
        match &patch.role {
            Patch::Set(v) => {
                active.role = Set(validate::optional_text(
                    "role",
                    Some(v),
                    validate::MAX_NAME_CHARS,
                )?)
            }
            Patch::Clear => active.role = Set(None),
            Patch::Unchanged => {}
        }
        active.updated_at = Set(Utc::now());
        active.update(&self.db).await?;
        let presence = self
            .get(employee_id)
            .await?
            .ok_or_else(|| AppError::not_found("employee", employee_id))?;
        self.publish_change(ChangeKind::Updated, employee_id, Some(presence.clone()))
            .await;
        Ok(presence)
    }

    /// Deletes an employee with their embeddings, tracking, visits and attendance (by the
    /// foreign keys' cascade); their notifications stay in the alert history, anonymised.
    pub async fn delete(&self, employee_id: &str) -> AppResult<()> {
        let employee_id = employee_id.trim();
        let txn = self.db.begin().await?;
        if employee::Entity::find_by_id(employee_id.to_owned())
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("employee", employee_id));
        }
        notification::Entity::update_many()
            .col_expr(
                notification::Column::EmployeeId,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                notification::Column::Message,
                Expr::value(ERASED_EMPLOYEE_MESSAGE),
            )
            .filter(notification::Column::EmployeeId.eq(employee_id))
            .exec(&txn)
            .await?;
        employee::Entity::delete_by_id(employee_id.to_owned())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.publish_change(ChangeKind::Deleted, employee_id, None)
            .await;
        Ok(())
    }

    async fn publish_change(
        &self,
        kind: ChangeKind,
        employee_id: &str,
        presence: Option<EmployeePresence>,
    ) {
        self.events.publish(Event::EmployeeChanged {
            kind,
            employee_id: employee_id.to_owned(),
            presence,
        });
        match store::counts(&self.db).await {
            Ok(counts) => self.events.publish(Event::PresenceSummaryChanged(counts)),
            Err(error) => tracing::warn!(%error, "cannot count presence for the summary"),
        }
    }
}
