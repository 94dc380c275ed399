//! Face tracks with the real models on the project's photos (fetched by
//! `python3 models/fetch.py`): photos moved across a 1080p frame as people walk, sampled
//! once a second. A person walking across is one track, announced once; two people crossing
//! keep their identities; a stranger is one unknown event; a clear photo is a good view.

use std::time::{Duration, Instant};

use vision::{
    frame::RgbF32,
    gallery::Gallery,
    models::runtime::{Runtime, cache_dir},
    pipeline::{FacePipeline, load_image},
    track::{DecisionSettings, TrackDecision, TrackEvent, ViewQuality},
};

fn photo(name: &str) -> RgbF32 {
    let path = cache_dir().join("photos").join(name);
    load_image(&path)
        .unwrap_or_else(|e| panic!("{e}; fetch the test photos with `python3 models/fetch.py`"))
}

fn pipeline() -> FacePipeline {
    let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = FacePipeline::open_default(&runtime, 1).unwrap_or_else(|e| panic!("{e}"));
    pipeline.set_min_face_size(40.0);
    pipeline
}

/// Head and shoulders of the largest face of a photo, scaled so that the face is about
/// `face_px` tall (a person at some distance from the camera).
fn sprite(pipeline: &mut FacePipeline, name: &str, face_px: f32) -> RgbF32 {
    let p = photo(name);
    let faces = pipeline.analyse(&p).unwrap();
    let face = &faces
        .iter()
        .max_by(|a, b| a.face.width().total_cmp(&b.face.width()))
        .expect("a face")
        .face;
    let (w, h) = (face.width(), face.height());
    let x0 = (face.x1 - 0.6 * w).max(0.0) as usize;
    let y0 = (face.y1 - 0.5 * h).max(0.0) as usize;
    let x1 = ((face.x2 + 0.6 * w) as usize).min(p.width);
    let y1 = ((face.y2 + 1.0 * h) as usize).min(p.height);
    let mut bust = RgbF32::new(x1 - x0, y1 - y0);
    for y in y0..y1 {
        let src = (y * p.width + x0) * 3;
        let dst = (y - y0) * bust.width * 3;
        bust.data[dst..dst + bust.width * 3].copy_from_slice(&p.data[src..src + bust.width * 3]);
    }
    let scale = face_px / h;
    let (sw, sh) = (
        ((bust.width as f32 * scale) as usize).max(1),
        ((bust.height as f32 * scale) as usize).max(1),
    );
    bust.resize(sw, sh)
}

/// A 1920×1080 grey frame with `sprites` drawn in order (later ones cover earlier ones) at
/// their top-left corners.
fn frame_with(sprites: &[(&RgbF32, i64, i64)]) -> RgbF32 {
    let (fw, fh) = (1920i64, 1080i64);
    let mut frame = RgbF32::new(fw as usize, fh as usize);
    frame.data.iter_mut().for_each(|v| *v = 110.0);
    for (s, x0, y0) in sprites {
        for y in 0..s.height as i64 {
            for x in 0..s.width as i64 {
                let (fx, fy) = (x0 + x, y0 + y);
                if fx < 0 || fy < 0 || fx >= fw || fy >= fh {
                    continue;
                }
                let src = ((y as usize) * s.width + x as usize) * 3;
                let dst = ((fy * fw + fx) as usize) * 3;
                frame.data[dst..dst + 3].copy_from_slice(&s.data[src..src + 3]);
            }
        }
    }
    frame
}

/// A gallery of obama (from `obama.jpg`) and grace hopper (from `grace_hopper.jpg`).
fn gallery(pipeline: &mut FacePipeline) -> Gallery {
    let mut gallery = None::<Gallery>;
    for (who, file) in [("obama", "obama.jpg"), ("grace", "grace_hopper.jpg")] {
        let faces = pipeline.analyse(&photo(file)).unwrap();
        let best = faces
            .iter()
            .max_by(|a, b| a.face.width().total_cmp(&b.face.width()))
            .expect("a face");
        let g = gallery.get_or_insert_with(|| {
            Gallery::new(pipeline.set.embedder_name(), best.embedding.len())
        });
        g.add(who, &best.embedding).unwrap();
    }
    gallery.unwrap()
}

