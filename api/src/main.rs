//! `hadir`: the command line. `hadir` alone (or `hadir serve`) runs the server.

use std::path::PathBuf;

use anyhow::Context as _;
use api::{
    auth::{Role, TokenStore},
    config::Config,
    db, graphql, server,
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
    let config = Config::load(cli.config.as_deref())?;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log))
        .with_context(|| format!("log filter {:?}", config.log))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(config).await,
        Command::Schema => unreachable!("handled above"),
        Command::Migrate => {
            db::connect_and_migrate(&config.database_url).await?;
            println!(
                "database {} is up to date",
                db::redact_database_url(&config.database_url)
            );
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
