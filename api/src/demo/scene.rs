//! The demo's recording: a minute of an office doorway at one frame a second, drawn from the
//! registry photos the project fetches (no video tool needed), written as a folder of JPEG
//! frames that the demo camera plays in a loop (`file:///…/?loop`).
//!
//! Who is in it, and when, is [`CAST`]: one person stays all minute, one leaves two thirds
//! in, one comes and goes early (OFFLINE, with an `EMPLOYEE_LOST`, within the minute at the
//! demo's `lost_after`), and a visitor nobody enrolled passes (reported as unknown).

use std::{
    ops::Range,
    path::{Path, PathBuf},
};

use image::{Rgb, RgbImage, imageops};

/// Seconds (and frames) of the recording before it loops.
pub const DEMO_SECONDS: u32 = 60;
/// The recording's frame size (a camera's sub-stream).
pub const FRAME_WIDTH: u32 = 960;
pub const FRAME_HEIGHT: u32 = 540;
/// The largest a person's photo is drawn, in pixels (a face about 100 px across).
const FIGURE_SIZE: u32 = 280;
/// JPEG quality of the frames (a camera's).
const JPEG_QUALITY: u8 = 85;
/// Where the frames are written inside the demo folder.
pub const RECORDING_DIR: &str = "recording";

/// Someone in the recording.
#[derive(Clone, Debug)]
pub struct Person {
    /// The demo employee they are (None: a visitor nobody enrolled).
    pub employee_id: Option<&'static str>,
    pub name: &'static str,
    pub role: &'static str,
    /// The photos enrolled for them (file names in the cache's `photos/`).
    pub enrolled: &'static [&'static str],
    /// The photo they appear as in the recording (another one where there is one).
    pub appears_as: &'static str,
    /// Where they stand, from the left (0, 1 or 2).
    pub place: u32,
    /// The seconds of the minute they are in view.
    pub in_view: Range<u32>,
}

/// Who is in the recording, and when.
pub const CAST: &[Person] = &[
    Person {
        employee_id: Some("DEMO1"),
        name: "Joe Biden",
        role: "Receptionist",
        enrolled: &["biden.jpg"],
        appears_as: "biden.jpg",
        place: 0,
        in_view: 0..DEMO_SECONDS,
    },
    Person {
        employee_id: Some("DEMO2"),
        name: "Barack Obama",
        role: "Engineer",
        enrolled: &["obama.jpg", "obama3.jpg"],
        appears_as: "obama2.jpg",
        place: 1,
        in_view: 0..40,
    },
    Person {
        employee_id: Some("DEMO3"),
        name: "Grace Hopper",
        role: "Engineer",
        enrolled: &["grace_hopper.jpg"],
        appears_as: "grace_hopper.jpg",
        place: 2,
        in_view: 2..14,
    },
    Person {
        employee_id: None,
        name: "a visitor",
        role: "",
        enrolled: &[],
        appears_as: "astronaut.png",
        place: 2,
        in_view: 24..42,
    },
];

/// Every photo the demo reads.
pub fn photos_needed() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CAST
        .iter()
        .flat_map(|p| p.enrolled.iter().copied().chain([p.appears_as]))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Why the recording could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("the demo photo {path}: {reason}")]
    Photo { path: PathBuf, reason: String },
    #[error("cannot write the demo recording in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The frame file of second `second`.
fn frame_name(second: u32) -> String {
    format!("frame-{second:04}.jpg")
}

/// Whether `folder` holds the whole recording.
pub fn is_complete(folder: &Path) -> bool {
    let recording = folder.join(RECORDING_DIR);
    (0..DEMO_SECONDS).all(|second| recording.join(frame_name(second)).is_file())
}

/// Writes the recording into `folder/recording/` (through a temporary folder, so that a
/// camera never reads half of it) from the photos in `photos`, and returns its folder.
pub fn write_recording(folder: &Path, photos: &Path) -> Result<PathBuf, SceneError> {
    let figures: Vec<RgbImage> = CAST
        .iter()
        .map(|person| figure(&photos.join(person.appears_as)))
        .collect::<Result<_, _>>()?;
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SceneError::Write { path, source }
    };
    std::fs::create_dir_all(folder).map_err(write_error(folder))?;
    let target = folder.join(RECORDING_DIR);
    let partial = folder.join(format!("{RECORDING_DIR}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(write_error(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(write_error(&partial))?;
    let background = background();
    for second in 0..DEMO_SECONDS {
        let frame = frame_at(&background, &figures, second);
        let path = partial.join(frame_name(second));
        let file = std::fs::File::create(&path).map_err(write_error(&path))?;
        let mut writer = std::io::BufWriter::new(file);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut writer, JPEG_QUALITY)
            .encode_image(&frame)
            .map_err(|e| SceneError::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
    }
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(write_error(&target))?;
    }
    std::fs::rename(&partial, &target).map_err(write_error(&target))?;
    Ok(target)
}

