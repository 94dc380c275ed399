//! Files as cameras, for tests, replays and the demo: a folder of JPEG/PNG images played in
//! name order at the sampling rate (then the stream ends, like a recording; with `?loop` in
//! the URL, `file:///folder/?loop`, it starts again from its first image), one image file served
//! again at every sample (a still camera), or a video recording (MP4/MOV or raw H.264, see
//! [`super::recording`]) sampled as a camera would be. Everything is paced at the sampling
//! interval, as a live camera would deliver it.
//!
//! Files are read like camera data: an image file of more than [`MAX_IMAGE_FILE_BYTES`] is
//! refused before it is read, images are decoded through [`crate::bounds::decode_image`]
//! (size checked before decoding), recordings as [`super::recording`] says.

use std::{
    path::{Path, PathBuf},
    time::{Instant, SystemTime},
};

use super::{Frame, FrameSource, Pace, SourceError, check_frame, recording::Recording};

/// Largest image file read as a frame (a PNG of an 8K frame of noise is about 200 MB; camera
/// stills are a few MB).
pub const MAX_IMAGE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A folder of images, one image, or a video recording, as a camera.
pub struct FileSource {
    recording: Option<Recording>,
    frames: Vec<PathBuf>,
    next: usize,
    /// One image repeated for ever (a still camera) rather than a sequence that ends.
    still: bool,
    /// A folder played again from its first image after its last (`?loop`).
    looping: bool,
    sample_interval: Pace,
    last_frame: Option<Instant>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

impl FileSource {
    /// Opens `file:///folder` (its images in name order; `file:///folder/?loop` for ever) or
    /// `file:///image.jpg`.
    pub fn open(url: &str, sample_interval: impl Into<Pace>) -> Result<Self, SourceError> {
        let sample_interval = sample_interval.into();
        let parsed = url::Url::parse(url)
            .map_err(|e| SourceError::Connect(format!("{url:?} is not a URL: {e}")))?;
        let path = parsed
            .to_file_path()
            .map_err(|()| SourceError::Connect(format!("{url:?} names no local path")))?;
        let looping = parsed.query_pairs().any(|(key, _)| key == "loop");
        let metadata = std::fs::metadata(&path)
            .map_err(|e| SourceError::Connect(format!("{}: {e}", path.display())))?;
        if metadata.is_file()
            && let Some(recording) = Recording::open(&path, &sample_interval)
        {
            return Ok(Self {
                recording: Some(recording?),
                frames: Vec::new(),
                next: 0,
                still: false,
                looping: false,
                sample_interval,
                last_frame: None,
            });
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
                "{}: hadir reads folders of JPEG/PNG images, single images and MP4 or raw H.264 recordings",
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
            recording: None,
            frames,
            next: 0,
            still,
            looping,
            sample_interval,
            last_frame: None,
        })
    }
}

#[async_trait::async_trait]
impl FrameSource for FileSource {
    async fn next_frame(&mut self) -> Result<Frame, SourceError> {
        if let Some(recording) = &mut self.recording {
            let image = recording.next_sampled()?.ok_or(SourceError::Ended)?;
            check_frame(&image)?;
            if let Some(last) = self.last_frame {
                tokio::time::sleep_until((last + self.sample_interval.interval()).into()).await;
            }
            self.last_frame = Some(Instant::now());
            return Ok(Frame {
                image,
                captured_at: SystemTime::now(),
            });
        }
        if self.next >= self.frames.len() {
            if !(self.still || self.looping) {
                return Err(SourceError::Ended);
            }
            self.next = 0;
        }
        if let Some(last) = self.last_frame {
            tokio::time::sleep_until((last + self.sample_interval.interval()).into()).await;
        }
        let path = &self.frames[self.next];
        self.next += 1;
        let bytes = read_capped(path).await?;
        let image = crate::bounds::decode_image(&bytes).map_err(|e| match e {
            crate::bounds::ImageError::Size(size) => SourceError::FrameSize(size),
            crate::bounds::ImageError::Decode(_) => {
                SourceError::Decode(format!("{}: {e}", path.display()))
            }
        })?;
        self.last_frame = Some(Instant::now());
        Ok(Frame {
            image,
            captured_at: SystemTime::now(),
        })
    }
}

/// An image file's bytes, refused over [`MAX_IMAGE_FILE_BYTES`] (checked on its size, then
/// on what is read: the file may grow meanwhile).
async fn read_capped(path: &Path) -> Result<Vec<u8>, SourceError> {
    use tokio::io::AsyncReadExt;
    let name = path.display();
    let too_large = |size: u64| {
        SourceError::TooLarge(format!(
            "{name} is {size} bytes; hadir reads image files of at most {MAX_IMAGE_FILE_BYTES}"
        ))
    };
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| SourceError::Connect(format!("{name}: {e}")))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| SourceError::Connect(format!("{name}: {e}")))?
        .len();
    if size > MAX_IMAGE_FILE_BYTES {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_IMAGE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| SourceError::Connect(format!("{name}: {e}")))?;
    if bytes.len() as u64 > MAX_IMAGE_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn write_image(path: &Path, shade: u8) {
        image::RgbImage::from_pixel(32, 24, image::Rgb([shade, shade, shade]))
            .save(path)
            .unwrap();
    }

    #[tokio::test]
    async fn a_folder_with_loop_plays_again_from_its_first_image() {
        let dir = tempfile::tempdir().unwrap();
        write_image(&dir.path().join("0001.png"), 100);
        write_image(&dir.path().join("0002.png"), 200);
        let url = format!(
            "{}?loop",
            url::Url::from_directory_path(dir.path()).unwrap()
        );
        let mut source = FileSource::open(&url, Duration::from_millis(1)).unwrap();
        let shades: Vec<u8> = {
            let mut shades = Vec::new();
            for _ in 0..5 {
                shades.push(source.next_frame().await.unwrap().image.get_pixel(0, 0)[0]);
            }
            shades
        };
        assert_eq!(shades, [100, 200, 100, 200, 100]);
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
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, b"...").unwrap();
        let url = url::Url::from_file_path(&notes).unwrap().to_string();
        let error = FileSource::open(&url, Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("MP4 or raw H.264"), "{error}");
    }
}
