//! Look only where something changed. Office cameras mostly show an empty or still scene:
//! each sampled frame is compared with the previous one on a small grey copy (as NVRs do),
//! and detection runs on the region that changed — plus a full-frame pass every few seconds,
//! so that someone standing still is still seen within `lost_after`.

use std::time::{Duration, Instant};

use image::RgbImage;

/// Width of the grey copy frames are compared on.
pub const GRID_WIDTH: u32 = 160;
/// Difference in grey level (0–255) from which a cell of the copy has changed.
pub const DEFAULT_CHANGE_THRESHOLD: f32 = 18.0;
/// Changed cells needed before a region is looked at (noise, compression flicker below).
pub const MIN_CHANGED_CELLS: usize = 3;
/// How often the whole frame is looked at whatever changed, where nothing says how long
/// someone may go unseen; the shortest interval [`full_frame_interval`] gives.
pub const DEFAULT_FULL_FRAME_INTERVAL: Duration = Duration::from_secs(5);
/// The longest interval [`full_frame_interval`] gives: a face the motion gate missed (one
/// that came in too slowly to change the grey copy) is found within this.
pub const MAX_FULL_FRAME_INTERVAL: Duration = Duration::from_secs(30);
/// Full-frame passes within the time someone may go unseen before being taken for gone: a
/// person sitting still, whom only those passes see, is seen this many times before.
pub const FULL_FRAME_PASSES_PER_LOST_AFTER: u32 = 8;

/// How often the whole frame is looked at when someone unseen for `lost_after` is taken for
/// gone: `lost_after` ÷ [`FULL_FRAME_PASSES_PER_LOST_AFTER`], within
/// [`DEFAULT_FULL_FRAME_INTERVAL`]..=[`MAX_FULL_FRAME_INTERVAL`] (15 s at 120 s). Between
/// those passes a followed face that moves is looked for where it changed ([`crate::look`]).
pub fn full_frame_interval(lost_after: Duration) -> Duration {
    (lost_after / FULL_FRAME_PASSES_PER_LOST_AFTER)
        .clamp(DEFAULT_FULL_FRAME_INTERVAL, MAX_FULL_FRAME_INTERVAL)
}
/// Margin added around a changed region, as a fraction of the frame's shorter side (a face
/// that moved a little must still fit whole).
pub const MARGIN: f32 = 0.12;

/// A small grey copy of a frame: width, height, values.
type Grid = (u32, u32, Vec<f32>);

/// Where to look on a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// The whole frame.
    Full,
    /// Only this rectangle (x, y, width, height), in frame pixels.
    Region {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    /// Nothing changed since the last look.
    Nothing,
}

/// The motion gate of one camera.
#[derive(Debug)]
pub struct MotionGate {
    /// The last frame's size and its grey grid.
    previous: Option<((u32, u32), Grid)>,
    /// The cells that changed at the last look that gave a region (indices into the grid),
    /// and the side of a cell in frame pixels.
    changed: Vec<u32>,
    cell: f32,
    last_full: Option<Instant>,
    full_frame_interval: Duration,
    threshold: f32,
}

impl MotionGate {
    pub fn new(full_frame_interval: Duration) -> Self {
        Self {
            previous: None,
            changed: Vec::new(),
            cell: 1.0,
            last_full: None,
            full_frame_interval,
            threshold: DEFAULT_CHANGE_THRESHOLD,
        }
    }

    /// Decides where to look on `frame` (sampled at `now`) and remembers it for the next.
    pub fn look(&mut self, frame: &RgbImage, now: Instant) -> Look {
        self.changed.clear();
        let size = frame.dimensions();
        let previous = self.previous.replace((size, grey_grid(frame)));
        let full_due = self
            .last_full
            .is_none_or(|t| now.duration_since(t) >= self.full_frame_interval);
        let Some((_, (pw, ph, before))) = previous.filter(|(s, _)| *s == size) else {
            self.last_full = Some(now);
            return Look::Full;
        };
        if full_due {
            self.last_full = Some(now);
            return Look::Full;
        }
        let (_, (_, _, after)) = self.previous.as_ref().expect("just stored");
        self.cell = frame.width() as f32 / pw.max(1) as f32;
        for y in 0..ph {
            for x in 0..pw {
                let i = (y * pw + x) as usize;
                if (after[i] - before[i]).abs() > self.threshold {
                    self.changed.push(y * pw + x);
                }
            }
        }
        if self.changed.len() < MIN_CHANGED_CELLS {
            self.changed.clear();
            return Look::Nothing;
        }
        let Some((x, y, width, height)) = region_around(self.changed_cells(), size) else {
            return Look::Nothing;
        };
        if width as f32 >= frame.width() as f32 * 0.9
            && height as f32 >= frame.height() as f32 * 0.9
        {
            self.last_full = Some(now);
            self.changed.clear();
            return Look::Full;
        }
        Look::Region {
            x,
            y,
            width,
            height,
        }
    }

