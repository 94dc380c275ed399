//! The wire format without a database: every event survives the trip, no stream URL
//! travels, long events go by reference, and what is not a relay message is refused by kind.

use std::collections::HashMap;

use super::fixtures::{self, SECRET};
use crate::{
    cluster::wire::{self, Body, MAX_NOTIFY_PAYLOAD, WireError},
    events::{ChangeKind, Detection, Event, UnknownFace},
    presence::view::PresenceCounts,
};

/// One event of every kind, each with cameras where the kind has them.
fn every_kind() -> Vec<Event> {
    vec![
        Event::EmployeeStatusChanged(fixtures::presence("E1", 3)),
        Event::EmployeeDetected(Detection {
            presence: fixtures::presence("E1", 3),
            camera: fixtures::camera("C1", 1),
            seen_at: fixtures::at(7),
            score: Some(0.625),
            track_id: Some("1764700000000-3".into()),
        }),
        Event::UnknownFaceSeen(UnknownFace {
            camera: fixtures::camera("C2", 0),
            seen_at: fixtures::at(8),
            best_score: None,
            track_id: None,
        }),
        Event::EmployeeChanged {
            kind: ChangeKind::Updated,
            employee_id: "E1".into(),
            presence: Some(fixtures::presence("E1", 3)),
        },
        Event::EmployeeChanged {
            kind: ChangeKind::Deleted,
            employee_id: "E9".into(),
            presence: None,
        },
        Event::NotificationCreated(fixtures::notification(41, "Ani was not seen for 30 min")),
        Event::NotificationsRead {
            notification_ids: vec![3, 5],
            all: false,
            unread_count: 7,
        },
        Event::CameraStatusChanged(fixtures::camera("C3", 9)),
        Event::CameraChanged {
            kind: ChangeKind::Created,
            camera_id: "C4".into(),
            camera: Some(fixtures::camera("C4", 0)),
        },
        Event::PresenceSummaryChanged(PresenceCounts {
            present: 3,
            alert: 1,
            unavailable: 2,
            total: 6,
        }),
    ]
}

/// The URLs the receiver's table holds for the fixtures' cameras.
fn table() -> HashMap<String, String> {
    ["C1", "C2", "C3", "C4"]
        .into_iter()
        .map(|id| (id.to_owned(), fixtures::url_of(id)))
        .collect()
}

fn decoded(text: &str) -> Event {
    match wire::decode(text).expect("a relay message").body {
        Body::Inline(event) => *event,
        Body::Stored(id) => panic!("inline expected, got a reference to {id}"),
    }
}

#[test]
fn every_kind_of_event_survives_the_trip_with_its_urls_restored() {
    for event in every_kind() {
        let text = wire::encode("instance-a", 17, &event).unwrap();
        let notice = wire::decode(&text).unwrap();
        assert_eq!(
            (notice.origin.as_str(), notice.sequence),
            ("instance-a", 17)
        );
        let Body::Inline(back) = notice.body else {
            panic!("inline expected")
        };
        let mut back = *back;
        wire::restore_urls(&mut back, &table());
        assert_eq!(format!("{back:?}"), format!("{event:?}"), "{text}");
    }
}

#[test]
fn no_stream_url_is_ever_sent() {
    for event in every_kind() {
        let text = wire::encode("instance-a", 1, &event).unwrap();
        assert!(!text.contains(SECRET), "a password was sent: {text}");
        assert!(!text.contains("rtsp://"), "a stream URL was sent: {text}");
        let mut back = decoded(&text);
        wire::restore_urls(&mut back, &HashMap::new());
        assert!(
            !format!("{back:?}").contains("rtsp://"),
            "a camera no longer in the table keeps an empty URL"
        );
    }
}

#[test]
fn cameras_gone_from_the_table_keep_the_payloads_fields_with_an_empty_url() {
    let event = Event::CameraStatusChanged(fixtures::camera("C3", 9));
    let mut back = decoded(&wire::encode("a", 1, &event).unwrap());
    assert_eq!(
        wire::camera_ids(&back).into_iter().collect::<Vec<_>>(),
        ["C3"]
    );
    wire::restore_urls(&mut back, &HashMap::new());
    let Event::CameraStatusChanged(camera) = back else {
        panic!("a camera status")
    };
    let mut expected = fixtures::camera("C3", 9);
    expected.rtsp_url = String::new();
    assert_eq!(camera, expected);
}

#[test]
fn events_longer_than_a_notify_go_by_reference_and_come_back_identical() {
    let mut record = fixtures::notification(42, &"A long message. ".repeat(520));
    record.employee = Some(fixtures::presence(&"E".repeat(200), 4));
    let event = Event::NotificationCreated(record);
    let envelope = wire::encode("instance-b", 9, &event).unwrap();
    assert!(envelope.len() > 8_000, "{} bytes", envelope.len());
    assert!(!wire::fits_inline(&envelope));
    let reference = wire::reference("instance-b", 9, 1234);
    assert!(wire::fits_inline(&reference));
    let notice = wire::decode(&reference).unwrap();
    assert_eq!((notice.origin.as_str(), notice.sequence), ("instance-b", 9));
    assert!(matches!(notice.body, Body::Stored(1234)));
    // The receiver reads the stored envelope back by the id.
    let mut back = decoded(&envelope);
    wire::restore_urls(&mut back, &table());
    assert_eq!(format!("{back:?}"), format!("{event:?}"));
    let short = wire::encode("instance-b", 10, &every_kind()[0]).unwrap();
    assert!(short.len() <= MAX_NOTIFY_PAYLOAD && wire::fits_inline(&short));
}

#[test]
fn what_is_not_a_relay_message_is_refused_by_kind() {
    for junk in [
        "junk",
        "",
        "{}",
        r#"{"v":"1"}"#,
        r#"{"v":1,"o":"a","s":1}"#,
        r#"{"v":1,"o":"a","s":1,"ref":3,"e":{"k":"presence_summary_changed","counts":{"present":0,"alert":0,"unavailable":0,"total":0}}}"#,
        r#"{"v":1,"o":"a","s":1,"e":{"k":"no_such_event"}}"#,
        r#"{"v":1,"o":"a","s":-1,"ref":3}"#,
    ] {
        assert!(
            matches!(wire::decode(junk), Err(WireError::Malformed(_))),
            "{junk:?}: {:?}",
            wire::decode(junk).map(|n| n.origin)
        );
    }
    assert_eq!(
        wire::decode(r#"{"v":2,"o":"a","s":1,"x":"a future format"}"#).unwrap_err(),
        WireError::UnknownVersion(2)
    );
    assert_eq!(wire::check_version(r#"{"v":1}"#), Ok(()));
}
