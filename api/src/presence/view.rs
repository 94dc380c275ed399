//! What readers of presence see: an employee with their presence, and the dashboard's
//! counts. A leaf: events, GraphQL, MQTT and webhooks read these without the engine.

use entity::{camera, employee, employee_tracking as tracking};

/// An employee with their presence: the tracking row (None: never seen) and its camera.
#[derive(Clone, Debug)]
pub struct EmployeePresence {
    pub employee: employee::Model,
    pub tracking: Option<tracking::Model>,
    pub camera: Option<camera::Model>,
}

/// The dashboard's summary (serialised as MQTT and webhooks send it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PresenceCounts {
    pub present: i64,
    pub alert: i64,
    pub unavailable: i64,
    pub total: i64,
}
