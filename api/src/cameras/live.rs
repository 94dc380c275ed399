//! Live frames for clients: JPEG encoding of a camera's latest frame, scaled and, when asked,
//! annotated with the faces found (boxes; recognised faces in green, unknown in amber).

use image::{Rgb, RgbImage, imageops::FilterType};

use super::supervisor::LiveFrame;

/// JPEG quality of live frames.
pub const JPEG_QUALITY: u8 = 80;
/// The widest frame sent (larger requests are clamped).
pub const MAX_WIDTH: u32 = 3_840;

const RECOGNISED: Rgb<u8> = Rgb([46, 204, 113]);
const UNKNOWN: Rgb<u8> = Rgb([243, 156, 18]);

/// The frame as JPEG, `width` pixels wide (None: as captured), with face boxes when
/// `annotate`.
pub fn encode(live: &LiveFrame, width: Option<u32>, annotate: bool) -> Result<Vec<u8>, String> {
    let source = &live.frame.image;
    let target_width = width.unwrap_or(source.width()).clamp(16, MAX_WIDTH);
    let scale = target_width as f32 / source.width().max(1) as f32;
    let mut image: RgbImage = if target_width == source.width() {
        source.clone()
    } else {
        let height = ((source.height() as f32 * scale).round() as u32).max(1);
        image::imageops::resize(source, target_width, height, FilterType::Triangle)
    };
    if annotate {
        for (bounds, who) in &live.faces {
            let colour = if who.is_some() { RECOGNISED } else { UNKNOWN };
            let [x1, y1, x2, y2] = bounds.map(|v| (v * scale).round() as i64);
            let thickness = (image.width() / 400).max(2) as i64;
            draw_box(&mut image, (x1, y1, x2, y2), thickness, colour);
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&image)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

fn draw_box(
    image: &mut RgbImage,
    (x1, y1, x2, y2): (i64, i64, i64, i64),
    thickness: i64,
    colour: Rgb<u8>,
) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let mut put = |x: i64, y: i64| {
        if x >= 0 && y >= 0 && x < w && y < h {
            image.put_pixel(x as u32, y as u32, colour);
        }
    };
    for t in 0..thickness {
        for x in x1..=x2 {
            put(x, y1 + t);
            put(x, y2 - t);
        }
        for y in y1..=y2 {
            put(x1 + t, y);
            put(x2 - t, y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::Arc, time::SystemTime};
    use vision::source::Frame;

    fn live() -> LiveFrame {
        LiveFrame {
            frame: Arc::new(Frame {
                image: RgbImage::from_pixel(640, 360, Rgb([90, 90, 90])),
                captured_at: SystemTime::now(),
            }),
            faces: vec![
                ([100.0, 50.0, 200.0, 170.0], Some("E1".into())),
                ([300.0, 60.0, 380.0, 160.0], None),
            ],
        }
    }

    #[test]
    fn frames_are_scaled_and_annotated() {
        let plain = image::load_from_memory(&encode(&live(), Some(320), false).unwrap())
            .unwrap()
            .to_rgb8();
        assert_eq!((plain.width(), plain.height()), (320, 180));
        let marked = image::load_from_memory(&encode(&live(), None, true).unwrap())
            .unwrap()
            .to_rgb8();
        assert_eq!(marked.width(), 640);
        let green = marked.get_pixel(150, 51);
        assert!(
            green[1] > 150 && green[0] < 120,
            "a recognised face's box is green: {green:?}"
        );
        let amber = marked.get_pixel(340, 61);
        assert!(
            amber[0] > 180 && amber[2] < 100,
            "an unknown face's box is amber: {amber:?}"
        );
        let inside = marked.get_pixel(150, 110);
        assert!(
            inside[0] < 110 && inside[1] < 110,
            "inside the box stays as it was"
        );
    }
}