/// One frame's faces (track, employee, centre x) and what the tracks decided.
type Decided = (Vec<(u64, Option<String>, f32)>, Vec<TrackEvent>);

/// Runs `frames` (one a second) through the pipeline and a track decision.
fn decide(
    pipeline: &mut FacePipeline,
    gallery: &Gallery,
    frames: impl IntoIterator<Item = RgbF32>,
) -> Vec<Decided> {
    let mut decision = TrackDecision::new(DecisionSettings::default());
    let start = Instant::now();
    let mut out = Vec::new();
    for (n, frame) in frames.into_iter().enumerate() {
        let faces = pipeline.analyse(&frame).unwrap();
        let at = start + Duration::from_secs(n as u64);
        let (tracked, events) = decision.observe(&faces, None, at, |q| {
            gallery.best_match(q).map(|m| (m.owner.to_owned(), m.score))
        });
        out.push((
            tracked
                .iter()
                .map(|t| {
                    (
                        t.track,
                        t.employee_id.clone(),
                        (t.face.x1 + t.face.x2) / 2.0,
                    )
                })
                .collect(),
            events,
        ));
    }
    // The end: empty frames until every track has ended.
    for n in 0..5 {
        let at = start + Duration::from_secs((out.len() + n) as u64);
        let (_, events) = decision.observe(&[], None, at, |_| None);
        out.push((Vec::new(), events));
    }
    out
}

