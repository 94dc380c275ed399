//! Benchmark: sightings per second through the presence engine into SQLite (a real file, WAL,
//! as the server runs it). Run: `cargo bench -p api --bench sightings`.
//!
//! Prints, for one writer and for several concurrent writers: sightings per second and the
//! mean time per sighting, as the server runs it (the day's attendance kept current with every
//! sighting) and, on a database of its own, without attendance. Each sighting is a full engine
//! call: checks, compare-and-set on the tracking row, the visit history, the day's attendance
//! where kept, and the event publication.

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

/// Concurrent writers, one measured run each.
const WRITERS: [usize; 3] = [1, 4, 16];

/// A fresh SQLite database in `dir` with the employees and cameras, and an engine on it.
async fn engine(
    dir: &std::path::Path,
    with_attendance: bool,
) -> anyhow::Result<Arc<PresenceEngine>> {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.join(if with_attendance {
            "attendance.sqlite"
        } else {
            "plain.sqlite"
        })
        .display()
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
    let engine = PresenceEngine::new(
        database.clone(),
        Arc::new(SystemClock),
        PresenceSettings {
            lost_after: std::time::Duration::from_secs(120),
            camera_timeout: std::time::Duration::from_secs(30),
        },
        events,
    );
    Ok(Arc::new(if with_attendance {
        engine.with_attendance(Attendance::new(
            database,
            Arc::new(Config::default().schedule()?),
            Arc::new(SystemClock),
        ))
    } else {
        engine
    }))
}

/// SIGHTINGS through `engine` from `writers` concurrent tasks: sightings per second.
async fn run(engine: &Arc<PresenceEngine>, writers: usize) -> anyhow::Result<f64> {
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
    Ok((per_writer * writers) as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!(
        "presence engine into SQLite ({EMPLOYEES} employees, {CAMERAS} cameras, {SIGHTINGS} sightings per run)"
    );
    for with_attendance in [true, false] {
        let engine = engine(dir.path(), with_attendance).await?;
        println!(
            "{}",
            if with_attendance {
                "with the day's attendance kept current (as the server runs it):"
            } else {
                "without attendance (a database of its own):"
            }
        );
        for writers in WRITERS {
            let rate = run(&engine, writers).await?;
            println!(
                "  {writers:>2} concurrent writer(s): {rate:>8.0} sightings/s, {:>7.3} ms per sighting",
                1_000.0 / rate
            );
        }
    }
    Ok(())
}
