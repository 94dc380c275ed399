//! The demo site: what a newcomer sees on the first `./scripts/serve` with no camera of
//! their own — a camera playing a looping recording of an office doorway, three demo
//! employees enrolled from the registry photos and recognised in it (one stays, one leaves,
//! one comes and goes early and is reported OFFLINE), and a visitor nobody enrolled.
//!
//! It is set up only on a database without employees, labelled `demo` in the API and the
//! dashboard, and removed with one setting: `demo.enabled = false` (`HADIR_DEMO_ENABLED=false`)
//! deletes at the next start every row it made or caused, and its recording.
//!
//! # Layout
//! - [`settings`]: the `[demo]` section.
//! - [`scene`]: the recording, drawn from the photos, and who is in it when.
//! - [`site`]: its rows in the database: set up, kept or removed.

pub mod scene;
pub mod settings;
pub mod site;

pub use site::{DemoOutcome, apply};

use crate::state::AppState;

/// Where the demo's photos are: `photos/` in the cache folder, where `models/fetch.py`
/// puts them.
pub fn photos_dir() -> std::path::PathBuf {
    vision::models::runtime::cache_dir().join("photos")
}

/// Sets the demo up, keeps it or removes it (see [`site::apply`]) and says so in the log;
/// a demo that cannot be set up never stops the server.
pub async fn start(app: &AppState) {
    let photos = photos_dir();
    match apply(app, &photos).await {
        Ok(DemoOutcome::SetUp { employees, faces }) => tracing::info!(
            employees,
            faces,
            camera = site::DEMO_CAMERA_ID,
            lost_after_secs = app.config.presence.lost_after_secs,
            "the demo site is set up: a looping recording, its employees recognised in it; \
             switch it off with demo.enabled = false (HADIR_DEMO_ENABLED=false), which removes all of it"
        ),
        Ok(DemoOutcome::Kept) => tracing::info!(
            "the demo site runs (demo.enabled = false, or HADIR_DEMO_ENABLED=false, removes all of it)"
        ),
        Ok(DemoOutcome::NotOnThisDatabase { employees }) => tracing::info!(
            employees,
            "no demo site: it is set up only on a database without employees"
        ),
        Ok(DemoOutcome::PhotosMissing(missing)) => tracing::warn!(
            missing = %missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            "no demo site: its photos are missing; run `python3 models/fetch.py --only photo` \
             (or set demo.enabled = false)"
        ),
        Ok(DemoOutcome::Removed(removed)) => tracing::info!(
            employees = removed.employees,
            faces = removed.faces,
            cameras = removed.cameras,
            visits = removed.visits,
            notifications = removed.notifications,
            attendance = removed.attendance,
            "the demo site is switched off: everything it made is removed"
        ),
        Ok(DemoOutcome::Off) => {}
        Err(error) => tracing::error!(%error, "the demo site could not be set up"),
    }
}
