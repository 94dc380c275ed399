//! `hadir config print`: the effective configuration (defaults, then the file, then the
//! environment) as TOML by section, its secrets masked. It needs no database.

use std::path::Path;

use clap::Subcommand;

use crate::config::{Config, file};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML by section (secrets shown as ***).
    Print,
}

/// Runs the command over the configuration loaded (from `explicit_file`, if named).
pub fn run(
    config: &Config,
    explicit_file: Option<&Path>,
    command: ConfigCommand,
) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Print => {
            let env = |name: &str| std::env::var(name).ok();
            let source = match file::locate(explicit_file, &env) {
                Some(path) => path.display().to_string(),
                None => "no file".to_owned(),
            };
            print!(
                "# hadir's effective configuration: the defaults, then {source}, then the \
                 environment.\n# Secrets are shown as {mask}; keys without a value are left \
                 out.\n\n{toml}",
                mask = crate::config::print::MASK,
                toml = config.to_masked_toml()?
            );
            Ok(())
        }
    }
}
