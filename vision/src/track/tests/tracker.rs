//! Faces linked to tracks across frames, and tracks ended.

use super::*;
use crate::region::FrameRegion;

/// A tracker with `settings` that has followed one 80 px face from `start`: the tracker, the
/// start, the face, its embedding and its track.
fn one_face_tracked(
    settings: TrackerSettings,
) -> (FaceTracker, Instant, DetectedFace, Vec<f32>, TrackId) {
    let mut tracker = FaceTracker::new(settings);
    let start = Instant::now();
    let face = face_at(100.0, 100.0, 80.0, 0.99);
    let e = embedding(0, 1, 0.1);
    let id = tracker.link(&[(&face, &e)], None, start).tracks[0];
    (tracker, start, face, e, id)
}

#[test]
fn a_person_walking_across_the_frame_is_one_track() {
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let mut ids = Vec::new();
    // 80 px faces walking 200 px a second (2.5 face widths) for 8 s, sampled at 1 frame/s;
    // their looks vary a little from frame to frame.
    for step in 0..8 {
        let face = face_at(100.0 + 200.0 * step as f32, 300.0, 80.0, 0.98);
        let e = embedding(0, 1 + step % 3, 0.4);
        let linked = tracker.link(&[(&face, &e)], None, seconds(start, step as f32));
        ids.push(linked.tracks[0]);
    }
    assert!(ids.iter().all(|&id| id == ids[0]), "{ids:?}");
    assert_eq!(tracker.tracks().len(), 1);
    assert_eq!(tracker.tracks()[0].views, 8);
    assert!(
        (tracker.tracks()[0].velocity[0] - 200.0).abs() < 1.0,
        "{:?}",
        tracker.tracks()[0].velocity
    );
}

/// Two people walking towards each other along one line: A from the left, B from the right;
/// they pass each other between the samples at 3 s and 4 s (their boxes overlap there).
fn crossing(frames: u32, hide_b_at: Option<u32>) -> (Vec<Vec<(char, TrackId)>>, FaceTracker) {
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let (ea, eb) = (embedding(0, 2, 0.3), embedding(1, 2, 0.3));
    let mut seen = Vec::new();
    for step in 0..frames {
        let t = step as f32;
        let a = face_at(200.0 + 150.0 * t, 400.0, 90.0, 0.99);
        let b = face_at(1300.0 - 150.0 * t, 410.0, 90.0, 0.99);
        let mut faces: Vec<(char, (&DetectedFace, &[f32]))> = vec![('A', (&a, &ea))];
        if hide_b_at != Some(step) {
            faces.push(('B', (&b, &eb)));
        }
        // The detector reports faces in no particular order: alternate it.
        if step % 2 == 1 {
            faces.reverse();
        }
        let pairs: Vec<_> = faces.iter().map(|(_, p)| *p).collect();
        let linked = tracker.link(&pairs, None, seconds(start, t));
        seen.push(
            faces
                .iter()
                .map(|(who, _)| *who)
                .zip(linked.tracks)
                .collect(),
        );
    }
    (seen, tracker)
}

fn identities_kept(seen: &[Vec<(char, TrackId)>]) {
    let first: std::collections::HashMap<char, TrackId> = seen[0].iter().copied().collect();
    assert_ne!(first[&'A'], first[&'B']);
    for (step, frame) in seen.iter().enumerate() {
        for (who, track) in frame {
            assert_eq!(
                *track, first[who],
                "frame {step}: {who} changed track: {seen:?}"
            );
        }
    }
}

#[test]
fn two_people_crossing_keep_their_tracks() {
    let (seen, tracker) = crossing(8, None);
    identities_kept(&seen);
    assert_eq!(tracker.tracks().len(), 2);
}

#[test]
fn two_people_crossing_keep_their_tracks_when_one_is_hidden_as_they_pass() {
    // At 4 s B is behind A: only A is found; B comes back on the other side.
    let (seen, _) = crossing(8, Some(4));
    identities_kept(&seen);
}

#[test]
fn two_people_who_look_alike_crossing_keep_their_tracks_by_motion() {
    // Embeddings too noisy to tell them apart (tiny faces): the motion model still does.
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let e = embedding(0, 1, 0.2);
    let mut first = None;
    for step in 0..8 {
        let t = step as f32;
        let a = face_at(200.0 + 150.0 * t, 400.0, 90.0, 0.99);
        let b = face_at(1300.0 - 150.0 * t, 400.0, 90.0, 0.99);
        let linked = tracker.link(&[(&a, &e), (&b, &e)], None, seconds(start, t));
        let ids = (linked.tracks[0], linked.tracks[1]);
        assert_eq!(*first.get_or_insert(ids), ids, "frame {step}");
    }
}

