//! The camera service: list, get, create, update and delete cameras, with their checks and
//! the events that tell subscribers.

use std::path::Path;

use chrono::Utc;
use entity::camera::{self, CameraSource, CameraStatus};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set};

use crate::{
    error::{AppError, AppResult},
    events::{ChangeKind, Event, EventBus},
    patch::Patch,
    validate,
};

use super::{config_file::DEFAULT_SAMPLE_FPS, regions};

/// A camera to create.
#[derive(Clone, Debug)]
pub struct NewCamera {
    pub camera_id: String,
    pub name: String,
    pub stream_url: String,
    pub sample_fps: Option<f64>,
    pub enabled: Option<bool>,
    /// Where faces are ignored (see [`super::regions`]); none when absent.
    pub ignore_regions: Option<Vec<Vec<f64>>>,
    /// The node that alone reads it (None: any node; a webcam or a file: the node that
    /// creates it, where it is).
    pub pinned_node: Option<String>,
    /// The demo site's camera ([`crate::demo`]).
    pub demo: bool,
}

/// Changes to a camera; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct CameraPatch {
    pub name: Option<String>,
    pub stream_url: Option<String>,
    /// [`Patch::Clear`] restores the default.
    pub sample_fps: Patch<f64>,
    pub enabled: Option<bool>,
    /// Replaces the regions (`[]` or null: none).
    pub ignore_regions: Patch<Vec<Vec<f64>>>,
    /// [`Patch::Clear`]: any node may read it (a webcam or a file: this node).
    pub pinned_node: Patch<String>,
}

/// The camera service.
#[derive(Clone, Debug)]
pub struct CameraRegistry {
    db: DatabaseConnection,
    events: EventBus,
    /// This node's id: a webcam or file camera created here is pinned to it.
    node_id: std::sync::Arc<str>,
}

/// The node a camera is pinned to: the one asked for, else this node for a camera only it
/// can read (a webcam, a file), else none.
fn pinned(asked: Option<String>, stream_url: &str, this_node: &str) -> AppResult<Option<String>> {
    match asked {
        Some(node) => Ok(Some(validate::identifier("pinnedNode", &node)?)),
        None if !vision::source::is_network(stream_url) => Ok(Some(this_node.to_owned())),
        None => Ok(None),
    }
}

impl CameraRegistry {
    pub fn new(db: DatabaseConnection, events: EventBus, node_id: &str) -> Self {
        Self {
            db,
            events,
            node_id: std::sync::Arc::from(node_id),
        }
    }

    /// Every camera, by id.
    pub async fn list(&self) -> AppResult<Vec<camera::Model>> {
        Ok(camera::Entity::find()
            .order_by_asc(camera::Column::CameraId)
            .all(&self.db)
            .await?)
    }

    pub async fn get(&self, camera_id: &str) -> AppResult<Option<camera::Model>> {
        Ok(camera::Entity::find_by_id(camera_id.trim().to_owned())
            .one(&self.db)
            .await?)
    }

    async fn require(&self, camera_id: &str) -> AppResult<camera::Model> {
        self.get(camera_id)
            .await?
            .ok_or_else(|| AppError::not_found("camera", camera_id.trim()))
    }

