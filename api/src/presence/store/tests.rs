//! The store's reads against a real SQLite file: an unknown value in a status column is an
//! error naming it, never a default.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set};

use super::*;
use entity::camera::CameraStatus;

/// A migrated SQLite file with employee E1, seen at camera C1, which is online.
async fn database() -> (tempfile::TempDir, DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("t.sqlite").display()
    );
    let db = crate::db::connect_and_migrate(&url).await.unwrap();
    let now = Utc::now();
    employee::ActiveModel {
        employee_id: Set("E1".to_owned()),
        name: Set("Ani".to_owned()),
        department: Set(None),
        role: Set(None),
        demo: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();
    camera::ActiveModel {
        camera_id: Set("C1".to_owned()),
        camera_name: Set("Lobby".to_owned()),
        rtsp_url: Set("0".to_owned()),
        status: Set(CameraStatus::Online),
        is_active: Set(true),
        enabled: Set(true),
        sample_fps: Set(1.0),
        source: Set(camera::CameraSource::Api),
        config_path: Set(None),
        last_frame_at: Set(None),
        status_message: Set(None),
        status_changed_at: Set(None),
        status_version: Set(0),
        pinned_node: Set(None),
        ignore_regions: Set(None),
        demo: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();
    let to = TrackingMove {
        employee_id: "E1",
        camera_id: "C1",
        seen_at: now,
        status: Status::Available,
        score: None,
    };
    assert!(move_tracking(&db, None, to, now).await.unwrap());
    (dir, db)
}

fn assert_names(error: DbErr, table: &str, enum_name: &str, value: &str) {
    let message = error.to_string();
    assert!(
        message.contains(&format!("{table}: "))
            && message.contains(enum_name)
            && message.contains(value),
        "{message}"
    );
}

#[tokio::test]
async fn a_known_status_reads_back() {
    let (_dir, db) = database().await;
    let row = tracking_of(&db, "E1").await.unwrap().unwrap();
    assert_eq!(row.status, Status::Available);
    assert_eq!(counts(&db).await.unwrap().present, 1);
}

#[tokio::test]
async fn an_unknown_employee_status_is_an_error_not_offline() {
    let (_dir, db) = database().await;
    db.execute_unprepared("UPDATE employee_tracking SET status = 'BOGUS'")
        .await
        .unwrap();
    let far_future = Utc::now() + TimeDelta::days(1);
    let errors = [
        tracking_of(&db, "E1").await.map(|_| ()).unwrap_err(),
        presence_of(&db, "E1").await.map(|_| ()).unwrap_err(),
        load_presence(&db, None).await.map(|_| ()).unwrap_err(),
        counts(&db).await.map(|_| ()).unwrap_err(),
    ];
    for error in errors {
        assert_names(error, TRACKING, "TrackingStatus", "BOGUS");
    }
    // Not a candidate for OFFLINE either: filtered on AVAILABLE, the row is not read.
    assert!(lost_candidates(&db, far_future).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unknown_camera_status_is_an_error() {
    let (_dir, db) = database().await;
    db.execute_unprepared("UPDATE cameras SET status = 'ONLINE'")
        .await
        .unwrap();
    let error = load_presence(&db, None).await.map(|_| ()).unwrap_err();
    assert_names(error, CAMERAS, "CameraStatus", "ONLINE");
}