#[test]
fn a_stranger_where_someone_was_is_a_new_track() {
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let face = face_at(500.0, 300.0, 100.0, 0.99);
    let (ann, budi) = (embedding(0, 1, 0.1), embedding(3, 1, 0.1));
    let first = tracker.link(&[(&face, &ann)], None, start).tracks[0];
    // A little later, someone else's face in nearly the same place (not overlapping enough
    // to be taken for her whatever the looks).
    let moved = face_at(560.0, 300.0, 100.0, 0.99);
    let second = tracker.link(&[(&moved, &budi)], None, seconds(start, 1.0));
    assert_ne!(second.tracks[0], first);
    assert_eq!(second.started, [second.tracks[0]]);
}

#[test]
fn someone_else_in_the_very_same_place_is_a_new_track_when_faces_are_large_enough_to_tell() {
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let (ann, budi) = (embedding(0, 1, 0.1), embedding(3, 1, 0.1));
    // A large face: the recording loops from one person to another in the same place.
    let large = face_at(500.0, 300.0, 200.0, 0.99);
    let first = tracker.link(&[(&large, &ann)], None, start).tracks[0];
    let next = tracker
        .link(&[(&large, &budi)], None, seconds(start, 1.0))
        .tracks[0];
    assert_ne!(next, first);
    // A tiny face, whose embedding says little: the same place is the same track.
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let tiny = face_at(500.0, 300.0, 30.0, 0.9);
    let first = tracker.link(&[(&tiny, &ann)], None, start).tracks[0];
    let next = tracker
        .link(&[(&tiny, &budi)], None, seconds(start, 1.0))
        .tracks[0];
    assert_eq!(next, first);
}

#[test]
fn a_track_ends_after_looks_that_covered_it_missed_it_and_not_before() {
    let settings = TrackerSettings::default();
    let (mut tracker, start, _, _, id) = one_face_tracked(settings);
    // Looks elsewhere (motion on the other side of the frame) do not count as misses.
    let elsewhere = Some(FrameRegion::new(1000, 0, 800, 1080));
    for s in 1..10 {
        let linked = tracker.link(&[], elsewhere, seconds(start, s as f32));
        assert!(linked.ended.is_empty(), "ended at {s} s");
    }
    // Full looks without the face: it ends `end_after` after the first of them.
    let first_miss = 10.0;
    let mut ended_at = None;
    for step in 0..10 {
        let s = first_miss + step as f32 * 0.5;
        if tracker
            .link(&[], None, seconds(start, s))
            .ended
            .contains(&id)
        {
            ended_at = Some(s);
            break;
        }
    }
    let ended_at = ended_at.expect("the track ended");
    assert!(
        (ended_at - first_miss - settings.end_after.as_secs_f32()).abs() < 0.01,
        "{ended_at}"
    );
    assert!(tracker.tracks().is_empty());
}

#[test]
fn tracks_not_seen_for_long_are_forgotten_between_looks() {
    let (mut tracker, start, _, _, id) = one_face_tracked(TrackerSettings::default());
    assert!(tracker.expire(seconds(start, 29.0)).is_empty());
    assert_eq!(tracker.expire(seconds(start, 30.0)), [id]);
}

#[test]
fn a_track_missed_then_left_alone_ends_and_a_face_there_later_is_a_new_track() {
    let settings = TrackerSettings::default();
    let (mut tracker, start, face, e, id) = one_face_tracked(settings);
    // The person leaves: one look misses them, then nothing changes (no looks at all).
    assert!(
        tracker
            .link(&[], None, seconds(start, 1.0))
            .ended
            .is_empty()
    );
    assert!(tracker.expire(seconds(start, 2.0)).is_empty());
    let back = 1.0 + settings.end_after.as_secs_f32();
    assert_eq!(tracker.expire(seconds(start, back)), [id]);
    // They come back to the same place: a new track.
    let linked = tracker.link(&[(&face, &e)], None, seconds(start, back + 0.5));
    assert_ne!(linked.tracks[0], id);
    assert_eq!(linked.started, linked.tracks);
}

#[test]
fn live_tracks_are_bounded() {
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let faces: Vec<DetectedFace> = (0..100)
        .map(|i| face_at((i % 20) as f32 * 100.0, (i / 20) as f32 * 100.0, 40.0, 0.9))
        .collect();
    let embeddings: Vec<Vec<f32>> = (0..100)
        .map(|i| embedding(i % 8, (i + 1) % 8, 0.5))
        .collect();
    let pairs: Vec<_> = faces
        .iter()
        .zip(&embeddings)
        .map(|(f, e)| (f, e.as_slice()))
        .collect();
    let linked = tracker.link(&pairs, None, start);
    assert_eq!(linked.tracks.len(), 100);
    assert_eq!(tracker.tracks().len(), MAX_TRACKS);
    assert_eq!(linked.ended.len(), 100 - MAX_TRACKS);
}