/// A photo's bytes, refused over [`vision::source::file::MAX_IMAGE_FILE_BYTES`] before it
/// is read (the cache folder is the operator's, not checked here).
pub fn read_photo(path: &Path) -> Result<Vec<u8>, SceneError> {
    use std::io::Read as _;
    let limit = vision::source::file::MAX_IMAGE_FILE_BYTES;
    let refused = |reason: String| SceneError::Photo {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| refused(e.to_string()))?;
    let size = file.metadata().map_err(|e| refused(e.to_string()))?.len();
    if size > limit {
        return Err(refused(format!(
            "{size} bytes; a photo may have at most {limit}"
        )));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refused(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(refused(format!("more than {limit} bytes")));
    }
    Ok(bytes)
}

/// A person's photo, shrunk to at most [`FIGURE_SIZE`] on its longer side.
fn figure(path: &Path) -> Result<RgbImage, SceneError> {
    let bytes = read_photo(path)?;
    let photo = vision::bounds::decode_image(&bytes).map_err(|e| SceneError::Photo {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let (width, height) = photo.dimensions();
    let scale = FIGURE_SIZE as f32 / width.max(height) as f32;
    let size = |side: u32| ((side as f32 * scale).round() as u32).max(1);
    Ok(imageops::resize(
        &photo,
        size(width),
        size(height),
        imageops::FilterType::Triangle,
    ))
}

/// The empty doorway: a wall, a floor, a door.
fn background() -> RgbImage {
    RgbImage::from_fn(FRAME_WIDTH, FRAME_HEIGHT, |x, y| {
        let floor = y > FRAME_HEIGHT * 3 / 4;
        let door = (FRAME_WIDTH * 3 / 4..FRAME_WIDTH * 3 / 4 + 150).contains(&x)
            && (60..FRAME_HEIGHT * 3 / 4).contains(&y);
        if door {
            Rgb([120, 86, 60])
        } else if floor {
            let shade = 90 + ((x / 40 + y / 40) % 2) as u8 * 12;
            Rgb([shade, shade, shade + 6])
        } else {
            let shade = 214 - (y * 30 / FRAME_HEIGHT) as u8;
            Rgb([shade, shade - 6, shade - 20])
        }
    })
}

/// The frame of second `second`: everyone in view at their place, swaying a little (as
/// people do, and so that the picture changes where they are).
fn frame_at(background: &RgbImage, figures: &[RgbImage], second: u32) -> RgbImage {
    let mut frame = background.clone();
    for (person, figure) in CAST.iter().zip(figures) {
        if !person.in_view.contains(&second) {
            continue;
        }
        let slot = FRAME_WIDTH / 3;
        let sway = [0i64, 4, 8, 4, 0, -4][(second % 6) as usize];
        let x = i64::from(person.place * slot + (slot - figure.width()) / 2) + sway;
        let y = i64::from((FRAME_HEIGHT - figure.height()) / 2);
        imageops::overlay(&mut frame, figure, x, y);
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cast_makes_the_minute_the_readme_promises() {
        let employees: Vec<&Person> = CAST.iter().filter(|p| p.employee_id.is_some()).collect();
        assert!(employees.len() >= 2);
        assert!(
            employees.iter().any(|p| p.in_view == (0..DEMO_SECONDS)),
            "someone stays AVAILABLE all along"
        );
        let lost_after = crate::demo::settings::DEFAULT_DEMO_LOST_AFTER_SECS;
        assert!(
            employees
                .iter()
                .any(|p| u64::from(p.in_view.end) + lost_after < u64::from(DEMO_SECONDS)),
            "someone goes OFFLINE within the first minute"
        );
        assert!(CAST.iter().any(|p| p.employee_id.is_none()), "a visitor");
        // Nobody shares a place with someone in view at the same time.
        for (i, a) in CAST.iter().enumerate() {
            for b in &CAST[i + 1..] {
                let overlap = a.in_view.start < b.in_view.end && b.in_view.start < a.in_view.end;
                assert!(
                    !(overlap && a.place == b.place),
                    "{} and {}",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn a_photo_larger_than_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.jpg");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(vision::source::file::MAX_IMAGE_FILE_BYTES + 1)
            .unwrap();
        let error = figure(&path).unwrap_err().to_string();
        assert!(
            error.contains("huge.jpg") && error.contains("a photo may have at most"),
            "{error}"
        );
    }

    #[test]
    fn frames_show_who_is_in_view() {
        let background = background();
        let figures: Vec<RgbImage> = CAST
            .iter()
            .enumerate()
            .map(|(i, _)| RgbImage::from_pixel(100, 120, Rgb([i as u8 * 40, 255, 0])))
            .collect();
        let first = frame_at(&background, &figures, 0);
        assert_eq!(first.dimensions(), (FRAME_WIDTH, FRAME_HEIGHT));
        let late = frame_at(&background, &figures, DEMO_SECONDS - 1);
        // The person at place 1 left before the end: their place is the background again.
        let centre = (FRAME_WIDTH / 2, FRAME_HEIGHT / 2);
        assert_eq!(first.get_pixel(centre.0, centre.1)[1], 255);
        assert_eq!(
            late.get_pixel(centre.0, centre.1),
            background.get_pixel(centre.0, centre.1)
        );
    }
}
