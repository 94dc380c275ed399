//! Times the MTCNN pyramid's resampling on a 1080p frame, reusing buffers as the detector
//! does: `cargo run --release -p vision --example resize_timing`.

use std::time::Instant;

use vision::frame::{Filter, RgbF32};

fn main() {
    let mut image = RgbF32::new(1920, 1080);
    for (i, v) in image.data.iter_mut().enumerate() {
        *v = (i % 251) as f32;
    }
    let (mut a, mut b, mut scratch) = (RgbF32::new(0, 0), RgbF32::new(0, 0), Vec::new());
    for round in 0..3 {
        let started = Instant::now();
        let mut scale = 0.6f64;
        image.resize_into(1152, 648, Filter::Area, &mut a, &mut scratch);
        loop {
            scale *= 0.709;
            let (w, h) = (
                (1920.0 * scale).ceil() as usize,
                (1080.0 * scale).ceil() as usize,
            );
            if w.min(h) < 12 {
                break;
            }
            a.resize_into(w, h, Filter::Area, &mut b, &mut scratch);
            std::mem::swap(&mut a, &mut b);
        }
        println!(
            "round {round}: pyramid {:.2} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}
