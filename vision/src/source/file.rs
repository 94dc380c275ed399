//! Files as cameras, for tests and replays: a folder of JPEG/PNG images played in name order
//! at the sampling rate (then the stream ends, like a recording), one image file served
//! again at every sample (a still camera), or a raw H.264 (Annex B) recording decoded by
//! openh264 and sampled as a camera would be (its frame rate assumed to be
//! [`H264_FILE_FPS`]: raw H.264 carries no timestamps). An MP4 is refused with the command
//! that turns it into raw H.264.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use super::{Frame, FrameSource, SourceError};

/// The frame rate assumed for raw H.264 files.
pub const H264_FILE_FPS: f64 = 25.0;

/// A raw H.264 recording being played.
struct H264Playback {
    data: Vec<u8>,
    /// Where the next NAL unit starts.
    position: usize,
    decoder: openh264::decoder::Decoder,
    /// Decoded frames to skip between samples.
    stride: usize,
    decoded: usize,
}

impl H264Playback {
    /// The next sampled frame, or None at the end of the file.
    fn next_sampled(&mut self) -> Result<Option<image::RgbImage>, SourceError> {
        use openh264::formats::YUVSource;
        while self.position < self.data.len() {
            let rest = &self.data[self.position..];
            let Some(nal) = openh264::nal_units(rest).next() else {
                break;
            };
            // `nal` lies inside `rest`: where it ends is where the next one starts.
            let start = nal.as_ptr() as usize - rest.as_ptr() as usize;
            self.position += start + nal.len();
            match self.decoder.decode(nal) {
                Ok(Some(yuv)) => {
                    let sampled = self.decoded.is_multiple_of(self.stride);
                    self.decoded += 1;
                    if sampled {
                        let (w, h) = yuv.dimensions();
                        let mut rgb = vec![0u8; w * h * 3];
                        yuv.write_rgb8(&mut rgb);
                        return Ok(image::RgbImage::from_raw(w as u32, h as u32, rgb));
                    }
                }
                Ok(None) => {}
                Err(e) => return Err(SourceError::Decode(e.to_string())),
            }
        }
        Ok(None)
    }
}

/// A folder of images, one image, or a raw H.264 recording, as a camera.
pub struct FileSource {
    h264: Option<H264Playback>,
    frames: Vec<PathBuf>,
    next: usize,
    /// One image repeated for ever (a still camera) rather than a sequence that ends.
    still: bool,
    sample_interval: Duration,
    last_frame: Option<Instant>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

impl FileSource {
    /// Opens `file:///folder` (its images in name order) or `file:///image.jpg`.
    pub fn open(url: &str, sample_interval: Duration) -> Result<Self, SourceError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| SourceError::Connect(format!("{url:?} is not a URL: {e}")))?;
        let path = parsed
            .to_file_path()
            .map_err(|()| SourceError::Connect(format!("{url:?} names no local path")))?;
        let metadata = std::fs::metadata(&path)
            .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if metadata.is_file() && matches!(extension.as_str(), "h264" | "264") {
            let data = std::fs::read(&path)
                .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?;
            let decoder = openh264::decoder::Decoder::new()
                .map_err(|e| SourceError::Decode(e.to_string()))?;
            let per_second = 1.0 / sample_interval.as_secs_f64().max(1e-3);
            return Ok(Self {
                h264: Some(H264Playback {
                    data,
                    position: 0,
                    decoder,
                    stride: (H264_FILE_FPS / per_second).round().max(1.0) as usize,
                    decoded: 0,
                }),
                frames: Vec::new(),
                next: 0,
                still: false,
                sample_interval,
                last_frame: None,
            });
        }
        if metadata.is_file() && matches!(extension.as_str(), "mp4" | "mov" | "mkv") {
            return Err(SourceError::Unsupported(format!(
                "{}: hadir plays raw H.264 recordings; make one with `ffmpeg -i {} -c copy \
                 -bsf:v h264_mp4toannexb -f h264 recording.h264`",
                path.display(),
                path.display()
            )));
        }
        let (frames, still) = if metadata.is_dir() {
            let mut frames: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_image(p))
                .collect();
            frames.sort();
            (frames, false)
        } else if is_image(&path) {
            (vec![path.clone()], true)
        } else {
            return Err(SourceError::Unsupported(format!(
                "{}: hadir reads folders of JPEG/PNG images, single images and raw H.264 from files",
                path.display()
            )));
        };
        if frames.is_empty() {
            return Err(SourceError::Connect(format!(
                "{} holds no JPEG or PNG image",
                path.display()
            )));
        }
        Ok(Self {
            h264: None,
            frames,
            next: 0,
            still,
            sample_interval,
            last_frame: None,
        })
    }
}

