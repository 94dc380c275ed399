//! Two relays in one process over a fresh PostgreSQL database (created, migrated and dropped
//! per test): what one node publishes reaches the other once, camera URLs come from the
//! receiver's table, stale statuses and junk are dropped, long events travel by reference,
//! a killed listener is made good by a resync, and `FacesChanged` reloads one employee.
//! Skipped (printing `SKIPPED`) without `HADIR_TEST_POSTGRES_URL`.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use chrono::Utc;
use entity::employee_tracking as tracking;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, Statement};

use super::{
    fixtures,
    harness::{Scratch, WAIT, insert_camera, insert_employee, node, through_marker, until},
};
use crate::{
    cluster::{
        control::ControlMessage, counters::ResyncReason, gallery, relay::listener_application_name,
        wire,
    },
    events::{Event, NotificationRecord, UnknownFace},
    faces::{FaceService, FaceSettings, store},
};

#[tokio::test]
async fn events_cross_once_urls_come_from_the_table_and_stale_or_junk_are_dropped() {
    let Some(scratch) = Scratch::create("relay events").await else {
        return;
    };
    let c1 = insert_camera(&scratch.db, "C1").await;
    let (a, b) = (node(&scratch, "a").await, node(&scratch, "b").await);
    let (mut on_a, mut on_b) = (a.events.subscribe(), b.events.subscribe());

    // Once on the other node, with the URL its table holds; once on the publisher.
    let mut seen = UnknownFace {
        camera: c1.clone(),
        seen_at: Utc::now(),
        best_score: Some(0.25),
        track_id: None,
    };
    seen.camera.rtsp_url = "rtsp://not-this-one".to_owned();
    a.events.publish(Event::UnknownFaceSeen(seen));
    let got = through_marker(&a, &mut on_b, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let Event::UnknownFaceSeen(u) = &*got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(
        u.camera.rtsp_url,
        fixtures::url_of("C1"),
        "restored from B's table"
    );
    let on_a_got = through_marker(&b, &mut on_a, 2).await;
    assert_eq!(on_a_got.len(), 1, "A: its own, once: {on_a_got:?}");

    // A status no newer than the one delivered is dropped.
    let status = |version| {
        let mut camera = c1.clone();
        camera.status_version = version;
        Event::CameraStatusChanged(camera)
    };
    a.events.publish(status(2));
    a.events.publish(status(1));
    a.events.publish(status(2));
    let got = through_marker(&a, &mut on_b, 3).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(matches!(&*got[0], Event::CameraStatusChanged(c) if c.status_version == 2));
    assert_eq!(b.relay.counters().received_stale.load(Ordering::Relaxed), 2);

    // A long event goes by reference and arrives identical.
    let long = Event::NotificationCreated(NotificationRecord {
        camera: Some(c1.clone()),
        ..fixtures::notification(77, &"x".repeat(9_000))
    });
    let expected = format!("{long:?}");
    a.events.publish(long);
    let got = through_marker(&a, &mut on_b, 4).await;
    assert_eq!(got.len(), 1);
    assert_eq!(format!("{:?}", got[0]), expected);
    let stored = scratch
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM cluster_payloads",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.try_get::<i64>("", "n").unwrap(), 1);

    // Junk and a future version are counted as rejected; nothing is delivered.
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    scratch
        .db
        .execute_unprepared("NOTIFY hadir_events, 'junk'; NOTIFY hadir_control, '{\"v\":1}'")
        .await
        .unwrap();
    scratch
        .db
        .execute_unprepared(r#"NOTIFY hadir_events, '{"v":9,"o":"x","s":1}'"#)
        .await
        .unwrap();
    // (The resync recomputes the summary; nothing else.)
    let got = through_marker(&a, &mut on_b, 5).await;
    assert!(
        got.iter()
            .all(|e| matches!(&**e, Event::PresenceSummaryChanged(_))),
        "{got:?}"
    );
    assert_eq!(load(&b.relay.counters().received_rejected), 3);
    until("a resync for the unknown version", || {
        b.relay.counters().resyncs(ResyncReason::UnknownVersion) == 1
    })
    .await;

    // A gap in a node's numbers is counted as lost and resyncs.
    for sequence in [1, 4] {
        let gap = Event::UnknownFaceSeen(UnknownFace {
            camera: fixtures::camera("GAP", 0),
            seen_at: Utc::now(),
            best_score: None,
            track_id: None,
        });
        let text = wire::encode("a-node-that-lost-two", sequence, &gap).unwrap();
        scratch
            .db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify('hadir_events', $1)",
                [text.into()],
            ))
            .await
            .unwrap();
    }
    let got = through_marker(&a, &mut on_b, 7).await;
    let gaps = got
        .iter()
        .filter(|e| matches!(&***e, Event::UnknownFaceSeen(u) if u.camera.camera_id == "GAP"))
        .count();
    assert_eq!(
        gaps, 2,
        "both delivered (and the resync's summary at most): {got:?}"
    );
    assert_eq!(load(&b.relay.counters().received_lost), 2);
    assert_eq!(b.relay.counters().resyncs(ResyncReason::SequenceGap), 1);

    // Control messages reach the others, not the sender.
    let (mut control_a, mut control_b) = (a.relay.subscribe_control(), b.relay.subscribe_control());
    let message = ControlMessage::CameraReleased {
        camera_id: "C1".into(),
    };
    a.relay.send_control(&message).await.unwrap();
    let heard = tokio::time::timeout(WAIT, control_b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heard, message);
    through_marker(&b, &mut on_a, 8).await;
    assert!(
        control_a.try_recv().is_err(),
        "a node does not hear its own"
    );
    assert!(load(&a.relay.counters().sent_ok) >= 8);
    assert!(
        a.relay
            .render_metrics()
            .contains("hadir_cluster_listener_up 1")
    );
}

