//! Images as the pipeline holds them: RGB, `f32` per channel (0–255), rows of interleaved
//! pixels; and resampling as OpenCV's `INTER_AREA` does it (box averaging when shrinking,
//! bilinear when growing), separable, one pass per axis.
//!
//! An `f32` image takes 12 bytes a pixel, four times its 8-bit source: images from outside
//! (camera frames, uploaded photos) are converted with [`RgbF32::from_rgb8_capped`], which
//! shrinks the 8-bit image first to at most [`MAX_ANALYSIS_PIXELS`] and says by how much.

use image::RgbImage;

/// The most pixels an image from outside is analysed at (the pixel count of 3840×2160, 4K):
/// larger frames and photos are shrunk to this before their `f32` copy is made (about 95 MiB
/// at 12 bytes a pixel). Faces in a 4K frame are large enough to be found at this size.
pub const MAX_ANALYSIS_PIXELS: usize = 3840 * 2160;

/// An image converted for analysis, maybe shrunk: `scale` is original pixels per analysed
/// pixel (1.0 when it was not shrunk). A point (x, y) of `image` is (x·scale, y·scale) in the
/// original.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaled {
    pub image: RgbF32,
    pub scale: f32,
}

/// An RGB image in `f32`, row-major, 3 interleaved channels.
#[derive(Clone, Debug, Default, PartialEq)]
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

    /// `image` in `f32`, shrunk first (as 8-bit, box-averaged like [`Filter::Area`]) when it
    /// has more than `max_pixels` pixels, keeping its aspect ratio; the scale maps analysed
    /// coordinates back to `image`'s. Nothing of the original's size is allocated: the
    /// shrinking works a row at a time (`image`'s own resize would make an `f32` RGBA copy of
    /// 16 bytes a pixel on the way).
    pub fn from_rgb8_capped(image: &RgbImage, max_pixels: usize) -> Scaled {
        let (width, height) = image.dimensions();
        let pixels = width as usize * height as usize;
        if pixels <= max_pixels.max(1) {
            return Scaled {
                image: Self::from_rgb8(image),
                scale: 1.0,
            };
        }
        let shrink = (max_pixels.max(1) as f64 / pixels as f64).sqrt();
        // Rounded down so that the result holds at most `max_pixels`; at least 1×1.
        let new_width = ((f64::from(width) * shrink).floor() as usize).max(1);
        let new_height = ((f64::from(height) * shrink).floor() as usize).max(1);
        Scaled {
            image: shrink_rgb8(image, new_width, new_height),
            scale: (f64::from(width) / new_width as f64) as f32,
        }
    }

    #[inline]
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// The rectangle from (`x0`, `y0`) of `width` × `height`, zero outside this image.
    pub fn crop_padded(&self, x0: i64, y0: i64, width: usize, height: usize) -> RgbF32 {
        let mut out = RgbF32::default();
        self.crop_padded_into(x0, y0, width, height, &mut out);
        out
    }

    /// [`RgbF32::crop_padded`] into a reused image.
    pub fn crop_padded_into(
        &self,
        x0: i64,
        y0: i64,
        width: usize,
        height: usize,
        out: &mut RgbF32,
    ) {
        out.width = width;
        out.height = height;
        out.data.clear();
        out.data.resize(width * height * 3, 0.0);
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
    }

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
fn shrink_rgb8(image: &RgbImage, width: usize, height: usize) -> RgbF32 {
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
    fn large_images_are_shrunk_before_the_float_copy() {
        let big = RgbImage::from_pixel(400, 100, image::Rgb([10, 20, 30]));
        let scaled = RgbF32::from_rgb8_capped(&big, 100 * 25);
        assert_eq!((scaled.image.width, scaled.image.height), (100, 25));
        assert_eq!(scaled.scale, 4.0);
        let [r, g, b] = scaled.image.pixel(50, 10);
        assert!((r - 10.0).abs() < 1e-3 && (g - 20.0).abs() < 1e-3 && (b - 30.0).abs() < 1e-3);
        // Box averaging, as `resize` does on the f32 image.
        let mut ramp = RgbImage::new(8, 4);
        for (x, y, pixel) in ramp.enumerate_pixels_mut() {
            *pixel = image::Rgb([(x * 30) as u8, (y * 60) as u8, 100]);
        }
        let shrunk = RgbF32::from_rgb8_capped(&ramp, 8);
        let reference = RgbF32::from_rgb8(&ramp).resize(4, 2);
        assert_eq!((shrunk.image.width, shrunk.image.height), (4, 2));
        for (a, b) in shrunk.image.data.iter().zip(&reference.data) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        let odd = RgbImage::from_pixel(1001, 333, image::Rgb([0, 0, 0]));
        let scaled = RgbF32::from_rgb8_capped(&odd, 10_000);
        assert!(scaled.image.width * scaled.image.height <= 10_000);
        assert!((scaled.image.width as f32 * scaled.scale - 1001.0).abs() < 1e-3);
        let small = RgbImage::from_pixel(64, 48, image::Rgb([1, 2, 3]));
        let kept = RgbF32::from_rgb8_capped(&small, MAX_ANALYSIS_PIXELS);
        assert_eq!(kept.scale, 1.0);
        assert_eq!(kept.image, RgbF32::from_rgb8(&small));
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
