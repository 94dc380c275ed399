//! What a webcam's buffers hold and how they become RGB: the pixel formats hadir asks for
//! (Motion-JPEG, else YUYV 4:2:2) and their conversion.

use image::RgbImage;

use super::v4l2;

/// The pixel formats hadir reads from webcams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// Motion-JPEG: each buffer a JPEG (Huffman tables may be left out, as the format allows).
    Mjpeg,
    /// YUYV 4:2:2, 2 bytes a pixel.
    Yuyv,
}

impl PixelFormat {
    pub(super) fn fourcc(self) -> u32 {
        match self {
            Self::Mjpeg => v4l2::PIX_FMT_MJPEG,
            Self::Yuyv => v4l2::PIX_FMT_YUYV,
        }
    }
}

/// A four-character code as text (`MJPG`, `YUYV`, …).
pub(super) fn fourcc_text(code: u32) -> String {
    code.to_le_bytes()
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect()
}

/// One captured buffer converted to RGB.
pub fn to_rgb(
    format: PixelFormat,
    width: u32,
    height: u32,
    bytes_per_line: u32,
    data: &[u8],
) -> Result<RgbImage, String> {
    match format {
        PixelFormat::Mjpeg => crate::bounds::decode_image(data)
            .map_err(|e| format!("a Motion-JPEG frame does not decode: {e}")),
        PixelFormat::Yuyv => yuyv_to_rgb(width, height, bytes_per_line, data),
    }
}

/// YUYV 4:2:2 (BT.601, limited range, as webcams send it) to RGB.
pub fn yuyv_to_rgb(
    width: u32,
    height: u32,
    bytes_per_line: u32,
    data: &[u8],
) -> Result<RgbImage, String> {
    let stride = (bytes_per_line.max(width * 2)) as usize;
    let needed = stride * (height as usize).saturating_sub(1) + width as usize * 2;
    if data.len() < needed {
        return Err(format!(
            "a YUYV frame of {width}×{height} needs {needed} bytes, the camera gave {}",
            data.len()
        ));
    }
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let convert = |y: u8, u: i32, v: i32, out: &mut [u8]| {
        let c = (i32::from(y) - 16) * 298;
        let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
        out[0] = clamp(c + 409 * v);
        out[1] = clamp(c - 100 * u - 208 * v);
        out[2] = clamp(c + 516 * u);
    };
    for (row, out_row) in rgb.chunks_exact_mut(width as usize * 3).enumerate() {
        let line = &data[row * stride..row * stride + width as usize * 2];
        for (pair, out) in line.chunks_exact(4).zip(out_row.chunks_mut(6)) {
            let (u, v) = (i32::from(pair[1]) - 128, i32::from(pair[3]) - 128);
            convert(pair[0], u, v, &mut out[..3]);
            if out.len() == 6 {
                convert(pair[2], u, v, &mut out[3..]);
            }
        }
    }
    RgbImage::from_raw(width, height, rgb).ok_or_else(|| "a frame has the wrong size".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_converts_to_the_right_colours() {
        // Two pixels a macropixel: white and black (Y 235 / 16, no chroma), then a red pair.
        let red = [81u8, 90, 81, 240];
        let mut data = vec![235, 128, 16, 128];
        data.extend_from_slice(&red);
        // Padding at the end of each line (bytes per line 12 for 4 pixels).
        data.extend_from_slice(&[0; 4]);
        let image = yuyv_to_rgb(4, 1, 12, &data).unwrap();
        assert_eq!(image.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(image.get_pixel(1, 0).0, [0, 0, 0]);
        let [r, g, b] = image.get_pixel(2, 0).0;
        assert!(r > 240 && g < 15 && b < 15, "red, got {r} {g} {b}");
        let error = yuyv_to_rgb(4, 2, 8, &data[..8]).unwrap_err();
        assert!(error.contains("needs 16 bytes"), "{error}");
    }

    #[test]
    fn mjpeg_frames_decode_and_garbage_is_an_error() {
        let mut jpeg = Vec::new();
        RgbImage::from_pixel(32, 16, image::Rgb([200, 40, 40]))
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let image = to_rgb(PixelFormat::Mjpeg, 32, 16, 0, &jpeg).unwrap();
        assert_eq!(image.dimensions(), (32, 16));
        assert!(image.get_pixel(4, 4).0[0] > 150);
        let error = to_rgb(PixelFormat::Mjpeg, 32, 16, 0, b"not a jpeg").unwrap_err();
        assert!(error.contains("Motion-JPEG"), "{error}");
    }
}
