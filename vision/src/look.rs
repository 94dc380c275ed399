//! Where to look on a camera's frame, once the motion gate said what changed: a change near a
//! face already followed is searched in a small window around where that face is predicted,
//! at its own scale (the detector's pyramid over a few face sizes, not over the whole changed
//! region from the smallest face up); only changes no track explains (someone new) are
//! searched whole, and the whole frame at the gate's full-frame passes.
//!
//! What a window misses, the next full-frame pass finds: a look never covers less than what
//! changed, only at fewer scales where a followed face explains the change.

use std::time::{Duration, Instant};

use crate::{
    motion::{Look, MotionGate, region_around},
    region::{Coverage, FrameRegion},
    track::{MAX_SIZE_RATIO, Track},
};

/// A followed face's window is this many of its sizes wide and high, centred on its predicted
/// box: a face size of slack on each side for the prediction's error.
pub const WINDOW_FACES: f32 = 3.0;

/// Tracks seen within this long are looked for in windows; older ones (lost for now) are
/// left to the whole search.
pub const WINDOW_RECENT: Duration = Duration::from_secs(2);

/// Changed cells outside every window below this count are noise (as the motion gate's own
/// [`crate::motion::MIN_CHANGED_CELLS`]).
const MIN_UNEXPLAINED_CELLS: usize = crate::motion::MIN_CHANGED_CELLS;

/// One part of a frame to search, and the smallest face looked for there (None: the
/// pipeline's own).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// None: the whole frame.
    pub region: Option<FrameRegion>,
    pub min_face: Option<f32>,
}

impl Window {
    pub const WHOLE: Self = Self {
        region: None,
        min_face: None,
    };
}

/// What the windows of one look cover, for the tracks (a face predicted elsewhere was not
/// looked for).
pub fn coverage(windows: &[Window]) -> Coverage {
    if windows.iter().any(|w| w.region.is_none()) {
        return Coverage::Whole;
    }
    Coverage::Regions(windows.iter().filter_map(|w| w.region).collect())
}

fn area(region: &FrameRegion) -> u64 {
    u64::from(region.width) * u64::from(region.height)
}

/// The windows to search on a frame of `size` that the motion `gate` judged as `look`
/// (the gate's last look), given the camera's live `tracks` at `at`.
pub fn plan(
    look: Look,
    gate: &MotionGate,
    tracks: &[Track],
    at: Instant,
    size: (u32, u32),
) -> Vec<Window> {
    let gate_region = match look {
        Look::Nothing => return Vec::new(),
        Look::Full => return vec![Window::WHOLE],
        Look::Region {
            x,
            y,
            width,
            height,
        } => FrameRegion::new(x, y, width, height),
    };
    let whole_change = vec![Window {
        region: Some(gate_region),
        min_face: None,
    }];
    let (frame_width, frame_height) = (size.0 as f32, size.1 as f32);
    // Around each recently seen face: its window and the smallest face it may have become.
    let mut windows: Vec<(FrameRegion, f32, bool)> = tracks
        .iter()
        .filter(|t| at.saturating_duration_since(t.last_seen) <= WINDOW_RECENT)
        .filter_map(|t| {
            let [x1, y1, x2, y2] = t.predicted(at);
            let half = t.size() * WINDOW_FACES / 2.0;
            let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
            let left = (cx - half).clamp(0.0, frame_width);
            let top = (cy - half).clamp(0.0, frame_height);
            let right = (cx + half).clamp(0.0, frame_width);
            let bottom = (cy + half).clamp(0.0, frame_height);
            (right - left >= 1.0 && bottom - top >= 1.0).then(|| {
                let region = FrameRegion::new(
                    left as u32,
                    top as u32,
                    (right - left) as u32,
                    (bottom - top) as u32,
                );
                (region, t.size() / MAX_SIZE_RATIO, false)
            })
        })
        .collect();
    if windows.is_empty() {
        return whole_change;
    }
    let mut unexplained = Vec::new();
    for cell in gate.changed_cells() {
        let mut explained = false;
        for (region, _, used) in &mut windows {
            if region.contains_centre(&cell) {
                *used = true;
                explained = true;
            }
        }
        if !explained {
            unexplained.push(cell);
        }
    }
    let mut planned: Vec<Window> = windows
        .iter()
        .filter(|(_, _, used)| *used)
        .map(|(region, min_face, _)| Window {
            region: Some(*region),
            min_face: Some(*min_face),
        })
        .collect();
    if unexplained.len() >= MIN_UNEXPLAINED_CELLS
        && let Some((x, y, width, height)) = region_around(unexplained.into_iter(), size)
    {
        if width as f32 >= frame_width * 0.9 && height as f32 >= frame_height * 0.9 {
            return whole_change;
        }
        planned.push(Window {
            region: Some(FrameRegion::new(x, y, width, height)),
            min_face: None,
        });
    }
    // Windows that add up to more than the change itself are no saving.
    let planned_area: u64 = planned
        .iter()
        .filter_map(|w| w.region.as_ref())
        .map(area)
        .sum();
    if planned.is_empty() || planned_area >= area(&gate_region) {
        return whole_change;
    }
    planned
}