#[tokio::test]
async fn a_status_changed_while_the_listener_was_down_is_delivered_once_by_the_resync() {
    let Some(scratch) = Scratch::create("relay resync").await else {
        return;
    };
    insert_camera(&scratch.db, "C1").await;
    insert_employee(&scratch.db, "E1").await;
    let hour_ago = Utc::now() - chrono::TimeDelta::hours(1);
    tracking::ActiveModel {
        employee_id: sea_orm::Set("E1".to_owned()),
        camera_id: sea_orm::Set(Some("C1".to_owned())),
        last_seen: sea_orm::Set(hour_ago),
        status: sea_orm::Set(tracking::TrackingStatus::Available),
        score: sea_orm::Set(None),
        status_changed_at: sea_orm::Set(hour_ago),
        status_version: sea_orm::Set(1),
        ..Default::default()
    }
    .insert(&scratch.db)
    .await
    .unwrap();
    let (a, b) = (node(&scratch, "a").await, node(&scratch, "b").await);
    let mut on_b = b.events.subscribe();

    // Written with no event (as if its NOTIFY were lost), then B's listener is killed.
    scratch
        .db
        .execute_unprepared(
            "UPDATE employee_tracking SET status = 'OFFLINE', status_version = 2, \
             status_changed_at = now() WHERE employee_id = 'E1'",
        )
        .await
        .unwrap();
    let killed = scratch
        .db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            [listener_application_name(b.relay.instance_id()).into()],
        ))
        .await
        .unwrap();
    assert_eq!(killed.len(), 1, "B's listening session was found");

    let event = tokio::time::timeout(WAIT, on_b.recv())
        .await
        .expect("the resync delivers the change")
        .unwrap();
    let Event::EmployeeStatusChanged(presence) = &*event else {
        panic!("{event:?}")
    };
    let row = presence.tracking.as_ref().expect("a tracking row");
    assert_eq!(
        (row.status_version, row.status),
        (2, tracking::TrackingStatus::Offline)
    );
    assert_eq!(
        presence.camera.as_ref().map(|c| c.rtsp_url.clone()),
        Some(fixtures::url_of("C1"))
    );

    until("B hears its own ping again", || {
        b.relay.health().listener_up
    })
    .await;
    let later = through_marker(&a, &mut on_b, 1).await;
    assert!(
        later
            .iter()
            .all(|e| !matches!(&**e, Event::EmployeeStatusChanged(_))),
        "delivered once: {later:?}"
    );
    let counters = b.relay.counters();
    let resyncs = counters.resyncs(ResyncReason::ConnectionLost)
        + counters.resyncs(ResyncReason::ListenerError);
    assert!(resyncs >= 1, "{}", b.relay.render_metrics());
    assert!(counters.listener_reconnects.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn faces_changed_reloads_that_one_employee_on_the_other_node() {
    let Some(scratch) = Scratch::create("relay faces").await else {
        return;
    };
    let set = FaceSettings::from_settings(&Default::default())
        .expect("the default settings")
        .set;
    let vector = vec![0.125f32; 512];
    for id in ["E2", "E3"] {
        insert_employee(&scratch.db, id).await;
    }
    store::insert_embedding(&scratch.db, "E2", set.embedder_name(), &vector, Utc::now())
        .await
        .unwrap();
    let faces_a = FaceService::gallery_only(scratch.db.clone(), set)
        .await
        .unwrap();
    let faces_b = FaceService::gallery_only(scratch.db.clone(), set)
        .await
        .unwrap();
    assert_eq!((faces_a.gallery_size(), faces_b.gallery_size()), (1, 1));
    let (a, b) = (node(&scratch, "a").await, node(&scratch, "b").await);
    faces_a.set_cluster_origin(a.relay.instance_id());
    let mut control_a = a.relay.subscribe_control();
    let follower = tokio::spawn(gallery::follow(
        faces_b.clone(),
        b.relay.subscribe_control(),
        b.relay.subscribe_resyncs(),
        Duration::from_secs(3_600),
    ));

    // E3's face arrives unannounced: only a full reload would see it.
    store::insert_embedding(&scratch.db, "E3", set.embedder_name(), &vector, Utc::now())
        .await
        .unwrap();
    assert_eq!(faces_a.remove_faces("E2").await.unwrap(), 1);
    assert_eq!(faces_a.gallery_size(), 0);
    until("B drops E2's face", || faces_b.gallery_size() == 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        faces_b.gallery_size(),
        0,
        "E3 not loaded: one employee reloaded"
    );
    assert!(
        control_a.try_recv().is_err(),
        "A ignores its own announcement"
    );
    follower.abort();
}
