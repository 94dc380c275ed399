//! Live frames for clients: JPEG encoding of a camera's latest frame, scaled down (never up,
//! and to at most [`MAX_OUTPUT_PIXELS`]) and, when asked, annotated with the faces found
//! (boxes; recognised faces in green, unknown in amber).
//!
//! Encoding runs on the blocking pool, at most `image_workers` at once ([`LiveEncoder`]), and
//! each (frame, size, annotation) is encoded once however many viewers watch: the result is
//! kept with the frame.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use image::{Rgb, RgbImage, imageops::FilterType};
use tokio::sync::{OnceCell, Semaphore};

use vision::source::Frame;

/// JPEG quality of live frames.
pub const JPEG_QUALITY: u8 = 80;
/// The widest frame sent (larger requests are clamped; frames are never upscaled).
pub const MAX_WIDTH: u32 = 3_840;
/// The narrowest frame sent.
pub const MIN_WIDTH: u32 = 16;
/// The most pixels a frame sent may have (4K UHD).
pub const MAX_OUTPUT_PIXELS: u64 = 3_840 * 2_160;
/// Encodings kept with one frame (sizes × annotated or not); others are encoded unshared.
pub const MAX_ENCODINGS_PER_FRAME: usize = 8;

/// A camera's latest sampled frame, with the faces recognition found on it.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    pub frame: Arc<Frame>,
    /// Each face's box (x1, y1, x2, y2) and, where recognised, the employee's id.
    pub faces: Vec<([f32; 4], Option<String>)>,
    /// The frame as JPEG at the sizes viewers asked for (see [`LiveEncoder`]).
    pub encodings: Encodings,
}

const RECOGNISED: Rgb<u8> = Rgb([46, 204, 113]);
const UNKNOWN: Rgb<u8> = Rgb([243, 156, 18]);

/// A frame as JPEG, with its size.
#[derive(Clone, Debug)]
pub struct EncodedFrame {
    pub jpeg: Bytes,
    pub width: u32,
    pub height: u32,
}

type Slot = Arc<OnceCell<Result<EncodedFrame, String>>>;

/// The encodings of one frame, shared by its viewers.
#[derive(Default)]
pub struct Encodings(Mutex<Vec<((u32, bool), Slot)>>);

impl Clone for Encodings {
    /// A copy of a frame starts with no encodings (they belong to the original).
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Encodings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.lock().map(|v| v.len()).unwrap_or_default();
        write!(f, "Encodings({count})")
    }
}

impl Encodings {
    /// The slot of one size; None when the frame keeps enough encodings already.
    fn slot(&self, key: (u32, bool)) -> Option<Slot> {
        let mut slots = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot)) = slots.iter().find(|(k, _)| *k == key) {
            return Some(slot.clone());
        }
        if slots.len() >= MAX_ENCODINGS_PER_FRAME {
            return None;
        }
        let slot = Slot::default();
        slots.push((key, slot.clone()));
        Some(slot)
    }
}

/// The size a frame of `source` is sent at when `width` is asked for: never wider than the
/// frame, within [`MIN_WIDTH`]..=[`MAX_WIDTH`], and at most [`MAX_OUTPUT_PIXELS`].
pub fn output_size((source_width, source_height): (u32, u32), width: Option<u32>) -> (u32, u32) {
    let source_width = source_width.max(1);
    let source_height = source_height.max(1);
    let mut width = width
        .unwrap_or(source_width)
        .clamp(MIN_WIDTH, MAX_WIDTH)
        .min(source_width);
    let height_at = |w: u32| {
        ((u64::from(source_height) * u64::from(w) + u64::from(source_width) / 2)
            / u64::from(source_width))
        .max(1)
    };
    let mut height = height_at(width);
    if u64::from(width) * height > MAX_OUTPUT_PIXELS {
        let scale = (MAX_OUTPUT_PIXELS as f64 / (f64::from(width) * height as f64)).sqrt();
        width = ((f64::from(width) * scale).floor() as u32).max(1);
        height = height_at(width);
    }
    (width, u32::try_from(height).unwrap_or(u32::MAX))
}

