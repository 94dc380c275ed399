//! H.264 decoding off the async runtime, and one pool of decoders for every stream that
//! decodes key frames only.
//!
//! An openh264 decoder holds its picture buffers, per-macroblock state and bitstream buffer:
//! about 32 MB at 1080p (measured with heaptrack on `hadir serve`: 261 MB for 8 RTSP
//! cameras), whatever the camera's rate. One decoder per camera made memory grow by that much
//! per camera. A key frame (IDR) depends on nothing before it, and the RTSP source receives
//! each with its SPS and PPS in front (retina's `FrameFormat::SIMPLE`), so any decoder decodes
//! any camera's key frame: the cameras sampled from their key frames share
//! [`KeyFrameDecoders`], at most one decoder per core (a decode is CPU work: more would only
//! wait for a core). A stream that needs every frame decoded (key frames rarer than its
//! samples) keeps a decoder of its own ([`decode_owned`]).
//!
//! Both run on the blocking pool: a 1080p key frame takes ~15 ms of CPU, which would stall
//! every other task on an async worker thread.

use std::sync::{Arc, Mutex, OnceLock};

use image::RgbImage;
use openh264::decoder::Decoder;
use tokio::sync::Semaphore;

use super::{SourceError, h264};

/// Decoders shared by default: one per core this process may use.
pub fn default_pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// What decoding one access unit gave: a frame (RGB when it was asked for), nothing yet
/// (parameter sets alone, a frame the decoder holds back), or openh264's refusal.
pub enum Decoded {
    Frame(Option<RgbImage>),
    Nothing,
    Failed(String),
}

/// Decodes `data` with `decoder`, converting the frame to RGB when `convert`; a frame of a
/// size hadir refuses is an error before anything is allocated for it.
fn decode_with(decoder: &mut Decoder, data: &[u8], convert: bool) -> Result<Decoded, SourceError> {
    Ok(match decoder.decode(data) {
        Ok(Some(yuv)) if convert => Decoded::Frame(Some(h264::to_rgb(&yuv)?)),
        Ok(Some(_)) => Decoded::Frame(None),
        Ok(None) => Decoded::Nothing,
        Err(error) => Decoded::Failed(error.to_string()),
    })
}

fn new_decoder() -> Result<Decoder, SourceError> {
    Decoder::new().map_err(|e| SourceError::Decode(e.to_string()))
}

/// A pool of openh264 decoders for key frames, shared by every stream (see the module's
/// documentation). At most `size` decodes run at once; decoders are made when first needed.
pub struct KeyFrameDecoders {
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Decoder>>,
}

impl std::fmt::Debug for KeyFrameDecoders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFrameDecoders")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl KeyFrameDecoders {
    /// A pool of at most `size` decoders (at least one).
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(size.max(1))),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The process's pool ([`default_pool_size`] decoders), which sources use by default.
    pub fn shared() -> Arc<Self> {
        static SHARED: OnceLock<Arc<KeyFrameDecoders>> = OnceLock::new();
        SHARED
            .get_or_init(|| Self::new(default_pool_size()))
            .clone()
    }

    /// Decoders made so far and now idle.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Decodes one key frame (with its parameter sets in front) on the blocking pool, once a
    /// decoder is free; RGB when `convert`.
    pub async fn decode(
        self: &Arc<Self>,
        data: Vec<u8>,
        convert: bool,
    ) -> Result<Decoded, SourceError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SourceError::Decode("the decoders are closed".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut decoder = match taken {
                Some(decoder) => decoder,
                None => new_decoder()?,
            };
            let decoded = decode_with(&mut decoder, &data, convert);
            // A decoder that refused a frame starts again from the next key frame's parameter
            // sets anyway; it goes back either way.
            pool.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(decoder);
            decoded
        })
        .await
        .map_err(|e| SourceError::Decode(format!("decoding stopped: {e}")))?
    }
}

