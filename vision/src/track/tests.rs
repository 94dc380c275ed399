//! The tracker and the decision on synthetic faces: boxes that move as people walk, unit
//! embeddings that say who is who (the real models' version is `tests/tracks.rs`).

use std::time::{Duration, Instant};

use super::*;
use crate::pipeline::AnalysedFace;

/// A unit embedding pointing mostly along axis `who` of 8, with a little of axis `noise`.
fn embedding(who: usize, noise: usize, amount: f32) -> Vec<f32> {
    let mut v = vec![0.0; 8];
    v[who] = 1.0;
    v[noise] += amount;
    evidence::normalise(&mut v);
    v
}

/// A face of `size` px with its top-left corner at (x, y), frontal, detected at `score`.
fn face_at(x: f32, y: f32, size: f32, score: f32) -> DetectedFace {
    DetectedFace {
        x1: x,
        y1: y,
        x2: x + size,
        y2: y + size,
        score,
        landmarks: [
            [x + 0.3 * size, y + 0.4 * size],
            [x + 0.7 * size, y + 0.4 * size],
            [x + 0.5 * size, y + 0.6 * size],
            [x + 0.35 * size, y + 0.8 * size],
            [x + 0.65 * size, y + 0.8 * size],
        ],
    }
}

fn seconds(start: Instant, s: f32) -> Instant {
    start + Duration::from_secs_f32(s)
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
    let mut tracker = FaceTracker::new(settings);
    let start = Instant::now();
    let face = face_at(100.0, 100.0, 80.0, 0.99);
    let e = embedding(0, 1, 0.1);
    let id = tracker.link(&[(&face, &e)], None, start).tracks[0];
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
    let mut tracker = FaceTracker::new(TrackerSettings::default());
    let start = Instant::now();
    let face = face_at(100.0, 100.0, 80.0, 0.99);
    let e = embedding(0, 1, 0.1);
    let id = tracker.link(&[(&face, &e)], None, start).tracks[0];
    assert!(tracker.expire(seconds(start, 29.0)).is_empty());
    assert_eq!(tracker.expire(seconds(start, 30.0)), [id]);
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

// The decision.

/// A gallery of unit vectors along the first axes: "ann" is axis 0, "budi" axis 1.
fn best_match(query: &[f32]) -> Option<(String, f32)> {
    [("ann", 0usize), ("budi", 1)]
        .iter()
        .map(|(who, axis)| (who.to_string(), query[*axis]))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn view(face: DetectedFace, embedding: Vec<f32>, sharpness: f32) -> AnalysedFace {
    AnalysedFace {
        face,
        embedding,
        sharpness,
    }
}

fn announced(events: &[TrackEvent]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            TrackEvent::Recognised {
                employee_id,
                announce,
                ..
            } => Some((employee_id.clone(), *announce)),
            _ => None,
        })
        .collect()
}

fn pairs(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(w, a)| (w.to_string(), *a)).collect()
}

#[test]
fn a_clear_first_view_is_recognised_at_once_and_announced_once_per_interval() {
    let settings = DecisionSettings::default();
    let mut decision = TrackDecision::new(settings);
    let start = Instant::now();
    let mut all = Vec::new();
    for step in 0..25 {
        let face = face_at(100.0 + 20.0 * step as f32, 200.0, 120.0, 0.99);
        let (tracked, events) = decision.observe(
            &[view(face, embedding(0, 2, 0.5), 400.0)],
            None,
            seconds(start, step as f32),
            best_match,
        );
        assert_eq!(
            tracked[0].employee_id.as_deref(),
            Some("ann"),
            "step {step}"
        );
        all.push(announced(&events));
    }
    assert_eq!(
        all[0],
        pairs(&[("ann", true)]),
        "the first view is announced"
    );
    let announcements: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, e)| e.iter().any(|(_, a)| *a))
        .map(|(i, _)| i)
        .collect();
    let every = settings.announce_interval.as_secs() as usize;
    assert_eq!(announcements, [0, every, 2 * every]);
    assert!(
        all.iter().all(|e| e.len() == 1),
        "every view refreshes presence"
    );
    assert_eq!(decision.recognised_tracks(), 1);
}

