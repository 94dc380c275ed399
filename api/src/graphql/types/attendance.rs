//! `Date`, `AttendanceLog`, `AttendanceSummary` and `Visit`: the report page's types.

use super::timestamp::Timestamp;
use async_graphql::{
    ComplexObject, Context, ID, InputValueError, InputValueResult, Scalar, ScalarType,
    SimpleObject, Value, dataloader::DataLoader,
};
use chrono::NaiveDate;
use entity::{attendance_log, visit};

use super::{camera::Camera, employee::Employee};
use crate::{
    attendance::report::Summary,
    graphql::loaders::records::{CameraLoader, EmployeeLoader},
};

/// A day's status.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[graphql(remote = "entity::attendance_log::AttendanceStatus")]
pub enum AttendanceStatus {
    /// Seen, on time (or on a day off).
    Present,
    /// Not seen on a working day that has ended.
    Absent,
    /// First seen after the start plus the grace minutes.
    Late,
    /// Last seen before the end minus the grace minutes (on time in the morning).
    LeftEarly,
}

/// A calendar date in the site's time zone, as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date in the site's time zone, as `YYYY-MM-DD` (RFC 3339's full-date).
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!("{text:?} is not a date as YYYY-MM-DD"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

async fn employee_by_id(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Employee> {
    ctx.data_unchecked::<DataLoader<EmployeeLoader>>()
        .load_one(id.to_owned())
        .await?
        .ok_or_else(|| format!("employee {id:?} no longer exists").into())
}

/// One employee's day.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct AttendanceLog {
    #[graphql(skip)]
    pub employee_id: String,
    pub date: Date,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// Minutes present that day (from the visits).
    pub total_minutes: i32,
    pub status: AttendanceStatus,
}

#[ComplexObject]
impl AttendanceLog {
    async fn employee(&self, ctx: &Context<'_>) -> async_graphql::Result<Employee> {
        employee_by_id(ctx, &self.employee_id).await
    }
}

impl From<attendance_log::Model> for AttendanceLog {
    fn from(model: attendance_log::Model) -> Self {
        Self {
            status: model.status.into(),
            employee_id: model.employee_id,
            date: Date(model.date),
            first_seen: model.first_seen.map(Timestamp),
            last_seen: model.last_seen.map(Timestamp),
            total_minutes: model.total_duration,
        }
    }
}

/// One employee over a range of days.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct AttendanceSummary {
    #[graphql(skip)]
    pub employee_id: String,
    /// Days seen: on time, late or leaving early.
    pub days_present: i32,
    pub days_late: i32,
    pub days_left_early: i32,
    pub days_absent: i32,
    pub total_minutes: i64,
    pub total_hours: f64,
}

#[ComplexObject]
impl AttendanceSummary {
    async fn employee(&self, ctx: &Context<'_>) -> async_graphql::Result<Employee> {
        employee_by_id(ctx, &self.employee_id).await
    }
}

impl From<Summary> for AttendanceSummary {
    fn from(s: Summary) -> Self {
        Self {
            employee_id: s.employee.employee_id,
            days_present: s.days_present,
            days_late: s.days_late,
            days_left_early: s.days_left_early,
            days_absent: s.days_absent,
            total_minutes: s.total_minutes,
            total_hours: (s.total_minutes as f64 / 60.0 * 100.0).round() / 100.0,
        }
    }
}

/// An employee at one camera from one time to another.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Visit {
    pub id: ID,
    #[graphql(skip)]
    pub camera_id: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    /// Sightings that made the visit.
    pub sightings: i32,
}

#[ComplexObject]
impl Visit {
    /// The camera (null once deleted).
    async fn camera(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Camera>> {
        let Some(id) = &self.camera_id else {
            return Ok(None);
        };
        ctx.data_unchecked::<DataLoader<CameraLoader>>()
            .load_one(id.clone())
            .await
    }

    async fn duration_minutes(&self) -> i64 {
        (self.ended_at.0 - self.started_at.0).num_minutes()
    }
}

impl From<visit::Model> for Visit {
    fn from(v: visit::Model) -> Self {
        Self {
            id: ID(v.id.to_string()),
            camera_id: v.camera_id,
            started_at: v.started_at.into(),
            ended_at: v.ended_at.into(),
            sightings: v.sightings,
        }
    }
}
