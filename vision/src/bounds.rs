//! What hadir accepts from outside (cameras, uploaded photos, files): the frame sizes it
//! works with, and the one decoder of untrusted JPEG/PNG bytes.
//!
//! Every byte from a camera is hostile until checked. A frame's size comes from the camera
//! (a JPEG header, an H.264 SPS, a webcam driver), and everything downstream (scaling,
//! `f32` copies, snapshots for viewers) allocates by it: a 1×60000 frame once made a scaled
//! snapshot ask for terabytes. So a frame is checked where it enters, by every source, with
//! [`check_frame_size`]: each side [`MIN_FRAME_SIDE`]..=[`MAX_FRAME_SIDE`] pixels and an aspect
//! ratio of at most [`MAX_ASPECT_RATIO`]:1.
//!
//! [`decode_image`] reads an image's header first, checks its size, and only then decodes it,
//! with `image`'s [`Limits`](image::Limits) set explicitly ([`MAX_DECODE_ALLOC`]): a 500 KB
//! PNG that says 13000×13000 is refused in microseconds instead of taking gigabytes.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

/// The smallest width or height of a frame hadir accepts (no face fits in less).
pub const MIN_FRAME_SIDE: u32 = 16;

/// The largest width or height of a frame hadir accepts (8K; cameras top out at 4K–8K).
pub const MAX_FRAME_SIDE: u32 = 8192;

/// The largest ratio of a frame's long side to its short side (cameras are 16:9, 4:3, at most
/// about 32:9 for panoramic ones; a 1×60000 "frame" is an attack or a bug).
pub const MAX_ASPECT_RATIO: u32 = 8;

/// The most memory the image decoder may allocate for one image (`image::Limits::max_alloc`):
/// an 8192×8192 RGB frame is 192 MiB, so 256 MiB leaves room for the decoder's own buffers.
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// A frame whose size hadir refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {width}×{height} frame is outside what hadir accepts: each side {MIN_FRAME_SIDE} to \
     {MAX_FRAME_SIDE} pixels, aspect ratio at most {MAX_ASPECT_RATIO}:1"
)]
pub struct FrameSizeError {
    pub width: u32,
    pub height: u32,
}

/// Whether a `width` × `height` frame is one hadir works with.
pub fn check_frame_size(width: u32, height: u32) -> Result<(), FrameSizeError> {
    let sides_ok = (MIN_FRAME_SIDE..=MAX_FRAME_SIDE).contains(&width)
        && (MIN_FRAME_SIDE..=MAX_FRAME_SIDE).contains(&height);
    let (long, short) = (width.max(height), width.min(height));
    // `short` is at least MIN_FRAME_SIDE here, so the product cannot overflow a u64.
    let ratio_ok = sides_ok && u64::from(long) <= u64::from(short) * u64::from(MAX_ASPECT_RATIO);
    if ratio_ok {
        Ok(())
    } else {
        Err(FrameSizeError { width, height })
    }
}

/// Why untrusted image bytes were not decoded.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The image's header names a size hadir refuses (nothing was decoded).
    #[error(transparent)]
    Size(#[from] FrameSizeError),
    /// Not a JPEG or PNG image, or a corrupt one, or one that needs more memory than
    /// [`MAX_DECODE_ALLOC`] to decode.
    #[error("not a JPEG or PNG image: {0}")]
    Decode(String),
}