/// Decodes one access unit with a stream's own decoder (made when `decoder` has none) on the
/// blocking pool; RGB when `convert`. The decoder comes back in `decoder` for the next one.
pub async fn decode_owned(
    decoder: &mut Option<Decoder>,
    data: Vec<u8>,
    convert: bool,
) -> Result<Decoded, SourceError> {
    let mut own = match decoder.take() {
        Some(own) => own,
        None => new_decoder()?,
    };
    let (own, decoded) = tokio::task::spawn_blocking(move || {
        let decoded = decode_with(&mut own, &data, convert);
        (own, decoded)
    })
    .await
    .map_err(|e| SourceError::Decode(format!("decoding stopped: {e}")))?;
    *decoder = Some(own);
    decoded
}

/// Decodes access units one after another with a stream's own decoder (made when `decoder`
/// has none), in one trip to the blocking pool, converting none: a decoder catching up from
/// a key frame. The first failure stops it.
pub async fn catch_up(
    decoder: &mut Option<Decoder>,
    units: Vec<Vec<u8>>,
) -> Result<Decoded, SourceError> {
    let mut own = match decoder.take() {
        Some(own) => own,
        None => new_decoder()?,
    };
    let (own, decoded) = tokio::task::spawn_blocking(move || {
        let mut last = Ok(Decoded::Nothing);
        for unit in &units {
            last = decode_with(&mut own, unit, false);
            if matches!(last, Ok(Decoded::Failed(_)) | Err(_)) {
                break;
            }
        }
        (own, last)
    })
    .await
    .map_err(|e| SourceError::Decode(format!("decoding stopped: {e}")))?;
    *decoder = Some(own);
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real H.264 key frame (the first an encoder makes, with its SPS and PPS in front) of
    /// a `width` × `height` picture, from openh264's encoder.
    fn key_frame(width: usize, height: usize, level: u8) -> Vec<u8> {
        let rgb: Vec<u8> = (0..width * height * 3)
            .map(|p| level.wrapping_add((p % 7) as u8))
            .collect();
        let yuv = openh264::formats::YUVBuffer::from_rgb8_source(
            openh264::formats::RgbSliceU8::new(&rgb, (width, height)),
        );
        let mut encoder = openh264::encoder::Encoder::new().expect("encoder");
        encoder.encode(&yuv).expect("encode").to_vec()
    }

    #[tokio::test]
    async fn one_pool_decodes_key_frames_of_any_stream_with_few_decoders() {
        let pool = KeyFrameDecoders::new(1);
        let small = key_frame(64, 48, 40);
        let large = key_frame(160, 96, 200);
        for round in 0..3 {
            for (data, size) in [(&small, (64, 48)), (&large, (160, 96))] {
                let Decoded::Frame(Some(image)) =
                    pool.decode(data.clone(), true).await.expect("decoded")
                else {
                    panic!("round {round}: a frame expected");
                };
                assert_eq!(image.dimensions(), size, "round {round}");
            }
        }
        assert_eq!(pool.idle(), 1, "one decoder served both streams");
        // Bytes that are no H.264 give no frame and break nothing.
        assert!(!matches!(
            pool.decode(vec![0, 0, 1, 0x65, 1, 2, 3], true).await,
            Ok(Decoded::Frame(_))
        ));
        assert!(matches!(
            pool.decode(small.clone(), true).await,
            Ok(Decoded::Frame(Some(_)))
        ));
    }

    #[tokio::test]
    async fn a_stream_of_its_own_keeps_its_decoder() {
        let mut own = None;
        let frame = key_frame(64, 48, 90);
        assert!(matches!(
            decode_owned(&mut own, frame.clone(), false).await,
            Ok(Decoded::Frame(None))
        ));
        assert!(own.is_some());
        assert!(matches!(
            decode_owned(&mut own, frame, true).await,
            Ok(Decoded::Frame(Some(_)))
        ));
    }
}
