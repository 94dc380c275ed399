//! What `hadir enroll` and `hadir recognize` share: the face service over the configured
//! database, and reading photo files.

use std::{path::Path, sync::Arc};

use anyhow::Context as _;

use crate::{
    config::Config,
    db,
    faces::{FaceService, FaceSettings},
};

/// The face service, or why recognition is unavailable.
pub async fn open_faces(config: &Config) -> anyhow::Result<Arc<FaceService>> {
    let database = db::connect_and_migrate(&config.database_url).await?;
    let faces =
        FaceService::open(database, FaceSettings::from_settings(&config.recognition)?).await?;
    if let Err(reason) = faces.readiness() {
        anyhow::bail!("face recognition is unavailable: {reason}");
    }
    Ok(faces)
}

/// A photo's bytes, or an error naming the file.
pub fn read_photo(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
