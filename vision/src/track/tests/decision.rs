//! Who a track is, and when it is said.

use super::*;
use crate::pipeline::AnalysedFace;

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
fn a_weak_track_is_undecided_until_its_views_decide_it_and_a_clear_one_never_is() {
    let mut decision = TrackDecision::new(DecisionSettings::default());
    let start = Instant::now();
    assert_eq!(decision.newest_undecided(), None, "no track");
    // A clear first view decides its track at once: nothing to look more for.
    let clear = face_at(100.0, 200.0, 120.0, 0.99);
    decision.observe(
        &[view(clear, embedding(0, 2, 0.5), 400.0)],
        None,
        start,
        best_match,
    );
    assert_eq!(decision.newest_undecided(), None);
    // A weak one elsewhere stays undecided, from when it started, until its views decide it.
    let noisy = |axis: usize| embedding(0, axis, 2.2);
    let mut decided_at = None;
    for step in 0..6 {
        let at = seconds(start, 1.0 + step as f32 * 0.25);
        let clear = face_at(100.0, 200.0, 120.0, 0.99);
        let weak = face_at(900.0 + 5.0 * step as f32, 200.0, 40.0, 0.9);
        decision.observe(
            &[
                view(clear, embedding(0, 2, 0.5), 400.0),
                view(weak, noisy(2 + step % 5), 120.0),
            ],
            None,
            at,
            best_match,
        );
        match decision.newest_undecided() {
            Some(started) => assert_eq!(started, seconds(start, 1.0), "step {step}"),
            None => {
                decided_at = Some(step);
                break;
            }
        }
    }
    let step = decided_at.expect("the weak track was decided from its views together");
    assert!(step >= 1, "not by its first view");
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

#[test]
fn a_recognised_face_where_its_track_was_predicted_is_not_embedded_again_for_a_while() {
    let settings = DecisionSettings::default();
    let mut decision = TrackDecision::new(settings);
    let start = Instant::now();
    let face = |step: u32| face_at(100.0 + 10.0 * step as f32, 200.0, 120.0, 0.99);
    // Unknown tracks are not spared: before the first recognition, every face is embedded.
    assert_eq!(decision.spares(&face(0), start, &[]), None);
    let (_, first) = decision.observe(
        &[view(face(0), embedding(0, 2, 0.3), 400.0)],
        None,
        start,
        best_match,
    );
    assert_eq!(announced(&first), pairs(&[("ann", true)]));
    let mut spared = 0;
    let mut embedded_at = Vec::new();
    for step in 1..12u32 {
        let at = seconds(start, step as f32);
        let f = face(step);
        match decision.spares(&f, at, &[]) {
            Some(track) => {
                spared += 1;
                let (tracked, events) =
                    decision.observe_sparing(&[], &[(track, f)], None, at, best_match);
                assert_eq!(tracked[0].employee_id.as_deref(), Some("ann"));
                assert!(
                    matches!(events[0], TrackEvent::Recognised { .. }),
                    "presence refreshed"
                );
            }
            None => {
                embedded_at.push(step);
                decision.observe(
                    &[view(f, embedding(0, 2, 0.3), 400.0)],
                    None,
                    at,
                    best_match,
                );
            }
        }
    }
    let every = settings.reembed_after.as_secs() as u32;
    assert_eq!(
        embedded_at,
        [every, 2 * every],
        "re-embedded every {every} s"
    );
    assert_eq!(spared, 11 - embedded_at.len());
    assert_eq!(decision.spared_faces(), spared as u64);
    assert_eq!(decision.live_tracks(), 1, "one track all along");
    // A much larger face (a better view) is embedded; so is one claimed by another face.
    let at = seconds(start, 12.5);
    assert_eq!(
        decision.spares(&face_at(205.0, 190.0, 160.0, 0.99), at, &[]),
        None
    );
    let track = decision.tracker().tracks()[0].id;
    assert_eq!(decision.spares(&face(12), at, &[(track, face(12))]), None);
}
