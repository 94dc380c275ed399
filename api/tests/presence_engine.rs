//! The presence engine's rules on a real database with a manual clock: no sleeping, and the
//! same on SQLite and PostgreSQL.

mod common;

use std::{sync::Arc, time::Duration};

use api::{
    cameras::{CameraRegistry, NewCamera},
    clock::{Clock, ManualClock},
    db,
    employees::{EmployeeDirectory, NewEmployee},
    events::{Event, EventBus},
    notifications::{NotificationFilter, Notifications},
    presence::{PresenceEngine, PresenceSettings, Sighting},
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::{Backend, TestDb};
use entity::{employee_tracking, visit};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

const LOST_AFTER: Duration = Duration::from_secs(120);
const CAMERA_TIMEOUT: Duration = Duration::from_secs(30);

struct World {
    db: DatabaseConnection,
    clock: ManualClock,
    events: EventBus,
    engine: PresenceEngine,
    notifications: Notifications,
    _db: TestDb,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

fn engine_on(db: &DatabaseConnection, clock: &ManualClock, events: &EventBus) -> PresenceEngine {
    PresenceEngine::new(
        db.clone(),
        Arc::new(clock.clone()),
        PresenceSettings {
            lost_after: LOST_AFTER,
            camera_timeout: CAMERA_TIMEOUT,
        },
        events.clone(),
    )
}

async fn world(backend: Backend, name: &str, employees: usize) -> Option<World> {
    let test_db = TestDb::create(backend, name)?;
    let db = db::connect_and_migrate(&test_db.url)
        .await
        .expect("database");
    let events = EventBus::default();
    let directory = EmployeeDirectory::new(db.clone(), events.clone());
    for i in 1..=employees {
        directory
            .create(NewEmployee {
                employee_id: format!("E{i}"),
                name: format!("Person {i}"),
                department: None,
                role: None,
                demo: false,
            })
            .await
            .expect("employee");
    }
    let cameras = CameraRegistry::new(db.clone(), events.clone(), "hadir");
    for id in ["CAM1", "CAM2"] {
        cameras
            .create(NewCamera {
                camera_id: id.to_owned(),
                name: format!("Camera {id}"),
                stream_url: "0".to_owned(),
                sample_fps: None,
                enabled: None,
                ignore_regions: None,
                pinned_node: None,
                demo: false,
            })
            .await
            .expect("camera");
    }
    let clock = ManualClock::new(start());
    let engine = engine_on(&db, &clock, &events);
    Some(World {
        notifications: Notifications::new(db.clone(), events.clone()),
        db,
        clock,
        events,
        engine,
        _db: test_db,
    })
}

fn seen(employee: &str, camera: &str, at: Option<DateTime<Utc>>) -> Sighting {
    Sighting {
        employee_id: employee.to_owned(),
        camera_id: camera.to_owned(),
        seen_at: at,
        score: Some(0.7),
        track_id: None,
        announce: true,
    }
}

async fn tracking(db: &DatabaseConnection, employee: &str) -> Option<employee_tracking::Model> {
    employee_tracking::Entity::find()
        .filter(employee_tracking::Column::EmployeeId.eq(employee))
        .one(db)
        .await
        .unwrap()
}

async fn count_of(world: &World, kind: &str) -> u64 {
    world
        .notifications
        .page(
            &NotificationFilter {
                kind: Some(
                    sea_orm::ActiveEnum::try_from_value(&kind.to_owned())
                        .expect("a notification type"),
                ),
                ..Default::default()
            },
            Some(200),
            None,
        )
        .await
        .unwrap()
        .total_count
}

async fn lost_exactly_once_and_back(backend: Backend) {
    let Some(w) = world(backend, "lost_exactly_once_and_back", 2).await else {
        return;
    };
    let mut bus = w.events.subscribe();
    let after = w
        .engine
        .record_sighting(seen("E1", "CAM1", None))
        .await
        .unwrap();
    let row = after.tracking.unwrap();
    assert_eq!(row.status, employee_tracking::TrackingStatus::Available);
    assert_eq!(row.last_seen, start());
    assert_eq!(row.camera_id.as_deref(), Some("CAM1"));
    assert!(
        matches!(&*bus.try_recv().unwrap(), Event::EmployeeStatusChanged(p) if p.employee.employee_id == "E1")
    );
    assert!(
        matches!(&*bus.try_recv().unwrap(), Event::PresenceSummaryChanged(c) if c.present == 1 && c.unavailable == 1 && c.total == 2)
    );
    assert!(matches!(
        &*bus.try_recv().unwrap(),
        Event::EmployeeDetected(_)
    ));

    // Exactly lost_after later: still AVAILABLE.
    w.clock.advance(LOST_AFTER);
    assert!(w.engine.tick().await.unwrap().lost.is_empty());
    // A second more: OFFLINE, one EMPLOYEE_LOST.
    w.clock.advance(Duration::from_secs(1));
    assert_eq!(w.engine.tick().await.unwrap().lost, ["E1"]);
    assert_eq!(
        tracking(&w.db, "E1").await.unwrap().status.as_str(),
        "OFFLINE"
    );
    assert_eq!(count_of(&w, "EMPLOYEE_LOST").await, 1);
    for _ in 0..3 {
        w.clock.advance(Duration::from_secs(60));
        assert!(w.engine.tick().await.unwrap().lost.is_empty());
    }
    assert_eq!(count_of(&w, "EMPLOYEE_LOST").await, 1);

    // Seen again: AVAILABLE again, at the new camera.
    let after = w
        .engine
        .record_sighting(seen("E1", "CAM2", None))
        .await
        .unwrap();
    let row = after.tracking.unwrap();
    assert_eq!(row.status.as_str(), "AVAILABLE");
    assert_eq!(row.camera_id.as_deref(), Some("CAM2"));
    assert_eq!(row.status_changed_at, w.clock.now());
    // E2 never seen: no row (UNAVAILABLE).
    assert!(tracking(&w.db, "E2").await.is_none());
}

async fn late_sightings_write_history_only(backend: Backend) {
    let Some(w) = world(backend, "late_sightings_write_history_only", 1).await else {
        return;
    };
    w.engine
        .record_sighting(seen("E1", "CAM1", None))
        .await
        .unwrap();
    w.clock.advance(Duration::from_secs(30));
    w.engine
        .record_sighting(seen("E1", "CAM1", None))
        .await
        .unwrap();
    // A buffered sighting from before the last one, at another camera.
    let earlier = start() + TimeDelta::seconds(10);
    let after = w
        .engine
        .record_sighting(seen("E1", "CAM2", Some(earlier)))
        .await
        .unwrap();
    let row = after.tracking.unwrap();
    assert_eq!(row.camera_id.as_deref(), Some("CAM1"));
    assert_eq!(row.last_seen, start() + TimeDelta::seconds(30));
    assert_eq!(row.status.as_str(), "AVAILABLE");

    // Lost, then a buffered sighting newer than last_seen but itself older than lost_after:
    // last_seen moves, the status stays OFFLINE, no new notification.
    w.clock.advance(Duration::from_secs(600));
    assert_eq!(w.engine.tick().await.unwrap().lost, ["E1"]);
    let buffered = start() + TimeDelta::seconds(90);
    let after = w
        .engine
        .record_sighting(seen("E1", "CAM2", Some(buffered)))
        .await
        .unwrap();
    let row = after.tracking.unwrap();
    assert_eq!(row.status.as_str(), "OFFLINE");
    assert_eq!(row.last_seen, buffered);
    assert_eq!(row.camera_id.as_deref(), Some("CAM2"));
    w.engine.tick().await.unwrap();
    assert_eq!(count_of(&w, "EMPLOYEE_LOST").await, 1);

    // The history: CAM1 08:00:00–08:00:30 (two sightings), CAM2 at 08:00:10, CAM2 at 08:01:30.
    let visits = visit::Entity::find()
        .order_by_asc(visit::Column::StartedAt)
        .all(&w.db)
        .await
        .unwrap();
    let summary: Vec<(Option<&str>, i64, i64, i32)> = visits
        .iter()
        .map(|v| {
            (
                v.camera_id.as_deref(),
                (v.started_at - start()).num_seconds(),
                (v.ended_at - start()).num_seconds(),
                v.sightings,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some("CAM1"), 0, 30, 2),
            (Some("CAM2"), 10, 10, 1),
            (Some("CAM2"), 90, 90, 1)
        ]
    );

    // Refused: a time in the future, a score out of range, unknown employee or camera.
    let future = w.clock.now() + TimeDelta::minutes(5);
    assert!(
        w.engine
            .record_sighting(seen("E1", "CAM1", Some(future)))
            .await
            .is_err()
    );
    let mut bad = seen("E1", "CAM1", None);
    bad.score = Some(1.5);
    assert!(w.engine.record_sighting(bad).await.is_err());
    assert!(
        w.engine
            .record_sighting(seen("E9", "CAM1", None))
            .await
            .is_err()
    );
    assert!(
        w.engine
            .record_sighting(seen("E1", "CAM9", None))
            .await
            .is_err()
    );
}

async fn camera_down_and_up(backend: Backend) {
    let Some(w) = world(backend, "camera_down_and_up", 0).await else {
        return;
    };
    // Never delivered: neither down nor up.
    w.clock.advance(CAMERA_TIMEOUT * 3);
    assert!(w.engine.tick().await.unwrap().cameras_down.is_empty());
    // First frame: online, no CAMERA_UP (it was never down).
    let camera = w.engine.camera_frame("CAM1", None).await.unwrap();
    assert_eq!((camera.status.as_str(), camera.is_active), ("online", true));
    assert_eq!(count_of(&w, "CAMERA_UP").await, 0);
    // Frames keep it online.
    for _ in 0..5 {
        w.clock.advance(Duration::from_secs(10));
        w.engine.camera_frame("CAM1", None).await.unwrap();
        assert!(w.engine.tick().await.unwrap().cameras_down.is_empty());
    }
    // Silent for camera_timeout: down, one CAMERA_DOWN.
    w.clock.advance(CAMERA_TIMEOUT + Duration::from_secs(1));
    assert_eq!(w.engine.tick().await.unwrap().cameras_down, ["CAM1"]);
    w.clock.advance(Duration::from_secs(100));
    assert!(w.engine.tick().await.unwrap().cameras_down.is_empty());
    assert_eq!(count_of(&w, "CAMERA_DOWN").await, 1);
    let camera = entity::camera::Entity::find_by_id("CAM1".to_owned())
        .one(&w.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (camera.status.as_str(), camera.is_active),
        ("offline", false)
    );
    // Back: online, one CAMERA_UP.
    w.engine.camera_frame("CAM1", None).await.unwrap();
    w.engine.camera_frame("CAM1", None).await.unwrap();
    assert_eq!(count_of(&w, "CAMERA_UP").await, 1);
    assert!(w.engine.camera_frame("CAM404", None).await.is_err());
}

async fn engines_sharing_a_database_never_repeat_a_notification(backend: Backend) {
    let Some(w) = world(backend, "engines_sharing_a_database", 10).await else {
        return;
    };
    for i in 1..=10 {
        w.engine
            .record_sighting(seen(&format!("E{i}"), "CAM1", None))
            .await
            .unwrap();
    }
    w.engine.camera_frame("CAM1", None).await.unwrap();
    // A second process on the same database, e.g. after a restart or beside this one.
    let other = Arc::new(engine_on(&w.db, &w.clock, &w.events));
    w.clock
        .advance(LOST_AFTER + CAMERA_TIMEOUT + Duration::from_secs(1));
    let this = Arc::new(w.engine);
    let (a, b) = tokio::join!(
        {
            let e = this.clone();
            async move { e.tick().await.unwrap() }
        },
        {
            let e = other.clone();
            async move { e.tick().await.unwrap() }
        }
    );
    let mut lost: Vec<String> = a.lost.into_iter().chain(b.lost).collect();
    lost.sort();
    let mut expected: Vec<String> = (1..=10).map(|i| format!("E{i}")).collect();
    expected.sort();
    assert_eq!(lost, expected, "each employee lost by exactly one engine");
    assert_eq!(
        a.cameras_down.len() + b.cameras_down.len(),
        1,
        "the silent camera is taken down by exactly one engine"
    );
    let world_notifications = Notifications::new(w.db.clone(), w.events.clone());
    let total = world_notifications
        .page(&NotificationFilter::default(), Some(200), None)
        .await
        .unwrap()
        .total_count;
    assert_eq!(total, 11);
    // Concurrent sightings of one employee from both engines end AVAILABLE, once.
    let (x, y) = tokio::join!(
        this.record_sighting(seen("E1", "CAM1", None)),
        other.record_sighting(seen("E1", "CAM2", None))
    );
    x.unwrap();
    y.unwrap();
    assert_eq!(
        tracking(&w.db, "E1").await.unwrap().status.as_str(),
        "AVAILABLE"
    );
}

async fn an_unknown_status_in_the_database_is_an_error(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let Some(w) = world(backend, "an_unknown_status_in_the_database_is_an_error", 1).await else {
        return;
    };
    w.engine
        .record_sighting(seen("E1", "CAM1", None))
        .await
        .unwrap();
    w.db.execute_unprepared("UPDATE employee_tracking SET status = 'BOGUS'")
        .await
        .unwrap();
    // Neither read as OFFLINE (a sighting would make it AVAILABLE again) nor skipped: an
    // error naming the table and the value.
    let later = Some(start() + TimeDelta::seconds(10));
    let error = w
        .engine
        .record_sighting(seen("E1", "CAM1", later))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("employee_tracking") && error.contains("BOGUS"),
        "{error}"
    );
    let error = api::presence::store::counts(&w.db)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("BOGUS"), "{error}");
}

on_both_backends!(
    lost_exactly_once_and_back,
    late_sightings_write_history_only,
    camera_down_and_up,
    engines_sharing_a_database_never_repeat_a_notification,
    an_unknown_status_in_the_database_is_an_error,
);
