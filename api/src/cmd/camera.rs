//! `hadir camera check URL`: reads a few frames from a stream URL and says what came, before
//! the camera is added (needs no configuration or database).

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::Subcommand;

/// Cameras.
#[derive(Subcommand)]
pub enum CameraCommand {
    /// Read a few frames from a stream URL and say what came, before the camera is added:
    /// `rtsp://…`, `http(s)://…`, `file://…`, or a webcam number such as `0`.
    Check {
        stream_url: String,
        /// Frames to read.
        #[arg(long, default_value_t = 3)]
        frames: u32,
        /// Seconds between the frames read.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Save the last frame read here (JPEG or PNG, by the extension).
        #[arg(long)]
        save: Option<PathBuf>,
    },
}

/// Opens the stream as a camera task would and reads `frames` frames.
pub async fn run(command: &CameraCommand) -> anyhow::Result<()> {
    let CameraCommand::Check {
        stream_url,
        frames,
        interval,
        save,
    } = command;
    let shown = crate::redact::url_for_logs(stream_url);
    if !(interval.is_finite() && *interval > 0.0) {
        anyhow::bail!("--interval must be a positive number of seconds, not {interval}");
    }
    let started = std::time::Instant::now();
    let mut source = vision::source::open(
        stream_url,
        Duration::from_secs_f64(*interval),
        &vision::source::SourceOptions::default(),
    )
    .await
    .with_context(|| format!("camera {shown}"))?;
    println!(
        "{shown}: opened in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut last = None;
    for number in 1..=(*frames).max(1) {
        let frame = source
            .next_frame()
            .await
            .with_context(|| format!("camera {shown}: frame {number}"))?;
        let (width, height) = frame.image.dimensions();
        println!(
            "frame {number}: {width}×{height} at {:.2} s",
            started.elapsed().as_secs_f64()
        );
        last = Some(frame.image);
    }
    if let (Some(path), Some(image)) = (save, last) {
        image
            .save(path)
            .with_context(|| format!("saving the last frame to {}", path.display()))?;
        println!("last frame saved to {}", path.display());
    }
    Ok(())
}
