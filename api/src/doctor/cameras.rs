//! Every enabled camera, as the server would read it: the files of the camera folder (a broken
//! file named, as start-up skips it) and the cameras created through the API (from the
//! database; a file wins over a row of the same id, as the sync makes it). Each is opened and
//! read once ([`vision::source::probe`]), [`CAMERA_CONCURRENCY`] at a time, each within
//! [`CAMERA_TIMEOUT`]; then the face detector runs once on each frame decoded. What each
//! probe found becomes rows in [`super::camera_rows`].

use std::path::Path;

use entity::camera::{self, CameraSource};
use futures_util::StreamExt as _;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use vision::{
    pipeline::FacePipeline,
    region::FrameView,
    source::{SourceOptions, probe},
};

use super::{
    CAMERA_CONCURRENCY, CAMERA_CONNECT_TIMEOUT, CAMERA_TIMEOUT, CAMERA_WATCH, Check,
    DATABASE_TIMEOUT, Section,
    camera::{Camera, CameraFacts},
    camera_rows,
};
use crate::{cameras::sync::read_folder, config::Config};

const S: Section = Section::Cameras;

/// The cameras' rows and facts.
#[derive(Default)]
pub struct Found {
    pub checks: Vec<Check>,
    pub facts: Vec<CameraFacts>,
}

/// Checks every enabled camera.
pub async fn check(
    config: &Config,
    database: Option<&DatabaseConnection>,
    mut faces: Option<&mut FacePipeline>,
) -> Found {
    let mut found = Found::default();
    let cameras = gather(&config.cameras.configs, database, &mut found.checks).await;
    if cameras.is_empty() {
        found.checks.push(Check::warn(
            S,
            "cameras",
            "no enabled camera: nothing will be recognised",
            format!(
                "add a camera file to {} (camera_configs/README.md), or a camera through the API",
                config.cameras.configs.display()
            ),
        ));
        return found;
    }
    let options = SourceOptions {
        connect_timeout: CAMERA_CONNECT_TIMEOUT,
        frame_timeout: CAMERA_CONNECT_TIMEOUT,
        ..config.cameras.source_options()
    };
    let options = &options;
    let probes: Vec<(Camera, probe::Probe)> = futures_util::stream::iter(cameras)
        .map(|camera| async move {
            let reading =
                probe::probe(&camera.url, camera.sample_interval(), options, CAMERA_WATCH);
            let result = match tokio::time::timeout(CAMERA_TIMEOUT, reading).await {
                Ok(result) => result,
                Err(_) => probe::Probe {
                    reached: probe::Stage::Unreached,
                    facts: Default::default(),
                    frame: None,
                    error: Some(vision::source::SourceError::Timeout(CAMERA_TIMEOUT)),
                },
            };
            (camera, result)
        })
        .buffered(CAMERA_CONCURRENCY)
        .collect()
        .await;
    for (camera, result) in probes {
        let detected = match (&result.frame, faces.as_deref_mut()) {
            (Some(frame), Some(pipeline)) => Some(tokio::task::block_in_place(|| {
                pipeline
                    .analyse_view(&FrameView::new(frame, None))
                    .map(|faces| {
                        faces
                            .iter()
                            .map(|f| {
                                (
                                    f.face.width().round() as u32,
                                    f.face.height().round() as u32,
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                    .map_err(|e| e.to_string())
            })),
            _ => None,
        };
        let min_face = config.recognition.min_face_px;
        let rows = camera_rows::rows(&camera, &result, detected.as_ref(), min_face);
        let mut facts = camera_rows::facts(&camera, &result, detected.as_ref());
        facts.status = rows.iter().map(|c| c.status).max();
        found.checks.extend(rows);
        found.facts.push(facts);
    }
    found
}

/// The enabled cameras: the folder's files, then the API's cameras no file defines.
async fn gather(
    folder: &Path,
    database: Option<&DatabaseConnection>,
    checks: &mut Vec<Check>,
) -> Vec<Camera> {
    let (files, errors) = read_folder(folder);
    for error in errors {
        let shown = crate::redact::message_for_logs(&error.to_string());
        checks.push(if error.path == folder {
            Check::warn(
                S,
                "camera folder",
                shown,
                format!(
                    "create {} (cameras.configs, HADIR_CAMERA_CONFIGS) or point it at the folder \
                     of camera files",
                    folder.display()
                ),
            )
        } else {
            Check::fail(
                S,
                format!("file {}", error.path.display()),
                shown,
                "correct the file (camera_configs/README.md documents its keys); start-up skips it",
            )
        });
    }
    let mut cameras = Vec::new();
    for file in &files {
        if !file.enabled {
            checks.push(Check::ok(
                S,
                format!("{}: enabled", file.id),
                format!("disabled in {}: not read, not checked", file.path.display()),
            ));
            continue;
        }
        cameras.push(Camera {
            id: file.id.clone(),
            name: file.name.clone(),
            url: file.stream_url.clone(),
            sample_fps: file.fps,
            source: format!("file {}", file.path.display()),
        });
    }
    let Some(database) = database else {
        return cameras;
    };
    let query = camera::Entity::find()
        .filter(camera::Column::Enabled.eq(true))
        .filter(camera::Column::Source.eq(CameraSource::Api))
        .all(database);
    match tokio::time::timeout(DATABASE_TIMEOUT, query).await {
        Ok(Ok(rows)) => {
            for row in rows {
                if files.iter().any(|f| f.id == row.camera_id) {
                    continue;
                }
                cameras.push(Camera {
                    id: row.camera_id,
                    name: row.camera_name,
                    url: row.rtsp_url,
                    sample_fps: row.sample_fps,
                    source: "api".to_owned(),
                });
            }
        }
        Ok(Err(error)) => checks.push(Check::warn(
            S,
            "cameras of the API",
            format!("cannot be read from the database: {error}"),
            "migrate the database (`hadir migrate`); cameras added through the API are kept there",
        )),
        Err(_) => checks.push(Check::warn(
            S,
            "cameras of the API",
            format!("the database did not answer within {DATABASE_TIMEOUT:?}"),
            "check the database (above)",
        )),
    }
    cameras
}
