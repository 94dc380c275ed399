//! Create, update and delete employees (admins).

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::{
    auth::RoleGuard,
    employees::{EmployeePatch, NewEmployee},
    graphql::types::Employee,
    state::AppState,
};

/// A new employee.
#[derive(InputObject)]
pub struct EmployeeInput {
    /// 1–64 of `A-Z a-z 0-9 . _ -`.
    pub employee_id: ID,
    pub name: String,
    pub department: Option<String>,
    pub role: Option<String>,
}

/// Changes to an employee: omitted fields stay, `null` clears department or role.
#[derive(InputObject)]
pub struct EmployeeUpdateInput {
    pub name: Option<String>,
    pub department: MaybeUndefined<String>,
    pub role: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct EmployeeMutation;

#[Object]
impl EmployeeMutation {
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_employee(
        &self,
        ctx: &Context<'_>,
        input: EmployeeInput,
    ) -> async_graphql::Result<Employee> {
        let state = ctx.data_unchecked::<AppState>();
        let created = state
            .employees
            .create(NewEmployee {
                employee_id: input.employee_id.0,
                name: input.name,
                department: input.department,
                role: input.role,
            })
            .await
            .extend()?;
        Ok(created.into())
    }

    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_employee(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
        input: EmployeeUpdateInput,
    ) -> async_graphql::Result<Employee> {
        let state = ctx.data_unchecked::<AppState>();
        let updated = state
            .employees
            .update(
                &employee_id,
                EmployeePatch {
                    name: input.name,
                    department: input.department,
                    role: input.role,
                },
            )
            .await
            .extend()?;
        Ok(updated.into())
    }

    /// Deletes an employee with their faces, tracking and history; their notifications stay,
    /// anonymised. True when deleted.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_employee(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
    ) -> async_graphql::Result<bool> {
        let state = ctx.data_unchecked::<AppState>();
        state.employees.delete(&employee_id).await.extend()?;
        Ok(true)
    }
}