    pub async fn create(&self, input: NewCamera) -> AppResult<camera::Model> {
        let camera_id = validate::identifier("cameraId", &input.camera_id)?;
        let name = validate::required_text("name", &input.name, validate::MAX_NAME_CHARS)?;
        let stream_url = validate::stream_url("streamUrl", &input.stream_url)?;
        let sample_fps =
            validate::sample_fps("sampleFps", input.sample_fps.unwrap_or(DEFAULT_SAMPLE_FPS))?;
        let ignore_regions = regions::check(
            "ignoreRegions",
            input.ignore_regions.as_deref().unwrap_or(&[]),
        )?;
        let pinned_node = pinned(input.pinned_node, &stream_url, &self.node_id)?;
        if self.get(&camera_id).await?.is_some() {
            return Err(AppError::AlreadyExists {
                kind: "camera",
                id: camera_id,
            });
        }
        let now = Utc::now();
        let created = camera::ActiveModel {
            camera_id: Set(camera_id.clone()),
            camera_name: Set(name),
            rtsp_url: Set(stream_url),
            status: Set(CameraStatus::Offline),
            is_active: Set(false),
            enabled: Set(input.enabled.unwrap_or(true)),
            sample_fps: Set(sample_fps),
            source: Set(CameraSource::Api),
            config_path: Set(None),
            last_frame_at: Set(None),
            status_message: Set(None),
            status_changed_at: Set(None),
            status_version: Set(0),
            pinned_node: Set(pinned_node),
            ignore_regions: Set(regions::to_column(&ignore_regions)),
            demo: Set(input.demo),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(|e| match self.already_exists(&e) {
            true => AppError::AlreadyExists {
                kind: "camera",
                id: camera_id.clone(),
            },
            false => e.into(),
        })?;
        self.events.publish(Event::CameraChanged {
            kind: ChangeKind::Created,
            camera_id: created.camera_id.clone(),
            camera: Some(created.clone()),
        });
        Ok(created)
    }

    /// Updates a camera. A camera defined by a file can be changed too, but its file wins at
    /// the next start.
    pub async fn update(&self, camera_id: &str, patch: CameraPatch) -> AppResult<camera::Model> {
        let existing = self.require(camera_id).await?;
        let url_after = patch
            .stream_url
            .clone()
            .unwrap_or_else(|| existing.rtsp_url.clone());
        let pin = match patch.pinned_node.clone() {
            Patch::Set(node) => Some(pinned(Some(node), &url_after, &self.node_id)?),
            Patch::Clear => Some(pinned(None, &url_after, &self.node_id)?),
            // A camera that becomes a local one is pinned here, where it can be read.
            Patch::Unchanged if existing.pinned_node.is_none() => {
                Some(pinned(None, &url_after, &self.node_id)?).filter(Option::is_some)
            }
            Patch::Unchanged => None,
        };
        let mut active: camera::ActiveModel = existing.into();
        if let Some(pin) = pin {
            active.pinned_node = Set(pin);
        }
        if let Some(name) = &patch.name {
            active.camera_name = Set(validate::required_text(
                "name",
                name,
                validate::MAX_NAME_CHARS,
            )?);
        }
        if let Some(url) = &patch.stream_url {
            active.rtsp_url = Set(validate::stream_url("streamUrl", url)?);
        }
        match patch.sample_fps {
            Patch::Set(fps) => active.sample_fps = Set(validate::sample_fps("sampleFps", fps)?),
            Patch::Clear => active.sample_fps = Set(DEFAULT_SAMPLE_FPS),
            Patch::Unchanged => {}
        }
        match &patch.ignore_regions {
            Patch::Set(list) => {
                let checked = regions::check("ignoreRegions", list)?;
                active.ignore_regions = Set(regions::to_column(&checked));
            }
            Patch::Clear => active.ignore_regions = Set(None),
            Patch::Unchanged => {}
        }
        if let Some(enabled) = patch.enabled {
            active.enabled = Set(enabled);
            if !enabled {
                active.is_active = Set(false);
            }
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&self.db).await?;
        self.events.publish(Event::CameraChanged {
            kind: ChangeKind::Updated,
            camera_id: updated.camera_id.clone(),
            camera: Some(updated.clone()),
        });
        Ok(updated)
    }

    /// Deletes a camera; its history keeps the rows with no camera. A camera whose file is
    /// still in the camera folder is refused: the file would bring it back at the next start.
    pub async fn delete(&self, camera_id: &str) -> AppResult<()> {
        let existing = self.require(camera_id).await?;
        if existing.source == CameraSource::ConfigFile
            && let Some(path) = existing.config_path.as_deref()
            && Path::new(path).exists()
        {
            return Err(AppError::Refused(format!(
                "camera {:?} is defined by {path}: delete that file (or set \"enabled\": false in it) instead",
                existing.camera_id
            )));
        }
        camera::Entity::delete_by_id(existing.camera_id.clone())
            .exec(&self.db)
            .await?;
        self.events.publish(Event::CameraChanged {
            kind: ChangeKind::Deleted,
            camera_id: existing.camera_id,
            camera: None,
        });
        Ok(())
    }

    fn already_exists(&self, error: &sea_orm::DbErr) -> bool {
        matches!(
            error.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        )
    }
}
