//! Create, update and delete employees (admins).

use async_graphql::ResultExt as _;
use async_graphql::{Context, ErrorExtensions, ID, InputObject, MaybeUndefined, Object, Upload};

use crate::{
    employees::{EmployeePatch, NewEmployee},
    graphql::{error::bad_input, guard::RoleGuard, types::Employee},
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
                demo: false,
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
                    department: input.department.into(),
                    role: input.role.into(),
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
        state.faces.employee_deleted(employee_id.trim()).await;
        Ok(true)
    }

    /// Enrols the face on `photo` (GraphQL multipart request): exactly one clear face,
    /// large and sharp enough. The embedding, the model and the consent time are stored;
    /// the photo is not.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn enroll_face(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
        photo: Upload,
    ) -> async_graphql::Result<Employee> {
        let state = ctx.data_unchecked::<AppState>();
        let bytes = read_upload(ctx, &photo, state.config.recognition.max_photo_bytes)?;
        state.faces.enroll(&employee_id, bytes).await.extend()?;
        employee_after(state, &employee_id).await
    }

    /// Removes every enrolled face of an employee.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn remove_faces(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
    ) -> async_graphql::Result<Employee> {
        let state = ctx.data_unchecked::<AppState>();
        state.faces.remove_faces(&employee_id).await.extend()?;
        employee_after(state, &employee_id).await
    }
}

async fn employee_after(state: &AppState, employee_id: &str) -> async_graphql::Result<Employee> {
    state
        .employees
        .get(employee_id)
        .await
        .extend()?
        .map(Employee::from)
        .ok_or_else(|| crate::error::AppError::not_found("employee", employee_id.trim()).extend())
}

/// The bytes of an upload, refusing files over `limit` before reading them.
fn read_upload(ctx: &Context<'_>, upload: &Upload, limit: usize) -> async_graphql::Result<Vec<u8>> {
    use std::io::Read;
    let value = upload
        .value(ctx)
        .map_err(|e| bad_input("photo", format!("the upload cannot be read: {e}")))?;
    let size = value.size().unwrap_or(0);
    if size > limit as u64 {
        return Err(bad_input(
            "photo",
            format!(
                "the file is {:.1} MB; photos may be at most {:.1} MB",
                size as f64 / 1_048_576.0,
                limit as f64 / 1_048_576.0
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    value
        .into_read()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad_input("photo", format!("the upload cannot be read: {e}")))?;
    Ok(bytes)
}
