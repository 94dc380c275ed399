//! The demo site in the database: set up on a database without employees (its employees
//! enrolled from the registry photos, its camera playing the recording), kept while
//! `demo.enabled`, and removed — every row it caused, not just its own — once it is off.

use std::path::{Path, PathBuf};

use entity::{
    attendance_log, camera, employee, employee_tracking as tracking, face_embedding, lease,
    notification, visit,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, TransactionTrait, sea_query::Expr,
};

use super::scene::{self, CAST, SceneError};
use crate::{
    cameras::NewCamera,
    employees::NewEmployee,
    error::AppError,
    events::{ChangeKind, Event},
    state::AppState,
};

/// The demo camera's id.
pub const DEMO_CAMERA_ID: &str = "DEMO";
/// Its name, as the dashboard shows it.
pub const DEMO_CAMERA_NAME: &str = "Demo doorway (a looping recording)";
/// The demo employees' department.
pub const DEMO_DEPARTMENT: &str = "Demo";
/// Frames a second the demo camera samples (its recording has one a second).
const DEMO_SAMPLE_FPS: f64 = 1.0;

/// Why the demo could not be set up or removed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Scene(#[from] SceneError),
    #[error("the demo: {0}")]
    App(#[from] AppError),
    #[error("the demo: the database: {0}")]
    Database(#[from] DbErr),
    #[error("the demo recording could not be written: {0}")]
    Task(String),
}

/// What [`apply`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum DemoOutcome {
    /// Set up now: its employees (with the faces enrolled) and its camera.
    SetUp { employees: usize, faces: usize },
    /// Set up before, kept (its recording written again where it was missing).
    Kept,
    /// Not set up: the database has employees of its own.
    NotOnThisDatabase { employees: u64 },
    /// Not set up: photos missing from the cache (the command that fetches them is named).
    PhotosMissing(Vec<PathBuf>),
    /// Off, and what it had made removed.
    Removed(Removed),
    /// Off, and nothing of it here.
    Off,
}

/// The rows a removal deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub employees: u64,
    pub faces: u64,
    pub cameras: u64,
    pub visits: u64,
    pub notifications: u64,
    pub attendance: u64,
}

/// Sets the demo up, keeps it or removes it, as `demo.enabled` says. Run at start-up,
/// before the cameras start.
pub async fn apply(app: &AppState, photos: &Path) -> Result<DemoOutcome, DemoError> {
    let settings = &app.config.demo;
    if !settings.enabled {
        let removed = remove(app).await?;
        if settings.folder.join(scene::RECORDING_DIR).exists() {
            let _ = std::fs::remove_dir_all(settings.folder.join(scene::RECORDING_DIR));
        }
        return Ok(if removed == Removed::default() {
            DemoOutcome::Off
        } else {
            DemoOutcome::Removed(removed)
        });
    }
    let existing = camera::Entity::find_by_id(DEMO_CAMERA_ID.to_owned())
        .filter(camera::Column::Demo.eq(true))
        .one(&app.db)
        .await?;
    if existing.is_some() {
        if !scene::is_complete(&settings.folder) {
            write_recording(&settings.folder, photos).await?;
        }
        return Ok(DemoOutcome::Kept);
    }
    let employees = employee::Entity::find().count(&app.db).await?;
    if employees > 0 {
        return Ok(DemoOutcome::NotOnThisDatabase { employees });
    }
    let missing: Vec<PathBuf> = scene::photos_needed()
        .into_iter()
        .map(|name| photos.join(name))
        .filter(|path| !path.is_file())
        .collect();
    if !missing.is_empty() {
        return Ok(DemoOutcome::PhotosMissing(missing));
    }
    let recording = write_recording(&settings.folder, photos).await?;
    let mut faces = 0;
    let mut made = 0;
    for person in CAST {
        let Some(employee_id) = person.employee_id else {
            continue;
        };
        let created = app
            .employees
            .create(NewEmployee {
                employee_id: employee_id.to_owned(),
                name: person.name.to_owned(),
                department: Some(DEMO_DEPARTMENT.to_owned()),
                role: Some(person.role.to_owned()),
                demo: true,
            })
            .await;
        match created {
            Ok(_) => {}
            // Another node on the same PostgreSQL set it up at the same moment.
            Err(AppError::AlreadyExists { .. }) if made == 0 => return Ok(DemoOutcome::Kept),
            Err(error) => return Err(error.into()),
        }
        made += 1;
        for photo in person.enrolled {
            let bytes = scene::read_photo(&photos.join(photo))?;
            match app.faces.enroll(employee_id, bytes).await {
                Ok(_) => faces += 1,
                Err(error) => tracing::warn!(%error, photo, "the demo could not enrol a photo"),
            }
        }
    }
    // Last, so that the camera starts with the gallery complete.
    let absolute = std::path::absolute(&recording).map_err(|source| SceneError::Write {
        path: recording.clone(),
        source,
    })?;
    let url = url::Url::from_directory_path(&absolute)
        .map_err(|()| DemoError::Task(format!("{} is not a folder path", absolute.display())))?;
    app.cameras
        .create(NewCamera {
            camera_id: DEMO_CAMERA_ID.to_owned(),
            name: DEMO_CAMERA_NAME.to_owned(),
            stream_url: format!("{url}?loop"),
            sample_fps: Some(DEMO_SAMPLE_FPS),
            enabled: Some(true),
            ignore_regions: None,
            pinned_node: None,
            demo: true,
        })
        .await?;
    Ok(DemoOutcome::SetUp {
        employees: made,
        faces,
    })
}

