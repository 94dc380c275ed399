//! The pipeline on real photos with the real models (fetched by `python3 models/fetch.py`):
//! the same person is recognised across photos, strangers are not, and several faces in one
//! frame are all found.

use vision::{
    frame::RgbF32,
    gallery::Gallery,
    models::{
        manifest::Manifest,
        runtime::{Runtime, cache_dir},
        sets::ModelSet,
    },
    pipeline::{AnalysedFace, FacePipeline, load_image},
};

fn photo(name: &str) -> RgbF32 {
    let path = cache_dir().join("photos").join(name);
    load_image(&path)
        .unwrap_or_else(|e| panic!("{e}; fetch the test photos with `python3 models/fetch.py`"))
}

fn pipeline_of(set: ModelSet) -> FacePipeline {
    let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
    FacePipeline::open(&runtime, set, &Manifest::builtin(), &cache_dir(), 1)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn pipeline() -> FacePipeline {
    pipeline_of(ModelSet::Default)
}

/// `photos` scaled into 600×1000 cells side by side on a 1920×1080 grey frame, as a camera
/// would show three people.
fn frame_of(photos: &[&RgbF32]) -> RgbF32 {
    let mut frame = RgbF32::new(1920, 1080);
    frame.data.iter_mut().for_each(|v| *v = 96.0);
    for (n, p) in photos.iter().enumerate() {
        let scale = (600.0 / p.width as f64).min(1000.0 / p.height as f64);
        let (w, h) = (
            (p.width as f64 * scale) as usize,
            (p.height as f64 * scale) as usize,
        );
        let scaled = p.resize(w, h);
        let (x0, y0) = (30 + n * 630, (1080 - h) / 2);
        for y in 0..h {
            let d = ((y0 + y) * 1920 + x0) * 3;
            frame.data[d..d + w * 3].copy_from_slice(&scaled.data[y * w * 3..(y + 1) * w * 3]);
        }
    }
    frame
}

/// The clear faces of an enrolment photo: confident and large (`obama.jpg` also holds a
/// small false detection in its background, as the reference MTCNN finds too).
fn clear_faces(set: ModelSet, faces: Vec<AnalysedFace>) -> Vec<AnalysedFace> {
    faces
        .into_iter()
        .filter(|f| {
            f.face.score >= set.enrol_min_score() && f.face.width().min(f.face.height()) >= 80.0
        })
        .collect()
}

#[test]
fn the_same_person_matches_and_strangers_do_not() {
    same_person_matches_and_strangers_do_not(ModelSet::Default);
}

#[test]
fn the_same_person_matches_and_strangers_do_not_with_sface() {
    same_person_matches_and_strangers_do_not(ModelSet::Sface);
}

#[test]
fn the_same_person_matches_and_strangers_do_not_with_insightface_models() {
    same_person_matches_and_strangers_do_not(ModelSet::Insightface);
}

fn same_person_matches_and_strangers_do_not(set: ModelSet) {
    let threshold = set.default_threshold();
    let mut pipeline = pipeline_of(set);
    let enrolled = clear_faces(set, pipeline.analyse(&photo("obama.jpg")).unwrap());
    assert_eq!(enrolled.len(), 1, "one face in obama.jpg");
    assert_eq!(enrolled[0].embedding.len(), set.embedding_dimensions());
    let mut gallery = Gallery::new(set.embedder_name(), enrolled[0].embedding.len());
    gallery.add("obama", &enrolled[0].embedding).unwrap();

    for same in ["obama2.jpg", "obama3.jpg"] {
        let faces = clear_faces(set, pipeline.analyse(&photo(same)).unwrap());
        assert_eq!(faces.len(), 1, "one face in {same}");
        let found = gallery.best_match(&faces[0].embedding).unwrap();
        assert!(
            found.score >= threshold,
            "{same}: similarity {} below {threshold}",
            found.score
        );
        eprintln!("{set:?} {same}: similarity to obama.jpg {:.3}", found.score);
    }
    for stranger in ["biden.jpg", "astronaut.png", "grace_hopper.jpg"] {
        let faces = pipeline.analyse(&photo(stranger)).unwrap();
        assert!(!faces.is_empty(), "a face in {stranger}");
        for face in faces {
            let found = gallery.best_match(&face.embedding).unwrap();
            assert!(
                found.score < threshold,
                "{stranger}: similarity {} to obama",
                found.score
            );
            eprintln!(
                "{set:?} {stranger}: similarity to obama.jpg {:.3}",
                found.score
            );
        }
    }
}

#[test]
fn several_faces_in_one_frame_are_all_found() {
    several_faces_found(ModelSet::Default);
}

#[test]
fn several_faces_in_one_frame_are_all_found_with_sface() {
    several_faces_found(ModelSet::Sface);
}

#[test]
fn several_faces_in_one_frame_are_all_found_with_insightface_models() {
    several_faces_found(ModelSet::Insightface);
}

fn several_faces_found(set: ModelSet) {
    let mut pipeline = pipeline_of(set);
    let (a, b, c) = (
        photo("obama2.jpg"),
        photo("biden.jpg"),
        photo("astronaut.png"),
    );
    let faces = pipeline.detector.detect(&frame_of(&[&a, &b, &c])).unwrap();
    assert_eq!(faces.len(), 3, "{faces:#?}");
    // One face in each of the three cells, each with its landmarks inside its box.
    let mut cells: Vec<usize> = faces
        .iter()
        .map(|f| (f.x1 as usize).saturating_sub(30) / 630)
        .collect();
    cells.sort_unstable();
    assert_eq!(cells, [0, 1, 2], "{faces:#?}");
    for face in &faces {
        for [x, y] in face.landmarks {
            assert!(
                x > face.x1 && x < face.x2 && y > face.y1 && y < face.y2,
                "{face:?}"
            );
        }
    }
}

#[test]
fn a_frame_without_faces_finds_none() {
    let mut pipeline = pipeline();
    let empty = frame_of(&[]);
    assert!(pipeline.analyse(&empty).unwrap().is_empty());
}

#[test]
fn blur_lowers_sharpness_below_the_enrolment_bar() {
    use vision::{align::align, quality};
    let mut pipeline = pipeline();
    let sharp = photo("obama2.jpg");
    let blurred = sharp
        .resize(sharp.width / 8, sharp.height / 8)
        .resize(sharp.width, sharp.height);
    let measure = |pipeline: &mut FacePipeline, image: &RgbF32| {
        let faces = pipeline.detector.detect(image).unwrap();
        let face = faces
            .iter()
            .max_by(|a, b| a.width().total_cmp(&b.width()))
            .expect("a face");
        quality::sharpness(&align(image, &face.landmarks).unwrap())
    };
    let (s, b) = (
        measure(&mut pipeline, &sharp),
        measure(&mut pipeline, &blurred),
    );
    eprintln!("sharpness: sharp {s:.1}, blurred {b:.1}");
    assert!(s > quality::MIN_ENROL_SHARPNESS, "sharp photo measured {s}");
    assert!(
        b < quality::MIN_ENROL_SHARPNESS,
        "blurred photo measured {b}"
    );
}

/// The test video: 8 s of an enrolled person, 8 s of an empty scene, 8 s of a stranger.
fn door_video() -> std::path::PathBuf {
    let video = cache_dir()
        .join("videos")
        .join("enrolled_then_empty_then_stranger.mp4");
    assert!(
        video.exists(),
        "{}: run tests/camera_fixtures/make_videos.sh",
        video.display()
    );
    video
}

/// The same stream as raw H.264 (Annex B) in `dir`, copied out by ffmpeg.
fn raw_h264_of(video: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let raw = dir.join("door.h264");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(video)
        .args(["-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264"])
        .arg(&raw)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    raw
}

/// A raw H.264 recording (made from the test video with ffmpeg) played as a camera: sampled
/// frames decode, and the enrolled face of its first seconds is found on them.
#[tokio::test]
async fn a_raw_h264_recording_plays_as_a_camera() {
    use vision::source::{FrameSource, file::FileSource};
    let video = door_video();
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_h264_of(&video, dir.path());
    let url = url::Url::from_file_path(&raw).unwrap().to_string();
    // 2 frames a second of a 24 s recording: 48 frames, then the end.
    let mut source = FileSource::open(&url, std::time::Duration::from_millis(1)).unwrap();
    let mut pipeline = pipeline();
    let mut frames = 0;
    let mut with_faces = 0;
    loop {
        match source.next_frame().await {
            Ok(frame) => {
                assert_eq!(frame.image.dimensions(), (1280, 720));
                if frames < 4 {
                    let image = RgbF32::from_rgb8(&frame.image);
                    with_faces +=
                        usize::from(!pipeline.detector.detect(&image).unwrap().is_empty());
                }
                frames += 1;
            }
            Err(vision::source::SourceError::Ended) => break,
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(
        frames,
        24 * 25,
        "at this sampling interval every frame is sampled"
    );
    assert_eq!(with_faces, 4, "the enrolled person is on the first frames");
}

/// Every frame of a recording that `recording` yields, until its end.
fn play_all(recording: &mut vision::source::recording::Recording) -> Vec<image::RgbImage> {
    let mut frames = Vec::new();
    while let Some(frame) = recording.next_sampled().unwrap_or_else(|e| panic!("{e}")) {
        frames.push(frame);
    }
    frames
}

/// An MP4 recording played directly: at 1 frame/s (key frames every second) only key frames
/// are decoded, at 5 frames/s every frame is decoded and every fifth one sampled; either way
/// the frames are exactly those of the same stream decoded from raw H.264, and the enrolled
/// face is on the first seconds and not on the empty scene after.
#[test]
fn an_mp4_recording_plays_as_a_camera() {
    use std::time::Duration;
    use vision::source::recording::Recording;
    let video = door_video();
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_h264_of(&video, dir.path());
    let open = |path: &std::path::Path, interval: Duration| {
        Recording::open(path, interval)
            .expect("a recording")
            .unwrap_or_else(|e| panic!("{e}"))
    };

    let mut mp4 = open(&video, Duration::from_secs(1));
    let Recording::Mp4(inner) = &mp4 else {
        panic!("an .mp4 opens as an MP4 recording")
    };
    assert!(
        inner.decodes_key_frames_only(),
        "GOP 25 at 25 fps: key frames every second are enough for 1 frame/s"
    );
    let every_second = play_all(&mut mp4);
    let raw_every_second = play_all(&mut open(&raw, Duration::from_secs(1)));
    assert_eq!(every_second.len(), 24, "one frame per second of 24 s");
    assert_eq!(
        every_second, raw_every_second,
        "the same frames as the raw stream"
    );

    let mut mp4 = open(&video, Duration::from_millis(200));
    let Recording::Mp4(inner) = &mp4 else {
        panic!("an .mp4 opens as an MP4 recording")
    };
    assert!(!inner.decodes_key_frames_only());
    let five_a_second = play_all(&mut mp4);
    let raw_five_a_second = play_all(&mut open(&raw, Duration::from_millis(200)));
    assert_eq!(five_a_second.len(), 24 * 5);
    assert!(
        five_a_second == raw_five_a_second,
        "the same frames as the raw stream"
    );

    // A pace quickened in the middle of a second (as recognition does for a newcomer): the
    // recording goes back to that second's key frame, so the next samples are those 200 ms
    // apart from the last one, exactly as decoded every frame from the start; slowed again,
    // the next key frame.
    let pace = vision::source::Pace::new(Duration::from_secs(1));
    let mut paced = Recording::open(&video, &pace)
        .expect("a recording")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut next = || paced.next_sampled().unwrap().expect("a frame");
    assert!(next() == every_second[0] && next() == every_second[1]);
    pace.set(Duration::from_millis(200));
    for (i, expected) in five_a_second[6..=10].iter().enumerate() {
        assert!(
            next() == *expected,
            "quick sample {i} (at 1.{}s)",
            2 + 2 * i
        );
    }
    pace.set(Duration::from_secs(1));
    assert!(next() == every_second[3], "then the key frame at 3 s");

    let mut pipeline = pipeline();
    let faces_on = |pipeline: &mut FacePipeline, frame: &image::RgbImage| {
        pipeline
            .detector
            .detect(&RgbF32::from_rgb8(frame))
            .unwrap()
            .len()
    };
    assert_eq!(
        faces_on(&mut pipeline, &every_second[2]),
        1,
        "enrolled person at 2 s"
    );
    assert_eq!(
        faces_on(&mut pipeline, &every_second[10]),
        0,
        "empty scene at 10 s"
    );
    assert_eq!(
        faces_on(&mut pipeline, &every_second[20]),
        1,
        "stranger at 20 s"
    );
}

/// A video openh264 cannot decode (B-frames, main profile) is refused when it is opened, with
/// the command that converts it; so is a video in another codec.
#[test]
fn undecodable_recordings_are_refused_with_the_fix() {
    use std::time::Duration;
    use vision::source::recording::Recording;
    let video = cache_dir().join("videos").join("empty.mp4");
    assert!(video.exists(), "{}: run make_videos.sh", video.display());
    let dir = tempfile::tempdir().unwrap();
    let with_b_frames = dir.path().join("b_frames.mp4");
    let mpeg4 = dir.path().join("mpeg4.mp4");
    for (out, codec) in [
        (
            &with_b_frames,
            ["-c:v", "libx264", "-profile:v", "main", "-bf", "2"].as_slice(),
        ),
        (&mpeg4, ["-c:v", "mpeg4"].as_slice()),
    ] {
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-t", "2", "-i"])
            .arg(&video)
            .args(codec)
            .arg(out)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
    }
    let error = Recording::open(&with_b_frames, Duration::from_secs(1))
        .expect("a recording")
        .err()
        .expect("B-frames are refused")
        .to_string();
    assert!(error.contains("B-frames"), "{error}");
    assert!(error.contains("-bf 0"), "{error}");
    let error = Recording::open(&mpeg4, Duration::from_secs(1))
        .expect("a recording")
        .err()
        .expect("MPEG-4 part 2 is refused")
        .to_string();
    assert!(error.contains("hadir decodes H.264"), "{error}");
    assert!(error.contains("mpeg4.mp4"), "{error}");
}
