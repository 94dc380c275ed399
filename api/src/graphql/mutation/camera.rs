//! Create, update and delete cameras (admins).

use async_graphql::ResultExt as _;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::{
    cameras::{CameraPatch, NewCamera},
    graphql::{guard::RoleGuard, types::Camera},
    state::AppState,
};

/// A new camera.
#[derive(InputObject)]
pub struct CameraInput {
    /// 1–64 of `A-Z a-z 0-9 . _ -`.
    pub camera_id: ID,
    pub name: String,
    /// `rtsp://…`, `http(s)://…` (MJPEG or JPEG snapshots), `file://…`, or `"0"` (webcam).
    pub stream_url: String,
    /// Frames sampled per second (default 1).
    pub sample_fps: Option<f64>,
    /// Captured by hadir (default true).
    pub enabled: Option<bool>,
    /// Where faces are ignored (a poster, a TV): `[x1, y1, x2, y2]` in fractions of the
    /// picture, at most 16 (default: none).
    pub ignore_regions: Option<Vec<Vec<f64>>>,
    /// The cluster node that alone reads it (default: any node; a webcam or a file: the node
    /// that creates it, where the device or file is).
    pub pinned_node: Option<ID>,
}

/// Changes to a camera: omitted fields stay; `sampleFps: null` restores the default;
/// `ignoreRegions` replaces the regions (`[]` or null: none); `pinnedNode: null` unpins it.
#[derive(InputObject)]
pub struct CameraUpdateInput {
    pub name: Option<String>,
    pub stream_url: Option<String>,
    pub sample_fps: MaybeUndefined<f64>,
    pub enabled: Option<bool>,
    pub ignore_regions: MaybeUndefined<Vec<Vec<f64>>>,
    /// `null`: any node reads it again (a webcam or a file: this node).
    pub pinned_node: MaybeUndefined<ID>,
}

#[derive(Default)]
pub struct CameraMutation;

#[Object]
impl CameraMutation {
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_camera(
        &self,
        ctx: &Context<'_>,
        input: CameraInput,
    ) -> async_graphql::Result<Camera> {
        let state = ctx.data_unchecked::<AppState>();
        let created = state
            .cameras
            .create(NewCamera {
                camera_id: input.camera_id.0,
                name: input.name,
                stream_url: input.stream_url,
                sample_fps: input.sample_fps,
                enabled: input.enabled,
                ignore_regions: input.ignore_regions,
                pinned_node: input.pinned_node.map(|id| id.0),
                demo: false,
            })
            .await
            .extend()?;
        Ok(created.into())
    }

    /// Updates a camera. A camera defined by a file in the camera folder takes its file's
    /// values again at the next start.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_camera(
        &self,
        ctx: &Context<'_>,
        camera_id: ID,
        input: CameraUpdateInput,
    ) -> async_graphql::Result<Camera> {
        let state = ctx.data_unchecked::<AppState>();
        let updated = state
            .cameras
            .update(
                &camera_id,
                CameraPatch {
                    name: input.name,
                    stream_url: input.stream_url,
                    sample_fps: input.sample_fps.into(),
                    enabled: input.enabled,
                    ignore_regions: input.ignore_regions.into(),
                    pinned_node: input.pinned_node.map_value(|id| id.0).into(),
                },
            )
            .await
            .extend()?;
        Ok(updated.into())
    }

    /// Deletes a camera created through the API (or one whose file is gone). True when
    /// deleted.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_camera(&self, ctx: &Context<'_>, camera_id: ID) -> async_graphql::Result<bool> {
        let state = ctx.data_unchecked::<AppState>();
        state.cameras.delete(&camera_id).await.extend()?;
        Ok(true)
    }
}
