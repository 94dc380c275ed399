//! `hadir`: the command line. `hadir` alone (or `hadir serve`) runs the server.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use api::{
    attendance::{Attendance, report},
    auth::{Role, TokenStore},
    clock::SystemClock,
    config::Config,
    db,
    faces::{FaceService, FaceSettings},
    graphql, server,
};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// hadir: who is in the office, live, from its CCTV cameras.
#[derive(Parser)]
#[command(name = "hadir", version, about)]
struct Cli {
    /// The config file (default: $HADIR_CONFIG, else ./hadir.toml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Enrol photos of one employee (each must show exactly one clear face).
    Enroll {
        #[arg(long)]
        employee_id: String,
        /// JPEG or PNG photos.
        #[arg(required = true)]
        photos: Vec<PathBuf>,
    },
    /// Attendance upkeep.
    Attendance {
        #[command(subcommand)]
        command: AttendanceCommand,
    },
    /// Reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Cameras.
    Camera {
        #[command(subcommand)]
        command: CameraCommand,
    },
    /// Print every face found in each photo and its best match in the gallery.
    Recognize {
        /// JPEG or PNG photos.
        #[arg(required = true)]
        photos: Vec<PathBuf>,
        /// One JSON object per photo instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CameraCommand {
    /// Read a few frames from a stream URL and say what came, before the camera is added:
    /// `rtsp://…`, `http(s)://…`, `file://…`, or a webcam number such as `0`.
    Check {
        stream_url: String,
        /// Frames to read.
        #[arg(long, default_value_t = 3)]
        frames: u32,
        /// Seconds between the frames read.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Save the last frame read here (JPEG or PNG, by the extension).
        #[arg(long)]
        save: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AttendanceCommand {
    /// Recompute the daily logs of past days from the visits.
    Rebuild {
        /// First day, YYYY-MM-DD (site's time zone).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The daily attendance logs from one day to another.
    Attendance {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        #[arg(long)]
        department: Option<String>,
        /// csv (RFC 4180) or table.
        #[arg(long, default_value = "table", value_parser = ["csv", "table"])]
        format: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (shown this once).
    Create {
        /// admin, viewer or ingest.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// What the token is for.
        #[arg(long, default_value = "created with hadir token create")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: i64 },
}

async fn open_faces(config: &Config) -> anyhow::Result<std::sync::Arc<FaceService>> {
    let database = db::connect_and_migrate(&config.database_url).await?;
    let faces = FaceService::open(database, FaceSettings::from_config(config)?).await?;
    if let Err(reason) = faces.readiness() {
        anyhow::bail!("face recognition is unavailable: {reason}");
    }
    Ok(faces)
}

fn read_photo(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `hadir enroll`: one line of progress per photo; fails when any photo failed.
async fn enroll(config: &Config, employee_id: &str, photos: &[PathBuf]) -> anyhow::Result<()> {
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

/// `hadir recognize`: each face of each photo with its best match.
async fn recognize(config: &Config, photos: &[PathBuf], json: bool) -> anyhow::Result<()> {
    let faces = open_faces(config).await?;
    for path in photos {
        let found = faces.recognize(read_photo(path)?).await?;
        if json {
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

/// `hadir camera check`: opens the stream as a camera task would and reads `frames` frames.
async fn check_camera(
    stream_url: &str,
    frames: u32,
    interval: f64,
    save: Option<&Path>,
) -> anyhow::Result<()> {
    let shown = api::redact::url_for_logs(stream_url);
    if !(interval.is_finite() && interval > 0.0) {
        anyhow::bail!("--interval must be a positive number of seconds, not {interval}");
    }
    let started = std::time::Instant::now();
    let mut source = vision::source::open(
        stream_url,
        std::time::Duration::from_secs_f64(interval),
        &vision::source::SourceOptions::default(),
    )
    .await
    .with_context(|| format!("camera {shown}"))?;
    println!(
        "{shown}: opened in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut last = None;
    for number in 1..=frames.max(1) {
        let frame = source
            .next_frame()
            .await
            .with_context(|| format!("camera {shown}: frame {number}"))?;
        let (width, height) = frame.image.dimensions();
        println!(
            "frame {number}: {width}×{height} at {:.2} s",
            started.elapsed().as_secs_f64()
        );
        last = Some(frame.image);
    }
    if let (Some(path), Some(image)) = (save, last) {
        image
            .save(path)
            .with_context(|| format!("saving the last frame to {}", path.display()))?;
        println!("last frame saved to {}", path.display());
    }
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?} is not a role: admin, viewer or ingest"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", graphql::sdl());
        return Ok(());
    }
    if let Some(Command::Camera {
        command:
            CameraCommand::Check {
                stream_url,
                frames,
                interval,
                save,
            },
    }) = &cli.command
    {
        // Needs no config or database: a stream URL is checked before it is configured.
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
        return check_camera(stream_url, *frames, *interval, save.as_deref()).await;
    }
    let config = Config::load(cli.config.as_deref())?;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log))
        .with_context(|| format!("log filter {:?}", config.log))?;
    // Colours for a terminal only: a log file or journal gets plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(config).await,
        Command::Schema | Command::Camera { .. } => unreachable!("handled above"),
        Command::Migrate => {
            db::connect_and_migrate(&config.database_url).await?;
            println!(
                "database {} is up to date",
                db::redact_database_url(&config.database_url)
            );
            Ok(())
        }
        Command::Enroll {
            employee_id,
            photos,
        } => enroll(&config, &employee_id, &photos).await,
        Command::Recognize { photos, json } => recognize(&config, &photos, json).await,
        Command::Attendance {
            command: AttendanceCommand::Rebuild { from, to },
        } => {
            let database = db::connect_and_migrate(&config.database_url).await?;
            let attendance = Attendance::new(
                database,
                std::sync::Arc::new(config.schedule()?),
                std::sync::Arc::new(SystemClock),
            );
            let days = attendance.rebuild(from, to).await?;
            println!("rebuilt {days} day(s) of attendance from {from} to {to}");
            Ok(())
        }
        Command::Report {
            command:
                ReportCommand::Attendance {
                    from,
                    to,
                    department,
                    format,
                },
        } => {
            let database = db::connect_and_migrate(&config.database_url).await?;
            let rows = report::logs_between(&database, from, to, department.as_deref()).await?;
            let tz = config.schedule()?.timezone;
            if format == "csv" {
                print!("{}", report::to_csv(&rows, tz));
            } else {
                print!("{}", report::to_table(&rows, tz));
            }
            Ok(())
        }
        Command::Token { command } => {
            let database = db::connect_and_migrate(&config.database_url).await?;
            let tokens = TokenStore::new(database, None);
            match command {
                TokenCommand::Create { role, name } => {
                    let created = tokens.create(role, &name).await?;
                    println!("{}", created.token);
                    eprintln!(
                        "token {} ({role}, {:?}) created; it is shown this once",
                        created.record.id, created.record.name
                    );
                }
                TokenCommand::List => {
                    for token in tokens.list().await? {
                        let state = match token.revoked_at {
                            Some(at) => format!("revoked {at}"),
                            None => "active".to_owned(),
                        };
                        println!(
                            "{}\t{}\t{}\tcreated {}\t{state}",
                            token.id, token.role, token.name, token.created_at
                        );
                    }
                }
                TokenCommand::Revoke { id } => {
                    if tokens.revoke(id).await? {
                        println!("token {id} revoked");
                    } else {
                        println!("token {id} was already revoked");
                    }
                }
            }
            Ok(())
        }
    }
}
