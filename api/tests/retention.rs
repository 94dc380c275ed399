//! Retention and erasure on a real database: the purge removes exactly what is older than
//! each window, and deleting an employee leaves no row anywhere that holds their id, name or
//! face embeddings.

mod common;

use std::{sync::Arc, time::Duration};

use api::{
    attendance::{
        Attendance,
        retention::{Retention, purge},
    },
    cameras::{CameraRegistry, NewCamera},
    clock::ManualClock,
    config::Config,
    db,
    employees::{EmployeeDirectory, NewEmployee},
    events::EventBus,
    faces::store::insert_embedding,
    presence::{PresenceEngine, PresenceSettings, Sighting},
};
use chrono::{TimeDelta, TimeZone, Utc};
use common::{Backend, TestDb};
use entity::{
    api_token, attendance_log, camera, employee, employee_tracking, face_embedding, notification,
    visit,
};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

async fn setup(backend: Backend, name: &str) -> Option<(TestDb, DatabaseConnection, EventBus)> {
    let test_db = TestDb::create(backend, name)?;
    let database = db::connect_and_migrate(&test_db.url).await.unwrap();
    let events = EventBus::default();
    CameraRegistry::new(database.clone(), events.clone(), "hadir")
        .create(NewCamera {
            camera_id: "CAM1".into(),
            name: "Lobby".into(),
            stream_url: "0".into(),
            sample_fps: None,
            enabled: None,
            ignore_regions: None,
            pinned_node: None,
            demo: false,
        })
        .await
        .unwrap();
    Some((test_db, database, events))
}

async fn add_employee(db: &DatabaseConnection, events: &EventBus, id: &str, name: &str) {
    EmployeeDirectory::new(db.clone(), events.clone())
        .create(NewEmployee {
            employee_id: id.into(),
            name: name.into(),
            department: Some("Ops".into()),
            role: None,
            demo: false,
        })
        .await
        .unwrap();
}

