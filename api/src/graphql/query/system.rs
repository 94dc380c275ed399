//! Queries about the server itself: its time, the site's time zone and hours, the AI status,
//! the caller, the tokens.

use crate::graphql::types::Timestamp;
use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{Offset as _, Weekday};

use crate::{
    auth::Principal,
    graphql::{
        guard::RoleGuard,
        types::{AiStatus, ApiToken, ClusterNode, Date, Me},
    },
    state::AppState,
};

#[derive(Default)]
pub struct SystemQuery;

/// The site: its time zone (attendance days, reports and the dashboard's clock follow it)
/// and its default working hours (departments may have their own).
#[derive(SimpleObject, Clone, Debug)]
pub struct Site {
    /// IANA name, e.g. `Asia/Jakarta`.
    pub time_zone: String,
    /// The site's date now.
    pub today: Date,
    /// The site's offset from UTC now, in minutes (east positive).
    pub utc_offset_minutes: i32,
    /// When the working day starts, `HH:MM`.
    pub work_start: String,
    /// When it ends, `HH:MM`.
    pub work_end: String,
    /// Minutes after `work_start` before an arrival counts as late.
    pub grace_minutes: i32,
    /// Working days, `MON` … `SUN`.
    pub work_days: Vec<String>,
}

#[Object]
impl SystemQuery {
    /// The nodes of the cluster (several `hadir serve` on one PostgreSQL; on SQLite the one
    /// server), by id, dead ones too until they are purged, with the cameras each reads.
    #[graphql(guard = "RoleGuard::read()")]
    async fn cluster_nodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ClusterNode>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(crate::cluster::view::nodes(&state.db, &state.cluster)
            .await
            .map_err(crate::error::AppError::from)
            .extend()?
            .into_iter()
            .map(ClusterNode::from)
            .collect())
    }

    /// The server's date and time (for the dashboard's header; no database involved).
    #[graphql(guard = "RoleGuard::read()")]
    async fn server_time(&self, ctx: &Context<'_>) -> Timestamp {
        ctx.data_unchecked::<AppState>().clock.now().into()
    }

    /// The site's time zone, today's date there and its default working hours.
    #[graphql(guard = "RoleGuard::read()")]
    async fn site(&self, ctx: &Context<'_>) -> Site {
        let state = ctx.data_unchecked::<AppState>();
        let schedule = state.attendance.schedule();
        let now = state.clock.now().with_timezone(&schedule.timezone);
        let hours = &schedule.default;
        let week = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        Site {
            time_zone: schedule.timezone.name().to_owned(),
            today: Date(now.date_naive()),
            utc_offset_minutes: now.offset().fix().local_minus_utc() / 60,
            work_start: hours.start.format("%H:%M").to_string(),
            work_end: hours.end.format("%H:%M").to_string(),
            grace_minutes: i32::try_from(hours.grace_minutes).unwrap_or(i32::MAX),
            work_days: week
                .into_iter()
                .filter(|day| hours.days.contains(*day))
                .map(|day| day.to_string().to_uppercase())
                .collect(),
        }
    }

    /// Whether face recognition is running.
    #[graphql(guard = "RoleGuard::read()")]
    async fn ai_status(&self, ctx: &Context<'_>) -> AiStatus {
        ctx.data_unchecked::<AppState>().ai_status.current().into()
    }

    /// The caller's role (any valid token may ask).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let principal = ctx
            .data_opt::<Principal>()
            .ok_or_else(crate::graphql::error::unauthenticated)?;
        Ok(Me {
            role: principal.role.into(),
            token_id: principal.token_id.map(|id| ID(id.to_string())),
        })
    }

    /// Every API token (admins only; secrets are never shown again).
    #[graphql(guard = "RoleGuard::admin()")]
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .tokens
            .list()
            .await
            .extend()?
            .into_iter()
            .map(ApiToken::from)
            .collect())
    }
}