#[async_trait::async_trait]
impl FrameSource for FileSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        if let Some(playback) = &mut self.h264 {
            let image = playback.next_sampled()?.ok_or(SourceError::Ended)?;
            if let Some(last) = self.last_frame {
                tokio::time::sleep_until((last + self.sample_interval).into()).await;
            }
            self.last_frame = Some(Instant::now());
            return Ok(Frame {
                image,
                captured_at: SystemTime::now(),
            });
        }
        if self.next >= self.frames.len() {
            if !self.still {
                return Err(SourceError::Ended);
            }
            self.next = 0;
        }
        if let Some(last) = self.last_frame {
            tokio::time::sleep_until((last + self.sample_interval).into()).await;
        }
        let path = &self.frames[self.next];
        self.next += 1;
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?;
        let image = image::load_from_memory(&bytes)
            .map_err(|e| SourceError::Decode(format!("{}: {e}", path.display())))?
            .to_rgb8();
        self.last_frame = Some(Instant::now());
        Ok(Frame {
            image,
            captured_at: SystemTime::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_image(path: &Path, shade: u8) {
        image::RgbImage::from_pixel(32, 24, image::Rgb([shade, shade, shade]))
            .save(path)
            .unwrap();
    }

    #[tokio::test]
    async fn a_folder_plays_in_name_order_then_ends() {
        let dir = tempfile::tempdir().unwrap();
        write_image(&dir.path().join("0002.png"), 200);
        write_image(&dir.path().join("0001.png"), 100);
        std::fs::write(dir.path().join("notes.txt"), "not a frame").unwrap();
        let url = url::Url::from_directory_path(dir.path())
            .unwrap()
            .to_string();
        let mut source = FileSource::open(&url, Duration::from_millis(10)).unwrap();
        let first = source.next_frame().await.unwrap();
        assert_eq!(first.image.get_pixel(0, 0)[0], 100);
        let started = Instant::now();
        let second = source.next_frame().await.unwrap();
        assert_eq!(second.image.get_pixel(0, 0)[0], 200);
        assert!(
            started.elapsed() >= Duration::from_millis(9),
            "paced at the sampling rate"
        );
        assert!(matches!(source.next_frame().await, Err(SourceError::Ended)));
    }

    #[tokio::test]
    async fn one_image_is_a_still_camera() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("still.jpg");
        write_image(&path, 50);
        let url = url::Url::from_file_path(&path).unwrap().to_string();
        let mut source = FileSource::open(&url, Duration::from_millis(1)).unwrap();
        for _ in 0..3 {
            assert_eq!(
                source.next_frame().await.unwrap().image.dimensions(),
                (32, 24)
            );
        }
    }

    #[test]
    fn empty_folders_and_other_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path())
            .unwrap()
            .to_string();
        let error = FileSource::open(&url, Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("no JPEG or PNG"), "{error}");
        let video = dir.path().join("clip.mp4");
        std::fs::write(&video, b"...").unwrap();
        let url = url::Url::from_file_path(&video).unwrap().to_string();
        let error = FileSource::open(&url, Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("h264_mp4toannexb"), "{error}");
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, b"...").unwrap();
        let url = url::Url::from_file_path(&notes).unwrap().to_string();
        let error = FileSource::open(&url, Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("raw H.264"), "{error}");
    }
}
