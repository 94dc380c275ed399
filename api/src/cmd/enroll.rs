//! `hadir enroll --employee-id ID PHOTO…`: enrols photos of one employee, one line of
//! progress per photo; fails when any photo failed.

use std::path::PathBuf;

use super::photos::{open_faces, read_photo};
use crate::config::Config;

/// The arguments of `hadir enroll`.
#[derive(clap::Args)]
pub struct EnrollArgs {
    #[arg(long)]
    employee_id: String,
    /// JPEG or PNG photos.
    #[arg(required = true)]
    photos: Vec<PathBuf>,
}

/// Enrols each photo, saying how it went.
pub async fn run(config: &Config, args: &EnrollArgs) -> anyhow::Result<()> {
    let EnrollArgs {
        employee_id,
        photos,
    } = args;
    let faces = open_faces(config).await?;
    let mut failed = 0;
    for (n, path) in photos.iter().enumerate() {
        let prefix = format!("[{}/{}] {}", n + 1, photos.len(), path.display());
        let result = match read_photo(path) {
            Ok(bytes) => faces
                .enroll(employee_id, bytes)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        match result {
            Ok(done) => eprintln!(
                "{prefix}: enrolled (face {:.0} px, sharpness {:.0}); {} face(s) for {employee_id}",
                done.face_size, done.sharpness, done.face_count
            ),
            Err(error) => {
                failed += 1;
                eprintln!("{prefix}: not enrolled: {error}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} photo(s) not enrolled", photos.len());
    }
    Ok(())
}