/// The frame as JPEG, `width` pixels wide at most (None: as captured), with face boxes when
/// `annotate`. CPU work: call it off the async runtime (see [`LiveEncoder`]).
pub fn encode(
    live: &LiveFrame,
    width: Option<u32>,
    annotate: bool,
) -> Result<EncodedFrame, String> {
    let source = &live.frame.image;
    let (target_width, target_height) = output_size(source.dimensions(), width);
    let scale = target_width as f32 / source.width().max(1) as f32;
    let mut image: RgbImage = if target_width == source.width() {
        source.clone()
    } else {
        image::imageops::resize(source, target_width, target_height, FilterType::Triangle)
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
    Ok(EncodedFrame {
        jpeg: Bytes::from(out.into_inner()),
        width: image.width(),
        height: image.height(),
    })
}

/// Encodes live frames on the blocking pool, a bounded number at once, each (frame, size,
/// annotation) once.
#[derive(Debug)]
pub struct LiveEncoder {
    permits: Arc<Semaphore>,
}

impl LiveEncoder {
    pub fn new(workers: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// The frame as JPEG (see [`encode`]), shared with every other viewer asking the same.
    pub async fn jpeg(
        &self,
        live: &Arc<LiveFrame>,
        width: Option<u32>,
        annotate: bool,
    ) -> Result<EncodedFrame, String> {
        let (target_width, _) = output_size(live.frame.image.dimensions(), width);
        match live.encodings.slot((target_width, annotate)) {
            Some(slot) => slot
                .get_or_init(|| self.encode_off_runtime(live.clone(), target_width, annotate))
                .await
                .clone(),
            None => {
                self.encode_off_runtime(live.clone(), target_width, annotate)
                    .await
            }
        }
    }

    async fn encode_off_runtime(
        &self,
        live: Arc<LiveFrame>,
        width: u32,
        annotate: bool,
    ) -> Result<EncodedFrame, String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| "the server is stopping".to_owned())?;
        tokio::task::spawn_blocking(move || encode(&live, Some(width), annotate))
            .await
            .map_err(|e| format!("the encoder failed: {e}"))?
    }
}

fn draw_box(
    image: &mut RgbImage,
    (x1, y1, x2, y2): (i64, i64, i64, i64),
    thickness: i64,
    colour: Rgb<u8>,
) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    // Only the part of the box inside the image is walked.
    let (cx1, cx2) = (x1.max(0), x2.min(w - 1));
    let (cy1, cy2) = (y1.max(0), y2.min(h - 1));
    let mut put = |x: i64, y: i64| {
        if x >= 0 && y >= 0 && x < w && y < h {
            image.put_pixel(x as u32, y as u32, colour);
        }
    };
    for t in 0..thickness {
        for x in cx1..=cx2 {
            put(x, y1 + t);
            put(x, y2 - t);
        }
        for y in cy1..=cy2 {
            put(x1 + t, y);
            put(x2 - t, y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;
    use vision::source::Frame;

    fn live_of(width: u32, height: u32) -> LiveFrame {
        LiveFrame {
            frame: Arc::new(Frame {
                image: RgbImage::from_pixel(width, height, Rgb([90, 90, 90])),
                captured_at: SystemTime::now(),
            }),
            faces: vec![
                ([100.0, 50.0, 200.0, 170.0], Some("E1".into())),
                ([300.0, 60.0, 380.0, 160.0], None),
            ],
            encodings: Encodings::default(),
        }
    }

    #[test]
    fn frames_are_scaled_and_annotated() {
        let live = live_of(640, 360);
        let plain = image::load_from_memory(&encode(&live, Some(320), false).unwrap().jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!((plain.width(), plain.height()), (320, 180));
        let marked = image::load_from_memory(&encode(&live, None, true).unwrap().jpeg)
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

    #[test]
    fn output_is_never_upscaled_and_has_bounded_pixels() {
        // The frame that once made the server abort: 1×60000 asked at 3840 wide.
        assert_eq!(output_size((1, 60_000), Some(3_840)), (1, 60_000));
        assert!(u64::from(1u32) * 60_000 <= MAX_OUTPUT_PIXELS);
        assert_eq!(output_size((640, 360), Some(3_840)), (640, 360));
        assert_eq!(output_size((640, 360), Some(1)), (16, 9));
        assert_eq!(output_size((7_680, 4_320), None), (3_840, 2_160));
        let (w, h) = output_size((3_840, 60_000), None);
        assert!(u64::from(w) * u64::from(h) <= MAX_OUTPUT_PIXELS, "{w}×{h}");
        let live = live_of(1, 2_000);
        let encoded = encode(&live, Some(3_840), true).unwrap();
        assert_eq!((encoded.width, encoded.height), (1, 2_000));
    }

    #[tokio::test]
    async fn viewers_share_one_encoding_per_size() {
        let encoder = LiveEncoder::new(2);
        let live = Arc::new(live_of(640, 360));
        let a = encoder.jpeg(&live, Some(320), false).await.unwrap();
        let b = encoder.jpeg(&live, Some(320), false).await.unwrap();
        assert_eq!(
            a.jpeg.as_ptr(),
            b.jpeg.as_ptr(),
            "the same bytes, encoded once"
        );
        // Any width past the frame's own is the frame's own size: one encoding.
        let c = encoder.jpeg(&live, Some(3_000), false).await.unwrap();
        let d = encoder.jpeg(&live, None, false).await.unwrap();
        assert_eq!(c.jpeg.as_ptr(), d.jpeg.as_ptr());
        for width in 16..40 {
            encoder.jpeg(&live, Some(width), true).await.unwrap();
        }
        assert!(live.encodings.0.lock().unwrap().len() <= MAX_ENCODINGS_PER_FRAME);
    }
}
