//! Face tracks end to end, with the real models on the fixture videos
//! (tests/camera_fixtures/make_videos.sh) played as file cameras at 2 frames/s: a person
//! walking across the frame is one track and one `employeeDetected` (presence refreshed all
//! the while); two people crossing each other keep their identities, each one track; a
//! stranger standing at the door for 8 s is one `unknownFaceDetected`, not one per frame.
//! Tracks here need two views to be taken for someone, so the camera looks more (samples
//! faster) while the walker's track is undecided.
//! One server for the three (SQLite), each camera in turn.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use common::{
    ADMIN_TOKEN, Backend, ServerOptions, TestDb, TestServer,
    camera::{enrol, subscribe_to, test_video, video},
    next_event,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Announcements of one track at most this often in this test (a short interval, so that a
/// track lasting the whole pass is announced several times and its identity can be seen to
/// hold).
const ANNOUNCE_INTERVAL_SECS: u64 = 2;
/// Views a track needs here before it is taken for anyone.
const MIN_CONSECUTIVE: u32 = 2;

fn file_url(name: &str) -> String {
    url::Url::from_file_path(video(name)).unwrap().to_string()
}

async fn add_camera(server: &TestServer, id: &str, url: &str) {
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($i: CameraInput!) { createCamera(input: $i) { cameraId } }",
            json!({ "i": { "cameraId": id, "name": id, "streamUrl": url, "sampleFps": 2 } }),
        )
        .await;
}

async fn remove_camera(server: &TestServer, id: &str) {
    server
        .gql(
            ADMIN_TOKEN,
            "mutation($id: ID!) { deleteCamera(cameraId: $id) }",
            json!({ "id": id }),
        )
        .await;
}

/// Every item of `stream` from now for `window`.
async fn collect<S>(stream: &mut S, window: Duration) -> Vec<Value>
where
    S: futures_util::Stream<Item = Result<Value, graphql_ws_client::Error>> + Unpin,
{
    let until = Instant::now() + window;
    let mut items = Vec::new();
    while let Ok(Some(Ok(item))) = tokio::time::timeout(
        until.saturating_duration_since(Instant::now()),
        stream.next(),
    )
    .await
    {
        items.push(item);
    }
    items
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_is_one_track_crossing_keeps_identities_and_a_stranger_is_one_unknown() {
    let Some(db) = TestDb::create(Backend::Sqlite, "tracks") else {
        return;
    };
    let server = TestServer::start(
        &db,
        &ServerOptions {
            lost_after_secs: 60,
            extra_env: vec![
                (
                    "HADIR_ANNOUNCE_INTERVAL_SECS".into(),
                    ANNOUNCE_INTERVAL_SECS.to_string(),
                ),
                // A track is taken for someone from its second view, not its first: the
                // camera looks more (samples faster) when a face appears.
                ("HADIR_MIN_CONSECUTIVE".into(), MIN_CONSECUTIVE.to_string()),
            ],
            ..Default::default()
        },
    );
    server.create_employee("E1", "Barack Obama").await;
    enrol(&server, "E1", "obama.jpg").await;
    server.create_employee("E2", "Grace Hopper").await;
    enrol(&server, "E2", "grace_hopper.jpg").await;
    let client = server.ws(ADMIN_TOKEN).await;

    // 1. One person walks across (1–9 s of the video): one track, announced at its start
    // and then every ANNOUNCE_INTERVAL_SECS, always the same track and person; presence is
    // refreshed by the views in between.
    let mut detections = subscribe_to(
        &client,
        "subscription { employeeDetected(cameraId: \"WALK\") { employee { employeeId } trackId seenAt } }",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    add_camera(&server, "WALK", &file_url("walk_across.mp4")).await;
    let first = next_event(&mut detections, Duration::from_secs(30)).await;
    // The rest of the pass (at most 8 s of walking after the first recognition).
    let mut walk = vec![first];
    walk.extend(collect(&mut detections, Duration::from_secs(8)).await);
    let tracks: BTreeSet<&str> = walk
        .iter()
        .map(|d| {
            d["employeeDetected"]["trackId"]
                .as_str()
                .expect("a track id")
        })
        .collect();
    assert_eq!(tracks.len(), 1, "one track for the walk: {walk:?}");
    assert!(
        walk.iter()
            .all(|d| d["employeeDetected"]["employee"]["employeeId"] == "E1"),
        "{walk:?}"
    );
    // About one announcement per interval over the ~8 s walk at 2 frames/s (16 views), not
    // one per view.
    assert!(
        (1..=6).contains(&walk.len()),
        "{} announcements for one walk: {walk:?}",
        walk.len()
    );
    let confirmed = server
        .metrics()
        .await
        .value("hadir_recognitions_total{camera=\"WALK\"}");
    assert!(
        confirmed > walk.len() as f64,
        "the views between announcements refreshed presence ({confirmed} views, {} announced)",
        walk.len()
    );
    let looked_more = server
        .metrics()
        .await
        .value("hadir_camera_looked_more_total{camera=\"WALK\"}");
    assert!(
        looked_more >= 1.0,
        "the camera looked more when he appeared ({looked_more})"
    );
    drop(detections);
    remove_camera(&server, "WALK").await;

    // 2. Two people cross (1–10 s; she covers him as they pass at ~5.5 s): each is one
    // track, and no track is ever announced as the other person.
    let mut detections = subscribe_to(
        &client,
        "subscription { employeeDetected(cameraId: \"CROSS\") { employee { employeeId } trackId } }",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    add_camera(&server, "CROSS", &file_url("crossing.mp4")).await;
    let first = next_event(&mut detections, Duration::from_secs(30)).await;
    let mut crossing = vec![first];
    crossing.extend(collect(&mut detections, Duration::from_secs(9)).await);
    let mut by_track: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut by_person: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in &crossing {
        let track = d["employeeDetected"]["trackId"]
            .as_str()
            .unwrap()
            .to_owned();
        let who = d["employeeDetected"]["employee"]["employeeId"]
            .as_str()
            .unwrap()
            .to_owned();
        by_track
            .entry(track.clone())
            .or_default()
            .insert(who.clone());
        by_person.entry(who).or_default().insert(track);
    }
    assert!(
        by_track.values().all(|people| people.len() == 1),
        "a track named two people: {by_track:?}"
    );
    assert_eq!(
        by_person.keys().map(String::as_str).collect::<Vec<_>>(),
        ["E1", "E2"],
        "both recognised: {crossing:?}"
    );
    assert!(
        by_person.values().all(|tracks| tracks.len() == 1),
        "each person one track through the crossing: {by_person:?}"
    );
    drop(detections);
    remove_camera(&server, "CROSS").await;

    // 3. The door video: the stranger stands there 16–24 s, seen at every sample: one
    // unknown face, with its track.
    let mut unknown = subscribe_to(
        &client,
        "subscription { unknownFaceDetected(cameraId: \"DOOR\") { bestScore trackId } }",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    add_camera(&server, "DOOR", &file_url_of(&test_video())).await;
    let first = next_event(&mut unknown, Duration::from_secs(40)).await;
    assert!(
        first["unknownFaceDetected"]["trackId"].is_string(),
        "{first}"
    );
    // The rest of his 8 s (the recording then ends).
    let more = collect(&mut unknown, Duration::from_secs(7)).await;
    assert!(
        more.is_empty(),
        "one unknown event per track: {first} then {more:?}"
    );
    let ended = server
        .metrics()
        .await
        .value("hadir_camera_tracks_live{camera=\"DOOR\"}");
    assert!(ended <= 1.0, "{ended} live tracks");
}

fn file_url_of(path: &std::path::Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}
