//! Sightings and camera heartbeats from edge devices (ingest tokens and admins): the same
//! path the local recognition pipeline feeds.

use crate::graphql::types::Timestamp;
use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, InputObject, Object};

use crate::{
    clock::to_stored_precision,
    graphql::{
        guard::RoleGuard,
        types::{Camera, Employee, HeartbeatReceipt, SightingReceipt},
    },
    presence::Sighting,
    state::AppState,
};

/// An employee recognised at a camera.
#[derive(InputObject)]
pub struct SightingInput {
    pub employee_id: ID,
    pub camera_id: ID,
    /// When (default: now). A past time lands in the history without changing the current
    /// status if it is older than what is known.
    pub seen_at: Option<Timestamp>,
    /// Similarity of the recognition, between -1 and 1.
    pub score: Option<f64>,
}

/// A face nobody enrolled matched (edge devices report them; no image is sent or kept).
#[derive(InputObject)]
pub struct UnknownFaceInput {
    pub camera_id: ID,
    /// When (default: now).
    pub seen_at: Option<Timestamp>,
    /// The best similarity to anyone enrolled, between -1 and 1.
    pub best_score: Option<f64>,
}

#[derive(Default)]
pub struct SightingMutation;

#[Object]
impl SightingMutation {
    /// Reports a recognised employee; returns a receipt (the employee's status after it),
    /// not the employee's record.
    #[graphql(guard = "RoleGuard::ingest()")]
    async fn report_sighting(
        &self,
        ctx: &Context<'_>,
        input: SightingInput,
    ) -> async_graphql::Result<SightingReceipt> {
        let state = ctx.data_unchecked::<AppState>();
        let seen_at = to_stored_precision(input.seen_at.map_or_else(|| state.clock.now(), |t| t.0));
        let camera_id = input.camera_id.0.trim().to_owned();
        let presence = state
            .engine
            .record_sighting(Sighting {
                employee_id: input.employee_id.0.trim().to_owned(),
                camera_id: camera_id.clone(),
                seen_at: Some(seen_at),
                score: input.score,
                // A reported sighting is announced, as each comes.
                track_id: None,
                announce: true,
            })
            .await
            .extend()?;
        let employee = Employee::from(presence.clone());
        let latest = presence.tracking.as_ref().is_some_and(|t| {
            t.last_seen == seen_at && t.camera_id.as_deref() == Some(camera_id.as_str())
        });
        Ok(SightingReceipt {
            employee_id: employee.employee_id,
            camera_id: ID(camera_id),
            seen_at: seen_at.into(),
            status: employee.presence.status,
            latest,
        })
    }

    /// Reports a face nobody enrolled matched; subscribers of `unknownFaceDetected` hear of
    /// it. True when accepted.
    #[graphql(guard = "RoleGuard::ingest()")]
    async fn report_unknown_face(
        &self,
        ctx: &Context<'_>,
        input: UnknownFaceInput,
    ) -> async_graphql::Result<bool> {
        let state = ctx.data_unchecked::<AppState>();
        state
            .engine
            .unknown_face(
                input.camera_id.trim(),
                input.seen_at.map(|t| t.0),
                input.best_score,
                None,
            )
            .await
            .extend()?;
        Ok(true)
    }

    /// Reports that a camera delivers frames (edge devices that capture themselves send
    /// this every few seconds); a camera silent for `camera_timeout` goes offline. Returns
    /// a receipt, not the camera's record.
    #[graphql(guard = "RoleGuard::ingest()")]
    async fn report_camera_heartbeat(
        &self,
        ctx: &Context<'_>,
        camera_id: ID,
        at: Option<Timestamp>,
    ) -> async_graphql::Result<HeartbeatReceipt> {
        let state = ctx.data_unchecked::<AppState>();
        let camera = Camera::from(
            state
                .engine
                .camera_frame(camera_id.trim(), at.map(|t| t.0))
                .await
                .extend()?,
        );
        Ok(HeartbeatReceipt {
            camera_id: camera.camera_id,
            status: camera.status,
            last_frame_at: camera.last_frame_at,
        })
    }
}