fn announced(frames: &[Decided]) -> Vec<String> {
    frames
        .iter()
        .flat_map(|(_, events)| events)
        .filter_map(|e| match e {
            TrackEvent::Recognised {
                employee_id,
                announce: true,
                ..
            } => Some(employee_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn clear_photos_are_good_views() {
    let mut pipeline = pipeline();
    for file in [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "grace_hopper.jpg",
    ] {
        let faces = pipeline.analyse(&photo(file)).unwrap();
        let best = faces
            .iter()
            .max_by(|a, b| a.face.width().total_cmp(&b.face.width()))
            .expect("a face");
        let quality = ViewQuality::of(&best.face, best.sharpness);
        println!("{file}: {quality:?} weight {:.2}", quality.weight());
        assert!(quality.weight() >= 0.5, "{file}: {quality:?}");
    }
}

#[test]
fn a_person_walking_across_the_frame_is_one_track_announced_once() {
    let mut pipeline = pipeline();
    let gallery = gallery(&mut pipeline);
    let walker = sprite(&mut pipeline, "obama2.jpg", 160.0);
    // 8 s at 1 frame/s, 180 px a second: about one face width.
    let frames = (0..8).map(|t| frame_with(&[(&walker, 100 + 180 * t, 300)]));
    let result = decide(&mut pipeline, &gallery, frames);
    let tracks: std::collections::BTreeSet<u64> = result
        .iter()
        .flat_map(|(faces, _)| faces.iter().map(|f| f.0))
        .collect();
    assert_eq!(tracks.len(), 1, "{result:?}");
    assert_eq!(announced(&result), ["obama"], "{result:?}");
    let seen = result.iter().filter(|(faces, _)| !faces.is_empty()).count();
    assert_eq!(seen, 8, "found in every frame");
}

#[test]
fn two_people_crossing_keep_their_identities() {
    let mut pipeline = pipeline();
    let gallery = gallery(&mut pipeline);
    let obama = sprite(&mut pipeline, "obama3.jpg", 150.0);
    let grace = sprite(&mut pipeline, "grace_hopper.jpg", 170.0);
    // Obama walks right, Grace left, 200 px a second each; they pass each other at about
    // 3.5 s (Grace is nearer the camera: she covers him as they pass).
    let frames =
        (0..8).map(|t| frame_with(&[(&obama, 250 + 200 * t, 330), (&grace, 1400 - 200 * t, 300)]));
    let result = decide(&mut pipeline, &gallery, frames);
    let found: Vec<usize> = result[..8].iter().map(|(faces, _)| faces.len()).collect();
    assert!(
        found.first() == Some(&2) && found.last() == Some(&2) && found.contains(&1),
        "both apart at the ends, one hidden as they pass: {found:?}"
    );
    let mut identity: std::collections::HashMap<u64, String> = Default::default();
    for (n, (faces, _)) in result.iter().enumerate() {
        for (track, who, _) in faces {
            if let Some(who) = who {
                let first = identity.entry(*track).or_insert_with(|| who.clone());
                assert_eq!(
                    first, who,
                    "frame {n}: track {track} changed identity: {result:?}"
                );
            }
        }
    }
    let mut named: Vec<&String> = identity.values().collect();
    named.sort();
    assert_eq!(named, ["grace", "obama"], "one track each: {result:?}");
    let mut announcements = announced(&result);
    announcements.sort();
    assert_eq!(announcements, ["grace", "obama"], "{result:?}");
}

#[test]
fn a_stranger_is_one_unknown_event() {
    let mut pipeline = pipeline();
    let gallery = gallery(&mut pipeline);
    let stranger = sprite(&mut pipeline, "biden.jpg", 160.0);
    let frames = (0..8).map(|t| frame_with(&[(&stranger, 700 + 20 * t, 300)]));
    let result = decide(&mut pipeline, &gallery, frames);
    let unknown: Vec<usize> = result
        .iter()
        .enumerate()
        .flat_map(|(n, (_, events))| {
            events
                .iter()
                .filter(|e| matches!(e, TrackEvent::Unknown { .. }))
                .map(move |_| n)
        })
        .collect();
    assert_eq!(
        unknown,
        [0],
        "one unknown event, at the first frame: {result:?}"
    );
    assert!(announced(&result).is_empty());
}

/// `frame` as 8-bit RGB, as a camera delivers it.
fn to_rgb8(frame: &RgbF32) -> image::RgbImage {
    let bytes = frame
        .data
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    image::RgbImage::from_raw(frame.width as u32, frame.height as u32, bytes).expect("a frame")
}

/// A window around a followed face (see `vision::look`) finds it as the whole frame does,
/// with the same embedding; windows that overlap give it once; the pipeline's own smallest
/// face is back afterwards.
#[test]
fn a_window_around_a_face_finds_it_as_the_whole_frame_does() {
    use vision::{look::Window, region::FrameRegion, track::overlap};
    let mut pipeline = pipeline();
    let obama = sprite(&mut pipeline, "obama.jpg", 70.0);
    let frame = to_rgb8(&frame_with(&[(&obama, 900, 400)]));
    let whole = pipeline
        .analyse_windows_sparing(&frame, &[Window::WHOLE], |_| true)
        .unwrap();
    assert_eq!(whole.len(), 1, "one face in the frame");
    let face = &whole[0].face;
    let side = face.width().max(face.height());
    let window = |dx: f32| Window {
        region: Some(FrameRegion::new(
            (face.x1 - side + dx).max(0.0) as u32,
            (face.y1 - side).max(0.0) as u32,
            (3.0 * side) as u32,
            (3.0 * side) as u32,
        )),
        min_face: Some(side / 2.0),
    };
    let mut asked = 0;
    let found = pipeline
        .analyse_windows_sparing(&frame, &[window(0.0), window(0.3 * side)], |_| {
            asked += 1;
            true
        })
        .unwrap();
    assert_eq!(found.len(), 1, "overlapping windows give the face once");
    assert_eq!(asked, 1, "and it is offered for embedding once");
    let bounds = |f: &vision::face::DetectedFace| [f.x1, f.y1, f.x2, f.y2];
    assert!(
        overlap(&bounds(&found[0].face), &bounds(face)) > 0.8,
        "{:?} against {:?}",
        found[0].face,
        face
    );
    let similarity: f32 = found[0]
        .embedding
        .iter()
        .zip(&whole[0].embedding)
        .map(|(a, b)| a * b)
        .sum();
    assert!(similarity > 0.9, "the same face: {similarity}");
    let again = pipeline
        .analyse_windows_sparing(&frame, &[Window::WHOLE], |_| true)
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].face, whole[0].face,
        "the pipeline's settings are restored"
    );
}
