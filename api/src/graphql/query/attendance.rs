//! Queries of the report page: daily attendance, summaries over ranges, visits.

use crate::graphql::types::Timestamp;
use async_graphql::{Context, ID, Object, ResultExt as _};
use chrono::TimeDelta;
use entity::visit;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    attendance::report,
    error::AppError,
    graphql::{
        error::bad_input,
        guard::RoleGuard,
        types::{AttendanceLog, AttendanceSummary, Date, Visit},
    },
    state::AppState,
};

/// Visits returned at most by one query.
pub const MAX_VISITS: u64 = 5_000;
/// The window `visits` covers when `from` is not given.
pub const DEFAULT_VISITS_WINDOW: TimeDelta = TimeDelta::days(7);

#[derive(Default)]
pub struct AttendanceQuery;

#[Object]
impl AttendanceQuery {
    /// The attendance of one day (in the site's time zone), by name; optionally one
    /// employee or one department.
    #[graphql(guard = "RoleGuard::read()")]
    async fn attendance(
        &self,
        ctx: &Context<'_>,
        date: Date,
        employee_id: Option<ID>,
        department: Option<String>,
    ) -> async_graphql::Result<Vec<AttendanceLog>> {
        let state = ctx.data_unchecked::<AppState>();
        let logs = state
            .attendance
            .logs(
                date.0,
                employee_id.as_ref().map(|id| id.trim()),
                department.as_deref(),
            )
            .await
            .extend()?;
        Ok(logs
            .into_iter()
            .map(|(log, _)| AttendanceLog::from(log))
            .collect())
    }

    /// Per employee from `from` to `to` (inclusive): days present, late, left early,
    /// absent, and the time present.
    #[graphql(guard = "RoleGuard::read()")]
    async fn attendance_report(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        department: Option<String>,
    ) -> async_graphql::Result<Vec<AttendanceSummary>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(
            report::summarise(&state.db, from.0, to.0, department.as_deref())
                .await
                .extend()?
                .into_iter()
                .map(AttendanceSummary::from)
                .collect(),
        )
    }

    /// An employee's visits overlapping [`from`, `to`) (default: the last 7 days), oldest
    /// first.
    #[graphql(guard = "RoleGuard::read()")]
    async fn visits(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> async_graphql::Result<Vec<Visit>> {
        let state = ctx.data_unchecked::<AppState>();
        let to = to.map_or_else(|| state.clock.now(), |t| t.0);
        let from = from.map_or(to - DEFAULT_VISITS_WINDOW, |t| t.0);
        if to < from {
            return Err(bad_input("to", format!("{to} is before {from}")));
        }
        let rows = visit::Entity::find()
            .filter(visit::Column::EmployeeId.eq(employee_id.trim()))
            .filter(visit::Column::EndedAt.gte(from))
            .filter(visit::Column::StartedAt.lt(to))
            .order_by_asc(visit::Column::StartedAt)
            .limit(MAX_VISITS)
            .all(&state.db)
            .await
            .map_err(AppError::from)
            .extend()?;
        Ok(rows.into_iter().map(Visit::from).collect())
    }
}
