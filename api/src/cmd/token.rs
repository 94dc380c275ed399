//! `hadir token create|list|revoke`: API tokens (stored hashed; a token is shown once, when
//! it is created).

use clap::Subcommand;

use crate::{
    auth::{Role, TokenStore},
    config::Config,
    db,
};

/// Manage API tokens.
#[derive(Subcommand)]
pub enum TokenCommand {
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

/// Runs a token command.
pub async fn run(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
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
