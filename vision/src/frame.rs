//! Images as the pipeline holds them: RGB, `f32` per channel (0–255), rows of interleaved
//! pixels; and resampling as OpenCV's `INTER_AREA` does it (box averaging when shrinking,
//! bilinear when growing), separable, one pass per axis.

use image::RgbImage;

/// An RGB image in `f32`, row-major, 3 interleaved channels.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbF32 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl RgbF32 {
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0.0; width * height * 3],
        }
    }

    pub fn from_rgb8(image: &RgbImage) -> Self {
        Self {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.as_raw().iter().map(|&v| f32::from(v)).collect(),
        }
    }

    #[inline]
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// The rectangle from (`x0`, `y0`) of `width` × `height`, zero outside this image.
    pub fn crop_padded(&self, x0: i64, y0: i64, width: usize, height: usize) -> RgbF32 {
        let mut out = RgbF32::new(width, height);
        for row in 0..height {
            let sy = y0 + row as i64;
            if sy < 0 || sy >= self.height as i64 {
                continue;
            }
            let sx_start = x0.max(0);
            let sx_end = (x0 + width as i64).min(self.width as i64);
            if sx_start >= sx_end {
                continue;
            }
            let src = (sy as usize * self.width + sx_start as usize) * 3;
            let dst = (row * width + (sx_start - x0) as usize) * 3;
            let len = (sx_end - sx_start) as usize * 3;
            out.data[dst..dst + len].copy_from_slice(&self.data[src..src + len]);
        }
        out
    }

    /// This image resampled to `width` × `height` (`INTER_AREA` semantics).
    pub fn resize(&self, width: usize, height: usize) -> RgbF32 {
        self.resize_with(width, height, Filter::Area)
    }

    /// This image resampled to `width` × `height` with `filter`.
    pub fn resize_with(&self, width: usize, height: usize, filter: Filter) -> RgbF32 {
        let along_x = Taps::new(self.width, width, filter);
        let along_y = Taps::new(self.height, height, filter);
        // Horizontal pass: every source row to `width` pixels.
        let mut rows = vec![0.0f32; self.height * width * 3];
        for y in 0..self.height {
            let src = &self.data[y * self.width * 3..(y + 1) * self.width * 3];
            let dst = &mut rows[y * width * 3..(y + 1) * width * 3];
            for x in 0..width {
                let (start, weights) = along_x.of(x);
                let mut acc = [0.0f32; 3];
                for (k, w) in weights.iter().enumerate() {
                    let i = (start + k) * 3;
                    acc[0] += w * src[i];
                    acc[1] += w * src[i + 1];
                    acc[2] += w * src[i + 2];
                }
                dst[x * 3..x * 3 + 3].copy_from_slice(&acc);
            }
        }
        // Vertical pass: rows weighted into each output row.
        let mut out = RgbF32::new(width, height);
        let row_len = width * 3;
        for y in 0..height {
            let (start, weights) = along_y.of(y);
            let dst = &mut out.data[y * row_len..(y + 1) * row_len];
            for (k, &w) in weights.iter().enumerate() {
                let src = &rows[(start + k) * row_len..(start + k + 1) * row_len];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += w * s;
                }
            }
        }
        out
    }
}

/// How to resample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Box averaging when shrinking, bilinear when growing (OpenCV's `INTER_AREA`).
    Area,
    /// Bilinear between the two nearest samples either way (OpenCV's `INTER_LINEAR`).
    Bilinear,
}

/// Which source samples make each output sample along one axis, and their weights.
struct Taps {
    starts: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    fn new(source: usize, target: usize, filter: Filter) -> Self {
        let mut taps = Taps {
            starts: Vec::with_capacity(target),
            offsets: Vec::with_capacity(target + 1),
            weights: Vec::new(),
        };
        taps.offsets.push(0);
        let scale = source as f64 / target as f64;
        for i in 0..target {
            if scale >= 1.0 && filter == Filter::Area {
                // Box average over [i·scale, (i+1)·scale).
                let begin = i as f64 * scale;
                let end = begin + scale;
                let first = begin.floor() as usize;
                let last = (end.ceil() as usize).min(source);
                taps.starts.push(first);
                for j in first..last {
                    let overlap = (end.min(j as f64 + 1.0) - begin.max(j as f64)).max(0.0);
                    taps.weights.push((overlap / scale) as f32);
                }
            } else {
                // Bilinear between the two nearest samples (pixel centres at .5).
                let position = (i as f64 + 0.5) * scale - 0.5;
                let mut first = position.floor();
                let mut fraction = position - first;
                if first < 0.0 {
                    first = 0.0;
                    fraction = 0.0;
                }
                let mut first = first as usize;
                if first + 1 >= source {
                    first = source.saturating_sub(1);
                    fraction = 0.0;
                }
                taps.starts.push(first);
                taps.weights.push((1.0 - fraction) as f32);
                if first + 1 < source {
                    taps.weights.push(fraction as f32);
                }
            }
            taps.offsets.push(taps.weights.len());
        }
        taps
    }

    #[inline]
    fn of(&self, i: usize) -> (usize, &[f32]) {
        (
            self.starts[i],
            &self.weights[self.offsets[i]..self.offsets[i + 1]],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: usize, height: usize) -> RgbF32 {
        let mut image = RgbF32::new(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = (y * width + x) * 3;
                image.data[i] = x as f32;
                image.data[i + 1] = y as f32;
                image.data[i + 2] = 100.0;
            }
        }
        image
    }

    #[test]
    fn halving_averages_pairs() {
        let small = ramp(8, 4).resize(4, 2);
        assert_eq!(small.pixel(0, 0), [0.5, 0.5, 100.0]);
        assert_eq!(small.pixel(3, 1), [6.5, 2.5, 100.0]);
    }

    #[test]
    fn fractional_shrinking_keeps_the_mean() {
        let image = ramp(10, 10);
        let small = image.resize(7, 3);
        let mean = |img: &RgbF32, c: usize| {
            img.data.iter().skip(c).step_by(3).sum::<f32>() / (img.width * img.height) as f32
        };
        for c in 0..3 {
            assert!((mean(&image, c) - mean(&small, c)).abs() < 1e-3);
        }
    }

    #[test]
    fn growing_interpolates() {
        let big = ramp(2, 1).resize(4, 1);
        let reds: Vec<f32> = (0..4).map(|x| big.pixel(x, 0)[0]).collect();
        assert_eq!(reds, [0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn crops_pad_with_black() {
        let image = ramp(4, 4);
        let crop = image.crop_padded(-1, 2, 3, 3);
        assert_eq!(crop.pixel(0, 0), [0.0, 0.0, 0.0]);
        assert_eq!(crop.pixel(1, 0), [0.0, 2.0, 100.0]);
        assert_eq!(crop.pixel(2, 1), [1.0, 3.0, 100.0]);
        assert_eq!(crop.pixel(1, 2), [0.0, 0.0, 0.0]);
    }
}