#[test]
fn weak_views_are_rescued_by_their_aggregate() {
    // Each view alone is below the threshold (0.45): ann's axis plus different noise.
    let mut decision = TrackDecision::new(DecisionSettings::default());
    let start = Instant::now();
    let noisy = |axis: usize| embedding(0, axis, 2.2); // ann ≈ 0.41 each
    assert!(best_match(&noisy(2)).unwrap().1 < 0.45);
    let mut recognised_at = None;
    for step in 0..6 {
        // Tiny faces embed noisily: they are linked by their boxes' overlap.
        let face = face_at(300.0 + 5.0 * step as f32, 200.0, 40.0, 0.9);
        let (_, events) = decision.observe(
            &[view(face, noisy(2 + step % 5), 120.0)],
            None,
            seconds(start, step as f32),
            best_match,
        );
        if recognised_at.is_none() && !announced(&events).is_empty() {
            recognised_at = Some(step);
        }
    }
    let step = recognised_at.expect("the track was recognised from its views together");
    assert!(step >= 1, "not from one weak view");
}

#[test]
fn a_stranger_is_one_unknown_event_per_track() {
    let mut decision = TrackDecision::new(DecisionSettings::default());
    let start = Instant::now();
    let mut unknown = 0;
    for step in 0..10 {
        let face = face_at(600.0, 200.0 + 5.0 * step as f32, 120.0, 0.99);
        let (tracked, events) = decision.observe(
            &[view(face, embedding(5, 6, 0.3), 400.0)],
            None,
            seconds(start, step as f32),
            best_match,
        );
        assert_eq!(tracked[0].employee_id, None);
        unknown += events
            .iter()
            .filter(|e| matches!(e, TrackEvent::Unknown { .. }))
            .count();
    }
    assert_eq!(unknown, 1);
    // A stranger seen only briefly and poorly is reported when the track ends.
    let later = seconds(start, 100.0);
    let small = face_at(100.0, 100.0, 24.0, 0.8);
    let (_, events) = decision.observe(
        &[view(small, embedding(6, 5, 0.3), 40.0)],
        None,
        later,
        best_match,
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, TrackEvent::Unknown { .. }))
    );
    let mut ended = Vec::new();
    for s in 1..6 {
        ended.extend(
            decision
                .observe(&[], None, later + Duration::from_secs(s), best_match)
                .1,
        );
    }
    let unknowns = ended
        .iter()
        .filter(|e| matches!(e, TrackEvent::Unknown { .. }))
        .count();
    assert_eq!(unknowns, 1, "{ended:?}");
    assert!(ended.iter().any(|e| matches!(
        e,
        TrackEvent::Ended {
            employee_id: None,
            ..
        }
    )));
    assert_eq!(decision.unknown_tracks(), 2);
}

#[test]
fn min_consecutive_views_are_needed_when_asked() {
    let mut decision = TrackDecision::new(DecisionSettings {
        min_consecutive: 3,
        ..DecisionSettings::default()
    });
    let start = Instant::now();
    let mut first = None;
    for step in 0..5 {
        let face = face_at(100.0, 100.0, 120.0, 0.99);
        let (_, events) = decision.observe(
            &[view(face, embedding(1, 2, 0.2), 400.0)],
            None,
            seconds(start, step as f32),
            best_match,
        );
        if first.is_none() && announced(&events) == pairs(&[("budi", true)]) {
            first = Some(step);
        }
    }
    assert_eq!(first, Some(2), "the third view");
}

#[test]
fn a_better_view_corrects_a_track() {
    // A poor first view leans to budi; good views of ann follow: the track is ann, announced.
    let mut decision = TrackDecision::new(DecisionSettings {
        min_evidence: 0.0,
        ..DecisionSettings::default()
    });
    let start = Instant::now();
    let face = face_at(100.0, 100.0, 80.0, 0.9);
    let (_, first) = decision.observe(
        &[view(face.clone(), embedding(1, 0, 0.9), 400.0)],
        None,
        start,
        best_match,
    );
    assert_eq!(announced(&first), pairs(&[("budi", true)]));
    let mut names = Vec::new();
    for step in 1..4 {
        let good = face_at(100.0, 100.0, 120.0, 0.99);
        let (_, events) = decision.observe(
            &[view(good, embedding(0, 2, 0.1), 400.0)],
            None,
            seconds(start, step as f32),
            best_match,
        );
        names.extend(
            announced(&events)
                .into_iter()
                .filter(|(_, a)| *a)
                .map(|(w, _)| w),
        );
    }
    assert_eq!(names, ["ann"]);
}