#[cfg(test)]
mod tests {
    use image::RgbImage;

    use super::*;
    use crate::{face::DetectedFace, track::FaceTracker};

    /// A grey 1280×720 scene with bright squares of `side` at `squares`.
    fn scene(squares: &[(u32, u32)], side: u32) -> RgbImage {
        let mut image = RgbImage::from_pixel(1280, 720, image::Rgb([90, 90, 90]));
        for &(sx, sy) in squares {
            for y in sy..sy + side {
                for x in sx..sx + side {
                    image.put_pixel(x, y, image::Rgb([230, 200, 180]));
                }
            }
        }
        image
    }

    fn face(x: f32, y: f32, side: f32) -> DetectedFace {
        DetectedFace {
            x1: x,
            y1: y,
            x2: x + side,
            y2: y + side,
            score: 0.99,
            landmarks: [[x, y]; 5],
        }
    }

    #[test]
    fn a_change_at_a_followed_face_is_searched_around_it_at_its_scale() {
        let start = Instant::now();
        let second = |n: u64| start + Duration::from_secs(n);
        let mut gate = MotionGate::new(Duration::from_secs(60));
        let mut tracker = FaceTracker::new(Default::default());
        let embedding = [1.0f32; 4];
        // A face of 60 px at (600, 300), followed since the first frame.
        tracker.link(&[(&face(600.0, 300.0, 60.0), &embedding)], None, second(0));
        assert_eq!(gate.look(&scene(&[(600, 300)], 60), second(0)), Look::Full);
        // It moves a little: the change is explained by its track.
        let look = gate.look(&scene(&[(610, 304)], 60), second(1));
        assert!(matches!(look, Look::Region { .. }), "{look:?}");
        let windows = plan(look, &gate, tracker.tracks(), second(1), (1280, 720));
        assert_eq!(windows.len(), 1, "{windows:?}");
        let window = windows[0];
        let region = window.region.expect("a window");
        assert!(
            region.x <= 600 && region.x + region.width >= 670 && region.width <= 181,
            "{region:?}"
        );
        assert_eq!(window.min_face, Some(30.0), "down to half the face's size");

        // Someone new far from it: their change is searched whole as well.
        let look = gate.look(&scene(&[(600, 300), (100, 100)], 60), second(2));
        let windows = plan(look, &gate, tracker.tracks(), second(2), (1280, 720));
        assert!(
            windows.iter().any(|w| w.min_face.is_none()
                && w.region.is_some_and(|r| r.x <= 100 && r.x + r.width >= 160)),
            "{windows:?}"
        );
        let covered = coverage(&windows);
        assert!(covered.covers(&[110.0, 110.0, 150.0, 150.0]));
        assert!(!covered.covers(&[1100.0, 600.0, 1150.0, 650.0]));

        // Without tracks, or at a full pass, the gate's verdict stands.
        let look = gate.look(&scene(&[(600, 300)], 60), second(3));
        assert_eq!(
            plan(look, &gate, &[], second(3), (1280, 720)),
            vec![Window {
                region: match look {
                    Look::Region {
                        x,
                        y,
                        width,
                        height,
                    } => Some(FrameRegion::new(x, y, width, height)),
                    _ => panic!("{look:?}"),
                },
                min_face: None,
            }]
        );
        assert_eq!(
            plan(Look::Full, &gate, tracker.tracks(), second(3), (1280, 720)),
            vec![Window::WHOLE]
        );
        assert!(
            plan(
                Look::Nothing,
                &gate,
                tracker.tracks(),
                second(3),
                (1280, 720)
            )
            .is_empty()
        );
        assert_eq!(coverage(&[Window::WHOLE]), Coverage::Whole);
    }

    #[test]
    fn a_track_not_seen_lately_gets_no_window() {
        let start = Instant::now();
        let mut gate = MotionGate::new(Duration::from_secs(60));
        let mut tracker = FaceTracker::new(Default::default());
        tracker.link(&[(&face(600.0, 300.0, 60.0), &[1.0f32; 4])], None, start);
        gate.look(&scene(&[], 60), start);
        let later = start + WINDOW_RECENT + Duration::from_secs(1);
        let look = gate.look(&scene(&[(610, 304)], 60), later);
        let windows = plan(look, &gate, tracker.tracks(), later, (1280, 720));
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].min_face, None, "searched as the gate saw it");
    }
}
