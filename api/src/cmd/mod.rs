//! The command line: one file per command. `hadir` alone (or `hadir serve`) runs the server.
//!
//! - [`serve`]: run the server until SIGINT or SIGTERM.
//! - [`migrate`]: apply pending migrations.
//! - [`backup`], [`restore`]: a consistent copy of the database, and putting one back.
//! - [`schema`]: print the GraphQL SDL.
//! - [`token`]: create, list and revoke API tokens.
//! - [`enroll`]: enrol photos of one employee.
//! - [`import`]: import a staff directory (a CSV and its photos).
//! - [`recognize`]: every face of photos and its best match.
//! - [`attendance`]: rebuild past days' attendance.
//! - [`report`]: the attendance report as CSV or a table.
//! - [`camera`]: check a stream URL before adding the camera.
//! - [`config`]: print the effective configuration, secrets masked.
//! - [`doctor`]: check everything an operator can get wrong, each with its fix.
//! - [`photos`]: what `enroll` and `recognize` share: the face service, reading photos.
//! - [`logging`]: the log output.

pub mod attendance;
pub mod backup;
pub mod camera;
pub mod config;
pub mod doctor;
pub mod enroll;
pub mod import;
pub mod logging;
pub mod migrate;
pub mod photos;
pub mod recognize;
pub mod report;
pub mod restore;
pub mod schema;
pub mod serve;
pub mod token;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// hadir: who is in the office, live, from its CCTV cameras.
#[derive(Parser)]
#[command(name = "hadir", version, about)]
pub struct Cli {
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
    /// Copy the database into FILE (consistent, beside a running server).
    Backup(backup::BackupArgs),
    /// Put a backup in place of the database (with the server stopped).
    Restore(restore::RestoreArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Enrol photos of one employee (each must show exactly one clear face).
    Enroll(enroll::EnrollArgs),
    /// Import a staff directory: a CSV of employees and their photos (re-running is safe;
    /// also how to re-enrol everyone after changing the face models).
    Import(import::ImportArgs),
    /// Attendance upkeep.
    Attendance {
        #[command(subcommand)]
        command: attendance::AttendanceCommand,
    },
    /// Reports.
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// Cameras.
    Camera {
        #[command(subcommand)]
        command: camera::CameraCommand,
    },
    /// Print every face found in each photo and its best match in the gallery.
    Recognize(recognize::RecognizeArgs),
    /// The configuration.
    Config {
        #[command(subcommand)]
        command: config::ConfigCommand,
    },
    /// Check the configuration, database, models, disk and cameras, and say how to fix each
    /// problem (exit status 1 when one failed).
    Doctor(doctor::DoctorArgs),
}

/// Parses the command line and runs the command.
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // These need no configuration (nor a database).
    match &cli.command {
        Some(Command::Schema) => return schema::run(),
        Some(Command::Camera { command }) => {
            logging::init_quiet();
            return camera::run(command).await;
        }
        // Its first check is whether the configuration loads at all.
        Some(Command::Doctor(args)) => {
            logging::init_quiet();
            return doctor::run(cli.config.as_deref(), args).await;
        }
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Serve);
    // Printing the configuration needs no log (nor a database).
    if let Command::Config { command } = command {
        return config::run(&config, cli.config.as_deref(), command);
    }
    logging::init(&config)?;
    match command {
        Command::Serve => serve::run(config).await,
        Command::Schema | Command::Camera { .. } | Command::Config { .. } | Command::Doctor(_) => {
            unreachable!("handled above")
        }
        Command::Migrate => migrate::run(&config).await,
        Command::Backup(args) => backup::run(&config, &args).await,
        Command::Restore(args) => restore::run(&config, &args).await,
        Command::Enroll(args) => enroll::run(&config, &args).await,
        Command::Import(args) => import::run(&config, &args).await,
        Command::Recognize(args) => recognize::run(&config, &args).await,
        Command::Attendance { command } => attendance::run(&config, command).await,
        Command::Report { command } => report::run(&config, command).await,
        Command::Token { command } => token::run(&config, command).await,
    }
}