/// The recording written off the async runtime.
async fn write_recording(folder: &Path, photos: &Path) -> Result<PathBuf, DemoError> {
    let (folder, photos) = (folder.to_owned(), photos.to_owned());
    tokio::task::spawn_blocking(move || scene::write_recording(&folder, &photos))
        .await
        .map_err(|e| DemoError::Task(e.to_string()))?
        .map_err(DemoError::from)
}

/// Deletes every row the demo made or caused, in one transaction: its employees with their
/// faces, tracking, visits, attendance and notifications; its camera with the visits and
/// notifications at it (another employee seen there keeps their presence, without the
/// camera).
pub async fn remove(app: &AppState) -> Result<Removed, DemoError> {
    let txn = app.db.begin().await?;
    let employees: Vec<String> = employee::Entity::find()
        .filter(employee::Column::Demo.eq(true))
        .select_only()
        .column(employee::Column::EmployeeId)
        .into_tuple()
        .all(&txn)
        .await?;
    let cameras: Vec<String> = camera::Entity::find()
        .filter(camera::Column::Demo.eq(true))
        .select_only()
        .column(camera::Column::CameraId)
        .into_tuple()
        .all(&txn)
        .await?;
    if employees.is_empty() && cameras.is_empty() {
        txn.rollback().await?;
        return Ok(Removed::default());
    }
    let removed = delete_rows(&txn, &employees, &cameras).await?;
    txn.commit().await?;
    for employee_id in &employees {
        app.events.publish(Event::EmployeeChanged {
            kind: ChangeKind::Deleted,
            employee_id: employee_id.clone(),
            presence: None,
        });
    }
    for camera_id in &cameras {
        app.events.publish(Event::CameraChanged {
            kind: ChangeKind::Deleted,
            camera_id: camera_id.clone(),
            camera: None,
        });
    }
    if let Err(error) = app.faces.refresh_gallery().await {
        tracing::warn!(%error, "the demo's faces are deleted; the gallery reloads them later");
    }
    Ok(removed)
}

async fn delete_rows(
    txn: &impl ConnectionTrait,
    employees: &[String],
    cameras: &[String],
) -> Result<Removed, DbErr> {
    let employees = employees.iter().cloned();
    let cameras = cameras.iter().cloned();
    let notifications = notification::Entity::delete_many()
        .filter(
            Condition::any()
                .add(notification::Column::EmployeeId.is_in(employees.clone()))
                .add(notification::Column::CameraId.is_in(cameras.clone())),
        )
        .exec(txn)
        .await?
        .rows_affected;
    let visits = visit::Entity::delete_many()
        .filter(
            Condition::any()
                .add(visit::Column::EmployeeId.is_in(employees.clone()))
                .add(visit::Column::CameraId.is_in(cameras.clone())),
        )
        .exec(txn)
        .await?
        .rows_affected;
    let attendance = attendance_log::Entity::delete_many()
        .filter(attendance_log::Column::EmployeeId.is_in(employees.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    let faces = face_embedding::Entity::delete_many()
        .filter(face_embedding::Column::EmployeeId.is_in(employees.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    tracking::Entity::delete_many()
        .filter(tracking::Column::EmployeeId.is_in(employees.clone()))
        .exec(txn)
        .await?;
    tracking::Entity::update_many()
        .col_expr(
            tracking::Column::CameraId,
            Expr::value(Option::<String>::None),
        )
        .filter(tracking::Column::CameraId.is_in(cameras.clone()))
        .exec(txn)
        .await?;
    lease::Entity::delete_many()
        .filter(lease::Column::Resource.is_in(cameras.clone().map(|c| lease::camera_resource(&c))))
        .exec(txn)
        .await?;
    let employees = employee::Entity::delete_many()
        .filter(employee::Column::EmployeeId.is_in(employees))
        .exec(txn)
        .await?
        .rows_affected;
    let cameras = camera::Entity::delete_many()
        .filter(camera::Column::CameraId.is_in(cameras))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(Removed {
        employees,
        faces,
        cameras,
        visits,
        notifications,
        attendance,
    })
}
