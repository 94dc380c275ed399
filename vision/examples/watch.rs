//! Reads a camera as hadir does and prints each sampled frame's faces:
//! `cargo run -p vision --example watch -- URL [SECONDS] [FPS]`.

use std::time::{Duration, Instant};

use vision::{frame::RgbF32, models::runtime::Runtime, pipeline::FacePipeline, source};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("give a camera URL")?;
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let fps: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let runtime = Runtime::load_default()?;
    let mut pipeline = FacePipeline::open_default(&runtime, 1)?;
    let mut camera = source::open(
        &url,
        Duration::from_secs_f64(1.0 / fps),
        &source::SourceOptions::default(),
    )
    .await?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        let frame = camera.next_frame().await?;
        let image = RgbF32::from_rgb8(&frame.image);
        let faces = pipeline.detector.detect(&image)?;
        println!(
            "{:6.2} s: {}×{} frame, {} face(s){}",
            started.elapsed().as_secs_f64(),
            image.width,
            image.height,
            faces.len(),
            faces
                .first()
                .map(|f| format!(", first {:.0} px", f.width()))
                .unwrap_or_default()
        );
    }
    Ok(())
}
