//! `hadir recognize PHOTO… [--json]`: every face of each photo with its best match in the
//! gallery (for checking enrolment and tuning the threshold).

use std::path::PathBuf;

use super::photos::{open_faces, read_photo};
use crate::config::Config;

/// The arguments of `hadir recognize`.
#[derive(clap::Args)]
pub struct RecognizeArgs {
    /// JPEG or PNG photos.
    #[arg(required = true)]
    photos: Vec<PathBuf>,
    /// One JSON object per photo instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints each photo's faces.
pub async fn run(config: &Config, args: &RecognizeArgs) -> anyhow::Result<()> {
    let faces = open_faces(config).await?;
    for path in &args.photos {
        let found = faces.recognize(read_photo(path)?).await?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "photo": path.display().to_string(), "faces": found })
            );
            continue;
        }
        println!("{}: {} face(s)", path.display(), found.len());
        for face in found {
            let [x1, y1, x2, y2] = face.bounds;
            let who = match (&face.employee_id, &face.closest_employee_id) {
                (Some(id), _) => format!("employee {id}"),
                (None, Some(closest)) => format!("unknown (closest: {closest})"),
                (None, None) => "unknown (empty gallery)".to_owned(),
            };
            let similarity = face
                .similarity
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.3}"));
            println!(
                "  box ({x1:.0}, {y1:.0})–({x2:.0}, {y2:.0}) detection {:.3}: {who}, similarity {similarity} (threshold {:.2})",
                face.detection_score,
                faces.threshold()
            );
            let marks: Vec<String> = face
                .landmarks
                .iter()
                .map(|[x, y]| format!("({x:.0}, {y:.0})"))
                .collect();
            println!("    landmarks {}", marks.join(" "));
        }
    }
    Ok(())
}
