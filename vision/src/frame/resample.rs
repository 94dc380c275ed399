//! Resampling as OpenCV's `INTER_AREA` does it (box averaging when shrinking, bilinear when
//! growing; or bilinear either way), separable, one pass per axis: the taps of each output
//! sample along an axis, the passes over rows, and the 8-bit shrinking done a row at a time.

use image::RgbImage;

use super::RgbF32;

impl RgbF32 {
    /// This image resampled to `width` × `height` (`INTER_AREA` semantics).
    pub fn resize(&self, width: usize, height: usize) -> RgbF32 {
        self.resize_with(width, height, Filter::Area)
    }

    /// This image resampled to `width` × `height` with `filter`.
    pub fn resize_with(&self, width: usize, height: usize, filter: Filter) -> RgbF32 {
        let mut out = RgbF32::new(0, 0);
        self.resize_into(width, height, filter, &mut out, &mut Vec::new());
        out
    }

    /// Resamples into `out`, using `scratch` for the intermediate rows. Reusing both across
    /// calls matters: fresh large buffers cost a page fault per 4 KiB on first touch, which
    /// on a virtual machine is slower than the arithmetic.
    pub fn resize_into(
        &self,
        width: usize,
        height: usize,
        filter: Filter,
        out: &mut RgbF32,
        scratch: &mut Vec<f32>,
    ) {
        let along_y = Taps::new(self.height, height, filter);
        let along_x = Taps::new(self.width, width, filter);
        // Vertical pass first (whole rows weighted together: it vectorises), so that the
        // horizontal pass runs over the output's rows only.
        let row_len = self.width * 3;
        scratch.clear();
        scratch.resize(height * row_len, 0.0);
        let columns = &mut scratch[..];
        for (y, dst) in columns.chunks_exact_mut(row_len).enumerate() {
            let (start, weights) = along_y.of(y);
            for (k, &w) in weights.iter().enumerate() {
                let src = &self.data[(start + k) * row_len..(start + k + 1) * row_len];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += w * s;
                }
            }
        }
        // Horizontal pass, with a fixed number of taps per output pixel.
        let (starts, weights, taps) = along_x.padded(self.width);
        out.width = width;
        out.height = height;
        out.data.clear();
        out.data.resize(width * height * 3, 0.0);
        let pass = match taps {
            1 => horizontal::<1>,
            2 => horizontal::<2>,
            3 => horizontal::<3>,
            4 => horizontal::<4>,
            5 => horizontal::<5>,
            6 => horizontal::<6>,
            _ => horizontal_any,
        };
        for (src, dst) in columns
            .chunks_exact(row_len)
            .zip(out.data.chunks_exact_mut(width * 3))
        {
            pass(src, &starts, &weights, taps, dst);
        }
    }
}

/// `image` box-averaged down to `width` × `height` (`INTER_AREA` semantics), a row at a time:
/// besides the result, one input row of `f32` and one output row are allocated.
pub(super) fn shrink_rgb8(image: &RgbImage, width: usize, height: usize) -> RgbF32 {
    let (source_width, source_height) = (image.width() as usize, image.height() as usize);
    let along_y = Taps::new(source_height, height, Filter::Area);
    let along_x = Taps::new(source_width, width, Filter::Area);
    let (starts, weights, taps) = along_x.padded(source_width);
    let row_len = source_width * 3;
    let raw = image.as_raw();
    let mut row = vec![0.0f32; row_len];
    let mut out = RgbF32::new(width, height);
    for (y, dst) in out.data.chunks_exact_mut(width * 3).enumerate() {
        row.fill(0.0);
        let (start, weights_y) = along_y.of(y);
        for (k, &w) in weights_y.iter().enumerate() {
            let src = &raw[(start + k) * row_len..(start + k + 1) * row_len];
            for (d, &s) in row.iter_mut().zip(src) {
                *d += w * f32::from(s);
            }
        }
        horizontal_any(&row, &starts, &weights, taps, dst);
    }
    out
}

/// One row's horizontal pass with `N` taps per output pixel (unrolled).
fn horizontal<const N: usize>(
    src: &[f32],
    starts: &[usize],
    weights: &[f32],
    _taps: usize,
    dst: &mut [f32],
) {
    for ((pixel, &start), w) in dst
        .chunks_exact_mut(3)
        .zip(starts)
        .zip(weights.chunks_exact(N))
    {
        let window = &src[start * 3..start * 3 + N * 3];
        let mut acc = [0.0f32; 3];
        for k in 0..N {
            let wk = w[k];
            acc[0] += wk * window[k * 3];
            acc[1] += wk * window[k * 3 + 1];
            acc[2] += wk * window[k * 3 + 2];
        }
        pixel.copy_from_slice(&acc);
    }
}

/// [`horizontal`] for any number of taps.
fn horizontal_any(src: &[f32], starts: &[usize], weights: &[f32], taps: usize, dst: &mut [f32]) {
    for ((pixel, &start), w) in dst
        .chunks_exact_mut(3)
        .zip(starts)
        .zip(weights.chunks_exact(taps))
    {
        let window = &src[start * 3..start * 3 + taps * 3];
        let mut acc = [0.0f32; 3];
        for (k, &wk) in w.iter().enumerate() {
            acc[0] += wk * window[k * 3];
            acc[1] += wk * window[k * 3 + 1];
            acc[2] += wk * window[k * 3 + 2];
        }
        pixel.copy_from_slice(&acc);
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

    /// Every output sample's taps padded to the same count (zero weights), each window
    /// moved inside `source` samples: (starts, weights, taps per sample).
    fn padded(&self, source: usize) -> (Vec<usize>, Vec<f32>, usize) {
        let count = self.starts.len();
        let taps = (0..count)
            .map(|i| self.offsets[i + 1] - self.offsets[i])
            .max()
            .unwrap_or(1)
            .min(source);
        let mut starts = Vec::with_capacity(count);
        let mut weights = vec![0.0f32; count * taps];
        for i in 0..count {
            let (start, w) = self.of(i);
            let first = start.min(source - taps);
            let shift = start - first;
            starts.push(first);
            for (k, &wk) in w.iter().enumerate() {
                if shift + k < taps {
                    weights[i * taps + shift + k] = wk;
                }
            }
        }
        (starts, weights, taps)
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
    use crate::frame::tests::ramp;

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
}