async fn the_purge_removes_exactly_what_is_too_old(backend: Backend) {
    let Some((_db, db, events)) = setup(backend, "the_purge_removes_exactly_what_is_too_old").await
    else {
        return;
    };
    add_employee(&db, &events, "E1", "Ann").await;
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let window = Retention {
        visits_days: 90,
        notifications_days: 30,
        attendance_days: 400,
    };
    let second = TimeDelta::seconds(1);
    let visits_cutoff = now - TimeDelta::days(90);
    for (n, ended) in [
        visits_cutoff - second,
        visits_cutoff,
        visits_cutoff + second,
    ]
    .iter()
    .enumerate()
    {
        visit::ActiveModel {
            employee_id: Set("E1".into()),
            camera_id: Set(Some("CAM1".into())),
            started_at: Set(*ended - TimeDelta::minutes(5)),
            ended_at: Set(*ended),
            sightings: Set(n as i32 + 1),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let notifications_cutoff = now - TimeDelta::days(30);
    for created in [notifications_cutoff - second, notifications_cutoff + second] {
        notification::ActiveModel {
            employee_id: Set(Some("E1".into())),
            camera_id: Set(None),
            kind: Set(notification::NotificationType::EmployeeLost),
            message: Set(format!("lost at {created}")),
            created_at: Set(created),
            is_read: Set(false),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let today = now.date_naive();
    for days_ago in [401, 400, 399] {
        attendance_log::ActiveModel {
            employee_id: Set("E1".into()),
            date: Set(today - TimeDelta::days(days_ago)),
            first_seen: Set(None),
            last_seen: Set(None),
            total_duration: Set(0),
            status: Set(attendance_log::AttendanceStatus::Absent),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let purged = purge(&db, window, chrono_tz::UTC, now).await.unwrap();
    assert_eq!(
        (purged.visits, purged.notifications, purged.attendance),
        (1, 1, 1)
    );
    let visits: Vec<i32> = visit::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .iter()
        .map(|v| v.sightings)
        .collect();
    assert_eq!(visits.len(), 2);
    assert!(
        !visits.contains(&1),
        "the visit that ended before the window is gone"
    );
    let kept = notification::Entity::find().all(&db).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].created_at, notifications_cutoff + second);
    let days: Vec<i64> = attendance_log::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .iter()
        .map(|a| (today - a.date).num_days())
        .collect();
    assert_eq!(days.len(), 2);
    assert!(!days.contains(&401));
    // Again: nothing more to remove. Zero keeps forever.
    assert_eq!(
        purge(&db, window, chrono_tz::UTC, now).await.unwrap(),
        Default::default()
    );
    let forever = Retention {
        visits_days: 0,
        notifications_days: 0,
        attendance_days: 0,
    };
    let later = now + TimeDelta::days(5_000);
    assert_eq!(
        purge(&db, forever, chrono_tz::UTC, later).await.unwrap(),
        Default::default()
    );
}

async fn deleting_an_employee_erases_them_everywhere(backend: Backend) {
    let Some((_db, db, events)) =
        setup(backend, "deleting_an_employee_erases_them_everywhere").await
    else {
        return;
    };
    const ID: &str = "EMP-ERASE-7";
    const NAME: &str = "Zed Unique-Surname";
    add_employee(&db, &events, ID, NAME).await;
    add_employee(&db, &events, "E2", "Another Person").await;
    let embedding: Vec<f32> = (0..512)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    insert_embedding(&db, ID, "test-model", &embedding, Utc::now())
        .await
        .unwrap();
    // Sightings make tracking, visits and attendance; the monitor makes an EMPLOYEE_LOST.
    let clock = ManualClock::new(Utc::now() - TimeDelta::hours(2));
    let config = Config::default();
    let attendance = Attendance::new(
        db.clone(),
        Arc::new(config.schedule().unwrap()),
        Arc::new(clock.clone()),
    );
    let engine = PresenceEngine::new(
        db.clone(),
        Arc::new(clock.clone()),
        PresenceSettings {
            lost_after: Duration::from_secs(120),
            camera_timeout: Duration::from_secs(30),
        },
        events.clone(),
    )
    .with_attendance(attendance.clone());
    for who in [ID, "E2"] {
        engine
            .record_sighting(Sighting {
                employee_id: who.into(),
                camera_id: "CAM1".into(),
                seen_at: None,
                score: Some(0.8),
                track_id: None,
                announce: true,
            })
            .await
            .unwrap();
    }
    clock.advance(Duration::from_secs(600));
    assert_eq!(engine.tick().await.unwrap().lost.len(), 2);
    attendance.close_day(attendance.today()).await.unwrap();
    assert!(
        scan(&db).await.contains(NAME),
        "the scan sees the employee before"
    );

    EmployeeDirectory::new(db.clone(), events.clone())
        .delete(ID)
        .await
        .unwrap();

    let everything = scan(&db).await;
    assert!(
        !everything.contains(ID),
        "the id survives somewhere: {everything}"
    );
    assert!(
        !everything.contains(NAME),
        "the name survives somewhere: {everything}"
    );
    assert!(
        face_embedding::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty(),
        "embeddings survive"
    );
    // The other employee and the alert history (anonymised) stay.
    assert!(everything.contains("Another Person"));
    assert_eq!(
        notification::Entity::find().all(&db).await.unwrap().len(),
        2
    );
}

/// Every row of every table, as JSON text.
async fn scan(db: &DatabaseConnection) -> String {
    let mut all = Vec::new();
    all.extend(employee::Entity::find().into_json().all(db).await.unwrap());
    all.extend(
        face_embedding::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
    );
    all.extend(camera::Entity::find().into_json().all(db).await.unwrap());
    all.extend(
        employee_tracking::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
    );
    all.extend(visit::Entity::find().into_json().all(db).await.unwrap());
    all.extend(
        notification::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
    );
    all.extend(
        attendance_log::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
    );
    all.extend(api_token::Entity::find().into_json().all(db).await.unwrap());
    serde_json::to_string(&all).unwrap()
}

on_both_backends!(
    the_purge_removes_exactly_what_is_too_old,
    deleting_an_employee_erases_them_everywhere,
);
