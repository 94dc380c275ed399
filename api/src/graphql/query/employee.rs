//! Queries about employees and their presence.

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        guard::RoleGuard,
        types::{Employee, PresenceStatus, PresenceSummary},
    },
    state::AppState,
};

#[derive(Default)]
pub struct EmployeeQuery;

#[Object]
impl EmployeeQuery {
    /// Every employee, seen or not, ordered by name; optionally only one department or one
    /// status.
    #[graphql(guard = "RoleGuard::read()")]
    async fn employees(
        &self,
        ctx: &Context<'_>,
        department: Option<String>,
        status: Option<PresenceStatus>,
    ) -> async_graphql::Result<Vec<Employee>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .employees
            .list()
            .await
            .extend()?
            .into_iter()
            .map(Employee::from)
            .filter(|e| department.is_none() || e.department == department)
            .filter(|e| status.is_none_or(|s| e.presence.status == s))
            .collect())
    }

    /// One employee; null when there is none with that id.
    #[graphql(guard = "RoleGuard::read()")]
    async fn employee(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
    ) -> async_graphql::Result<Option<Employee>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .employees
            .get(&employee_id)
            .await
            .extend()?
            .map(Employee::from))
    }

    /// present (AVAILABLE), alert (OFFLINE), unavailable (never seen), total.
    #[graphql(guard = "RoleGuard::read()")]
    async fn presence_summary(&self, ctx: &Context<'_>) -> async_graphql::Result<PresenceSummary> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state.employees.counts().await.extend()?.into())
    }
}
