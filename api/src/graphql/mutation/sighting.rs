//! Sightings and camera heartbeats from edge devices (ingest tokens and admins): the same
//! path the local recognition pipeline feeds.

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::{
    auth::RoleGuard,
    graphql::types::{Camera, Employee},
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
    pub seen_at: Option<DateTime<Utc>>,
    /// Similarity of the recognition, between -1 and 1.
    pub score: Option<f64>,
}

/// A face nobody enrolled matched (edge devices report them; no image is sent or kept).
#[derive(InputObject)]
pub struct UnknownFaceInput {
    pub camera_id: ID,
    /// When (default: now).
    pub seen_at: Option<DateTime<Utc>>,
    /// The best similarity to anyone enrolled, between -1 and 1.
    pub best_score: Option<f64>,
}

#[derive(Default)]
pub struct SightingMutation;

#[Object]
impl SightingMutation {
    /// Reports a recognised employee; returns the employee with their presence after it.
    #[graphql(guard = "RoleGuard::ingest()")]
    async fn report_sighting(
        &self,
        ctx: &Context<'_>,
        input: SightingInput,
    ) -> async_graphql::Result<Employee> {
        let state = ctx.data_unchecked::<AppState>();
        let presence = state
            .engine
            .record_sighting(Sighting {
                employee_id: input.employee_id.0.trim().to_owned(),
                camera_id: input.camera_id.0.trim().to_owned(),
                seen_at: input.seen_at,
                score: input.score,
            })
            .await
            .extend()?;
        Ok(presence.into())
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
            .unknown_face(input.camera_id.trim(), input.seen_at, input.best_score)
            .await
            .extend()?;
        Ok(true)
    }

    /// Reports that a camera delivers frames (edge devices that capture themselves send
    /// this every few seconds); a camera silent for `camera_timeout` goes offline.
    #[graphql(guard = "RoleGuard::ingest()")]
    async fn report_camera_heartbeat(
        &self,
        ctx: &Context<'_>,
        camera_id: ID,
        at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Camera> {
        let state = ctx.data_unchecked::<AppState>();
        Ok(state
            .engine
            .camera_frame(camera_id.trim(), at)
            .await
            .extend()?
            .into())
    }
}