    /// The cells of the grey copy that changed, as boxes (x1, y1, x2, y2) in frame pixels:
    /// after a look that gave [`Look::Region`] (none after the others).
    pub fn changed_cells(&self) -> impl Iterator<Item = [f32; 4]> + '_ {
        let width = self
            .previous
            .as_ref()
            .map_or(1, |(_, (w, _, _))| (*w).max(1));
        let cell = self.cell;
        self.changed.iter().map(move |&i| {
            let (x, y) = ((i % width) as f32, (i / width) as f32);
            [x * cell, y * cell, (x + 1.0) * cell, (y + 1.0) * cell]
        })
    }
}

/// Where a region of `cells` (boxes in frame pixels, none empty) is looked at: around them,
/// with [`MARGIN`] of the frame's shorter side on each side, within the frame.
pub fn region_around(
    cells: impl Iterator<Item = [f32; 4]>,
    (frame_width, frame_height): (u32, u32),
) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for [a, b, c, d] in cells {
        (x0, y0, x1, y1) = (x0.min(a), y0.min(b), x1.max(c), y1.max(d));
    }
    if x0 > x1 {
        return None;
    }
    let margin = frame_width.min(frame_height) as f32 * MARGIN;
    let left = (x0 - margin).max(0.0) as u32;
    let top = (y0 - margin).max(0.0) as u32;
    let right = ((x1 + margin).min(frame_width as f32)) as u32;
    let bottom = ((y1 + margin).min(frame_height as f32)) as u32;
    Some((
        left,
        top,
        right.saturating_sub(left),
        bottom.saturating_sub(top),
    ))
}

/// The frame as a small grey grid (box averages), `GRID_WIDTH` wide.
fn grey_grid(frame: &RgbImage) -> Grid {
    let (w, h) = frame.dimensions();
    let gw = GRID_WIDTH.min(w.max(1));
    let cell = (w / gw).max(1);
    let gh = (h / cell).max(1);
    let mut grid = vec![0.0f32; (gw * gh) as usize];
    let raw = frame.as_raw();
    for gy in 0..gh {
        for gx in 0..gw {
            let mut sum = 0u32;
            // A sparse sample of the cell (every other pixel each way) is enough.
            for y in (gy * cell..(gy + 1) * cell).step_by(2) {
                let row = (y * w) as usize * 3;
                for x in (gx * cell..(gx + 1) * cell).step_by(2) {
                    let i = row + x as usize * 3;
                    sum += u32::from(raw[i]) * 77
                        + u32::from(raw[i + 1]) * 150
                        + u32::from(raw[i + 2]) * 29;
                }
            }
            let samples = cell.div_ceil(2) * cell.div_ceil(2);
            grid[(gy * gw + gx) as usize] = sum as f32 / (256.0 * samples as f32);
        }
    }
    (gw, gh, grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(square_at: Option<(u32, u32)>) -> RgbImage {
        let mut image = RgbImage::from_pixel(1280, 720, image::Rgb([90, 90, 90]));
        if let Some((sx, sy)) = square_at {
            for y in sy..sy + 120 {
                for x in sx..sx + 120 {
                    image.put_pixel(x, y, image::Rgb([230, 200, 180]));
                }
            }
        }
        image
    }

    #[test]
    fn still_scenes_are_skipped_and_changes_are_looked_at() {
        let start = Instant::now();
        let mut gate = MotionGate::new(Duration::from_secs(5));
        assert_eq!(
            gate.look(&scene(None), start),
            Look::Full,
            "the first frame is looked at whole"
        );
        assert_eq!(
            gate.look(&scene(None), start + Duration::from_secs(1)),
            Look::Nothing
        );
        let Look::Region {
            x,
            y,
            width,
            height,
        } = gate.look(&scene(Some((600, 300))), start + Duration::from_secs(2))
        else {
            panic!("a region expected");
        };
        assert!(
            x <= 600 && y <= 300 && x + width >= 720 && y + height >= 420,
            "{x} {y} {width} {height}"
        );
        assert!(
            width < 640 && height < 500,
            "only around the change: {width}×{height}"
        );
        // Someone standing still: nothing changes, but a full pass comes every 5 s.
        assert_eq!(
            gate.look(&scene(Some((600, 300))), start + Duration::from_secs(3)),
            Look::Nothing
        );
        assert_eq!(
            gate.look(&scene(Some((600, 300))), start + Duration::from_secs(5)),
            Look::Full
        );
    }

    #[test]
    fn full_frame_passes_follow_lost_after() {
        let secs = Duration::from_secs;
        assert_eq!(full_frame_interval(secs(120)), secs(15));
        assert_eq!(full_frame_interval(secs(20)), DEFAULT_FULL_FRAME_INTERVAL);
        assert_eq!(full_frame_interval(secs(3600)), MAX_FULL_FRAME_INTERVAL);
    }

    #[test]
    fn a_different_frame_size_is_looked_at_whole() {
        let start = Instant::now();
        let mut gate = MotionGate::new(Duration::from_secs(60));
        gate.look(&scene(None), start);
        let small = RgbImage::from_pixel(640, 360, image::Rgb([90, 90, 90]));
        assert_eq!(
            gate.look(&small, start + Duration::from_secs(1)),
            Look::Full
        );
    }
}
