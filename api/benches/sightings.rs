//! Benchmark: sightings per second through the presence engine into SQLite (a real file, WAL,
//! as the server runs it). Run: `cargo bench -p api --bench sightings`.
//!
//! Prints, for one writer and for several concurrent writers: sightings per second and the
//! mean time per sighting. Each sighting is a full engine call: checks, compare-and-set on the
//! tracking row, the visit history, the day's attendance, and the event publication.

use std::{sync::Arc, time::Instant};

use api::{
    attendance::Attendance,
    cameras::{CameraRegistry, NewCamera},
    clock::SystemClock,
    config::Config,
    db,
    employees::{EmployeeDirectory, NewEmployee},
    events::EventBus,
    presence::{PresenceEngine, PresenceSettings, Sighting},
};

/// Employees enrolled for the run.
const EMPLOYEES: usize = 500;
/// Cameras sightings rotate over.
const CAMERAS: usize = 8;
/// Sightings per measured run.
const SIGHTINGS: usize = 5_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.sqlite").display()
    );
    let database = db::connect_and_migrate(&url).await?;
    let events = EventBus::default();
    let directory = EmployeeDirectory::new(database.clone(), events.clone());
    for i in 0..EMPLOYEES {
        directory
            .create(NewEmployee {
                employee_id: format!("E{i}"),
                name: format!("Employee {i}"),
                department: Some("Bench".to_owned()),
                role: None,
                demo: false,
            })
            .await?;
    }
    let cameras = CameraRegistry::new(database.clone(), events.clone(), "hadir");
    for i in 0..CAMERAS {
        cameras
            .create(NewCamera {
                camera_id: format!("CAM{i}"),
                name: format!("Camera {i}"),
                stream_url: "0".to_owned(),
                sample_fps: None,
                enabled: None,
                ignore_regions: None,
                pinned_node: None,
                demo: false,
            })
            .await?;
    }
    // As the server runs it: attendance kept current with every sighting.
    let attendance = Attendance::new(
        database.clone(),
        Arc::new(Config::default().schedule()?),
        Arc::new(SystemClock),
    );
    let engine = Arc::new(
        PresenceEngine::new(
            database,
            Arc::new(SystemClock),
            PresenceSettings {
                lost_after: std::time::Duration::from_secs(120),
                camera_timeout: std::time::Duration::from_secs(30),
            },
            events,
        )
        .with_attendance(attendance),
    );
    println!(
        "presence engine into SQLite ({EMPLOYEES} employees, {CAMERAS} cameras, {SIGHTINGS} sightings per run)"
    );
    for writers in [1usize, 4, 16] {
        let start = Instant::now();
        let per_writer = SIGHTINGS / writers;
        let mut tasks = Vec::new();
        for w in 0..writers {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..per_writer {
                    let k = w * per_writer + n;
                    engine
                        .record_sighting(Sighting {
                            employee_id: format!("E{}", k % EMPLOYEES),
                            camera_id: format!("CAM{}", (k / EMPLOYEES) % CAMERAS),
                            seen_at: None,
                            score: Some(0.7),
                            track_id: None,
                            announce: true,
                        })
                        .await?;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let elapsed = start.elapsed();
        let total = per_writer * writers;
        println!(
            "  {writers:>2} concurrent writer(s): {:>8.0} sightings/s, {:>7.3} ms per sighting",
            total as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1_000.0 / total as f64
        );
    }
    Ok(())
}
