//! Images as the pipeline holds them: RGB, `f32` per channel (0–255), rows of interleaved
//! pixels; and resampling as OpenCV's `INTER_AREA` does it (box averaging when shrinking,
//! bilinear when growing), separable, one pass per axis.
//!
//! An `f32` image takes 12 bytes a pixel, four times its 8-bit source: images from outside
//! (camera frames, uploaded photos) are converted with [`RgbF32::from_rgb8_capped`], which
//! shrinks the 8-bit image first to at most [`MAX_ANALYSIS_PIXELS`] and says by how much.
//!
//! - this file: [`RgbF32`], [`Scaled`], the conversion from 8-bit RGB and padded crops.
//! - `resample`: the resampling itself ([`Filter`], [`RgbF32::resize_into`] and the 8-bit
//!   shrinking behind [`RgbF32::from_rgb8_capped`]).

mod resample;

use image::RgbImage;

pub use resample::Filter;
use resample::shrink_rgb8;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture whose red is x and green is y (blue 100), for checking where pixels land.
    pub(crate) fn ramp(width: usize, height: usize) -> RgbF32 {
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
    fn crops_pad_with_black() {
        let image = ramp(4, 4);
        let crop = image.crop_padded(-1, 2, 3, 3);
        assert_eq!(crop.pixel(0, 0), [0.0, 0.0, 0.0]);
        assert_eq!(crop.pixel(1, 0), [0.0, 2.0, 100.0]);
        assert_eq!(crop.pixel(2, 1), [1.0, 3.0, 100.0]);
        assert_eq!(crop.pixel(1, 2), [0.0, 0.0, 0.0]);
    }
}
