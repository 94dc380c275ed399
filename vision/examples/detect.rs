//! Prints the faces found in each image given, with the sharpness of each aligned face:
//! `[HADIR_FACE_MODELS=insightface] cargo run -p vision --example detect -- PHOTO…`.

use vision::{
    models::{runtime::Runtime, sets::ModelSet},
    pipeline::{FacePipeline, load_image},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::load_default()?;
    let set = std::env::var("HADIR_FACE_MODELS")
        .ok()
        .and_then(|name| ModelSet::parse(&name))
        .unwrap_or(ModelSet::Default);
    let mut pipeline = FacePipeline::open(
        &runtime,
        set,
        &vision::models::manifest::Manifest::builtin(),
        &vision::models::runtime::cache_dir(),
        1,
    )?;
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