/// The limits the image decoder runs with.
pub fn decode_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_FRAME_SIDE);
    limits.max_image_height = Some(MAX_FRAME_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// Decodes untrusted JPEG or PNG bytes as RGB: the header's size is checked with
/// [`check_frame_size`] before anything is decoded, and the decoder runs with
/// [`decode_limits`]. Every image from outside (cameras, uploads, files) goes through here.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Decode(e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(ImageError::Decode(
            "the bytes are in no known format".into(),
        ));
    };
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
        return Err(ImageError::Decode(format!(
            "{format:?} images are not accepted, only JPEG and PNG"
        )));
    }
    // First the header only, with the allocation limit but not the size limits, so that a
    // refused size is reported as such (with the size) rather than as the decoder's generic
    // "limits exceeded".
    let mut header_reader = reader;
    let mut header_limits = image::Limits::default();
    header_limits.max_alloc = Some(MAX_DECODE_ALLOC);
    header_reader.limits(header_limits);
    let mut decoder = header_reader
        .into_decoder()
        .map_err(|e| ImageError::Decode(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    check_frame_size(width, height)?;
    decoder
        .set_limits(decode_limits())
        .map_err(|e| ImageError::Decode(e.to_string()))?;
    let image =
        DynamicImage::from_decoder(decoder).map_err(|e| ImageError::Decode(e.to_string()))?;
    Ok(match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(image: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn frame_sizes_are_bounded_by_side_and_aspect_ratio() {
        for (w, h) in [
            (16, 16),
            (1920, 1080),
            (8192, 8192),
            (8192, 1024),
            (16, 128),
        ] {
            assert_eq!(check_frame_size(w, h), Ok(()), "{w}×{h}");
        }
        for (w, h) in [
            (1, 60000),
            (60000, 1),
            (15, 100),
            (8193, 4096),
            (8192, 1023),
            (16, 129),
            (0, 0),
            (u32::MAX, u32::MAX),
        ] {
            let error = check_frame_size(w, h).unwrap_err();
            assert_eq!((error.width, error.height), (w, h));
            let text = error.to_string();
            assert!(text.contains(&format!("{w}×{h}")), "{text}");
            assert!(
                text.contains("16 to 8192") && text.contains("8:1"),
                "{text}"
            );
        }
    }

    #[test]
    fn jpeg_and_png_decode_and_other_bytes_are_errors() {
        let image = RgbImage::from_pixel(40, 30, image::Rgb([10, 200, 30]));
        for format in [image::ImageFormat::Jpeg, image::ImageFormat::Png] {
            let decoded = decode_image(&encode(&image, format)).unwrap();
            assert_eq!(decoded.dimensions(), (40, 30));
        }
        let error = decode_image(b"no image at all").unwrap_err().to_string();
        assert!(error.contains("not a JPEG or PNG image"), "{error}");
        let error = decode_image(&[]).unwrap_err().to_string();
        assert!(error.contains("not a JPEG or PNG image"), "{error}");
    }

    #[test]
    fn a_truncated_jpeg_decodes_as_far_as_it_goes_within_its_size() {
        let mut image = RgbImage::new(320, 240);
        for (x, y, pixel) in image.enumerate_pixels_mut() {
            *pixel = image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]);
        }
        let jpeg = encode(&image, image::ImageFormat::Jpeg);
        for keep in [jpeg.len() / 2, jpeg.len() / 4, 700] {
            // Either what arrived, decoded at the size its header says, or a clear error:
            // never more than that size, never a panic.
            match decode_image(&jpeg[..keep]) {
                Ok(decoded) => assert_eq!(decoded.dimensions(), (320, 240)),
                Err(error) => assert!(
                    error.to_string().contains("not a JPEG or PNG image"),
                    "{error}"
                ),
            }
        }
        let tiny = RgbImage::from_pixel(1, 1, image::Rgb([1, 2, 3]));
        let error = decode_image(&encode(&tiny, image::ImageFormat::Png))
            .unwrap_err()
            .to_string();
        assert!(error.contains("1×1"), "a 1×1 image is refused: {error}");
    }

    #[test]
    fn a_frame_of_a_refused_shape_is_not_decoded() {
        let tall = RgbImage::from_pixel(16, 200, image::Rgb([1, 2, 3]));
        let error = decode_image(&encode(&tall, image::ImageFormat::Png)).unwrap_err();
        assert!(
            matches!(
                error,
                ImageError::Size(FrameSizeError {
                    width: 16,
                    height: 200
                })
            ),
            "{error}"
        );
    }
}
