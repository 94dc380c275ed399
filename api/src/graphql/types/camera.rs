//! `Camera`: a camera with its status; stream credentials are shown to admins only.

use super::timestamp::Timestamp;
use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject};
use entity::camera;

use async_graphql::dataloader::DataLoader;

use super::cluster::ClusterNode;
use crate::{auth::Principal, cameras::regions, graphql::loaders::nodes::CameraNodeLoader, redact};

/// Whether a camera delivers frames.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::camera::CameraStatus")]
pub enum CameraStatus {
    Online,
    Offline,
}

/// Where a camera is defined.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::camera::CameraSource")]
pub enum CameraSource {
    /// A JSON file in the camera folder (synced at start).
    ConfigFile,
    /// Created through the API.
    Api,
}

/// A camera.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Camera {
    pub camera_id: ID,
    pub name: String,
    #[graphql(skip)]
    pub stream_url_with_credentials: String,
    pub status: CameraStatus,
    /// Delivering frames now.
    pub is_active: bool,
    /// Captured by hadir (false: listed only).
    pub enabled: bool,
    /// Frames sampled per second.
    pub sample_fps: f64,
    pub source: CameraSource,
    #[graphql(skip)]
    pub config_path_on_server: Option<String>,
    pub last_frame_at: Option<Timestamp>,
    #[graphql(skip)]
    pub status_message_for_admins: Option<String>,
    pub status_changed_at: Option<Timestamp>,
    /// Where faces are ignored (a poster, a TV): `[x1, y1, x2, y2]` in fractions of the
    /// picture.
    pub ignore_regions: Vec<Vec<f64>>,
    /// The cluster node that alone reads it (null: any node).
    pub pinned_node: Option<ID>,
    /// The demo site's camera (playing a looping recording; removed with the demo: set
    /// `demo.enabled = false`).
    pub demo: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[ComplexObject]
impl Camera {
    /// The camera's live view for an `<img>`: an MJPEG stream of its sampled frames. It
    /// carries a grant for this camera that lasts a few minutes (`live_grant_secs`), so it
    /// needs no token; add `&width=…&annotate=true&fps=…` as wanted.
    async fn live_url(&self, ctx: &Context<'_>) -> String {
        self.granted(ctx, "live.mjpeg")
    }

    /// The camera's latest sampled frame as JPEG (a grant as in `liveUrl`; the same
    /// parameters).
    async fn snapshot_url(&self, ctx: &Context<'_>) -> String {
        self.granted(ctx, "snapshot.jpg")
    }

    /// The stream URL: whole for admins; others see its scheme, host and port only
    /// (credentials, paths and query parameters such as `?token=` may be secrets).
    async fn stream_url(&self, ctx: &Context<'_>) -> String {
        if is_admin(ctx) {
            self.stream_url_with_credentials.clone()
        } else {
            redact::url_for_viewers(&self.stream_url_with_credentials)
        }
    }

    /// Why the camera is in its status, in words (for others than admins, any URL in it
    /// shows its scheme, host and port only, and nothing names a local file).
    async fn status_message(&self, ctx: &Context<'_>) -> Option<String> {
        let message = self.status_message_for_admins.as_deref()?;
        Some(if is_admin(ctx) {
            message.to_owned()
        } else {
            redact::camera_message_for_viewers(&self.stream_url_with_credentials, message)
        })
    }

    /// The camera file on the server, for cameras defined by one (admins only: a path of
    /// the server's).
    async fn config_path(&self, ctx: &Context<'_>) -> Option<String> {
        self.config_path_on_server.clone().filter(|_| is_admin(ctx))
    }

    /// The node reading it now; null when no node does (disabled, or no node has room).
    async fn node(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ClusterNode>> {
        ctx.data_unchecked::<DataLoader<CameraNodeLoader>>()
            .load_one(self.camera_id.to_string())
            .await
    }
}

impl Camera {
    /// `/cameras/{id}/{file}?grant=…` for the caller.
    fn granted(&self, ctx: &Context<'_>, file: &str) -> String {
        let id = self.camera_id.as_str();
        let path = format!(
            "/cameras/{}/{file}",
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        );
        match (
            ctx.data_opt::<Principal>(),
            ctx.data_opt::<crate::state::AppState>(),
        ) {
            (Some(principal), Some(state)) => {
                let grant = state.grants.issue(id, principal, state.clock.now());
                format!("{path}?grant={grant}")
            }
            _ => path,
        }
    }
}

fn is_admin(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Principal>().is_some_and(Principal::is_admin)
}

impl From<camera::Model> for Camera {
    fn from(model: camera::Model) -> Self {
        let ignore_regions =
            regions::from_column(&model.camera_id, model.ignore_regions.as_deref())
                .into_iter()
                .map(|r| r.to_array().to_vec())
                .collect();
        Self {
            camera_id: ID(model.camera_id),
            name: model.camera_name,
            stream_url_with_credentials: model.rtsp_url,
            status: model.status.into(),
            is_active: model.is_active,
            enabled: model.enabled,
            sample_fps: model.sample_fps,
            source: model.source.into(),
            config_path_on_server: model.config_path,
            last_frame_at: model.last_frame_at.map(Timestamp),
            status_message_for_admins: model.status_message,
            status_changed_at: model.status_changed_at.map(Timestamp),
            ignore_regions,
            pinned_node: model.pinned_node.map(ID),
            demo: model.demo,
            created_at: model.created_at.into(),
            updated_at: model.updated_at.into(),
        }
    }
}
