//! Prints the faces MTCNN finds in each image given: `cargo run -p vision --example detect -- PHOTO…`.

use vision::{
    models::runtime::Runtime,
    pipeline::{FacePipeline, load_image},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::load_default()?;
    let mut pipeline = FacePipeline::open_default(&runtime, 1)?;
    for path in std::env::args().skip(1) {
        let image = load_image(std::path::Path::new(&path))?;
        let started = std::time::Instant::now();
        let faces = pipeline.detector.detect(&image)?;
        println!(
            "{path}: {}×{}, {} face(s) in {:?}",
            image.width,
            image.height,
            faces.len(),
            started.elapsed()
        );
        for face in faces {
            let sharpness = vision::align::align(&image, &face.landmarks)
                .map(|a| vision::quality::sharpness(&a))
                .unwrap_or_default();
            println!("  sharpness of the aligned face {sharpness:.1}");
            println!(
                "  box ({:.1}, {:.1})–({:.1}, {:.1}) score {:.4} landmarks {:?}",
                face.x1, face.y1, face.x2, face.y2, face.score, face.landmarks
            );
        }
    }
    Ok(())
}
