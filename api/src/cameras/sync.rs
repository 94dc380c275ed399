//! Loads every `*.json` in the camera folder and syncs it into `cameras`: new cameras are
//! inserted, known ones updated; a camera whose file disappeared is disabled and marked
//! inactive (never deleted: its history stays); cameras created through the API are left
//! alone. A broken file is reported and skipped; the others still load.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use chrono::Utc;
use entity::camera::{self, CameraSource, CameraStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};

use super::{
    config_file::{self, CameraFile, CameraFileError},
    regions,
};

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// Cameras whose file disappeared: disabled, kept.
    pub disabled: Vec<String>,
    /// Files that could not be used.
    pub errors: Vec<CameraFileError>,
}

/// Reads the folder: the good files (sorted by path) and the errors of the others. A missing
/// folder is one error.
pub fn read_folder(folder: &Path) -> (Vec<CameraFile>, Vec<CameraFileError>) {
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(CameraFileError {
                path: folder.to_path_buf(),
                field: None,
                reason: format!("cannot read the camera folder: {e}"),
            });
            return (Vec::new(), errors);
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("json"))
                && p.is_file()
        })
        .collect();
    paths.sort();
    let mut cameras: Vec<CameraFile> = Vec::new();
    let mut seen: HashMap<String, std::path::PathBuf> = HashMap::new();
    for path in paths {
        match config_file::read(&path) {
            Ok(camera) => {
                if let Some(first) = seen.get(&camera.id) {
                    errors.push(CameraFileError {
                        path: path.clone(),
                        field: Some("id".to_owned()),
                        reason: format!(
                            "camera {:?} is already defined by {}",
                            camera.id,
                            first.display()
                        ),
                    });
                    continue;
                }
                seen.insert(camera.id.clone(), path);
                cameras.push(camera);
            }
            Err(error) => errors.push(error),
        }
    }
    (cameras, errors)
}

/// Syncs the folder into the `cameras` table.
///
/// `this_node` is the node syncing: a webcam or file camera is pinned to it (only it can
/// read it), a camera whose file names a `node` to that one.
pub async fn sync_folder(
    db: &DatabaseConnection,
    folder: &Path,
    this_node: &str,
) -> Result<SyncReport, DbErr> {
    let (files, errors) = read_folder(folder);
    let mut report = SyncReport {
        errors,
        ..Default::default()
    };
    let now = Utc::now();
    for file in &files {
        let path = file.path.display().to_string();
        match camera::Entity::find_by_id(file.id.clone()).one(db).await? {
            None => {
                camera::ActiveModel {
                    camera_id: Set(file.id.clone()),
                    camera_name: Set(file.name.clone()),
                    rtsp_url: Set(file.stream_url.clone()),
                    status: Set(CameraStatus::Offline),
                    is_active: Set(false),
                    enabled: Set(file.enabled),
                    sample_fps: Set(file.fps),
                    source: Set(CameraSource::ConfigFile),
                    config_path: Set(Some(path)),
                    last_frame_at: Set(None),
                    status_message: Set(None),
                    status_changed_at: Set(None),
                    status_version: Set(0),
                    pinned_node: Set(file.pinned_node(this_node)),
                    ignore_regions: Set(regions::to_column(&file.ignore_regions)),
                    demo: Set(false),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(db)
                .await?;
                report.created.push(file.id.clone());
            }
            Some(existing) => {
                if existing.source == CameraSource::Api {
                    tracing::warn!(
                        camera_id = %file.id, file = %path,
                        "a camera created through the API is now defined by a file; the file wins"
                    );
                }
                let unchanged = existing.camera_name == file.name
                    && existing.rtsp_url == file.stream_url
                    && existing.sample_fps == file.fps
                    && existing.enabled == file.enabled
                    && existing.ignore_regions == regions::to_column(&file.ignore_regions)
                    && existing.pinned_node == file.pinned_node(this_node)
                    && existing.source == CameraSource::ConfigFile
                    && existing.config_path.as_deref() == Some(path.as_str());
                if unchanged {
                    continue;
                }
                let mut active: camera::ActiveModel = existing.into();
                active.camera_name = Set(file.name.clone());
                active.rtsp_url = Set(file.stream_url.clone());
                active.sample_fps = Set(file.fps);
                active.enabled = Set(file.enabled);
                active.ignore_regions = Set(regions::to_column(&file.ignore_regions));
                active.pinned_node = Set(file.pinned_node(this_node));
                active.source = Set(CameraSource::ConfigFile);
                active.config_path = Set(Some(path));
                active.updated_at = Set(now);
                if !file.enabled {
                    active.is_active = Set(false);
                }
                active.update(db).await?;
                report.updated.push(file.id.clone());
            }
        }
    }

    // Files that exist but are broken keep their camera as it was.
    let loaded: HashSet<&str> = files.iter().map(|f| f.id.as_str()).collect();
    let broken: HashSet<String> = report
        .errors
        .iter()
        .map(|e| e.path.display().to_string())
        .collect();
    let file_cameras = camera::Entity::find()
        .filter(camera::Column::Source.eq(CameraSource::ConfigFile))
        .filter(camera::Column::Enabled.eq(true))
        .all(db)
        .await?;
    for existing in file_cameras {
        let still_there = loaded.contains(existing.camera_id.as_str())
            || existing
                .config_path
                .as_ref()
                .is_some_and(|p| broken.contains(p));
        if still_there {
            continue;
        }
        let camera_id = existing.camera_id.clone();
        let mut active: camera::ActiveModel = existing.into();
        active.enabled = Set(false);
        active.is_active = Set(false);
        active.status_message = Set(Some("its camera file was removed".to_owned()));
        active.updated_at = Set(now);
        active.update(db).await?;
        report.disabled.push(camera_id);
    }
    Ok(report)
}
