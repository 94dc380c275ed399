//! The configuration, loaded as `hadir serve` loads it (the defaults, then the file, then the
//! environment), each part checked on its own so that every invalid value is named, not only
//! the first: `database_url`, each section, the webhooks, the log filter, and the files the
//! configuration names (TLS certificate and key, the MQTT CA file).

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;

use super::{Check, Section};
use crate::config::{Config, ConfigError, file, keys};

/// Checks the configuration; None when it cannot be assembled at all (a file that does not
/// parse, a variable of the wrong type), which leaves nothing else to check.
pub fn check(explicit_file: Option<&Path>, checks: &mut Vec<Check>) -> Option<Config> {
    let env = |name: &str| std::env::var(name).ok();
    let located = file::locate(explicit_file, &env);
    let config = match Config::assemble(explicit_file) {
        Ok(config) => config,
        Err(error) => {
            checks.push(Check::fail(
                Section::Config,
                "load",
                shown(&error),
                fix(&error),
            ));
            return None;
        }
    };
    checks.push(Check::ok(
        Section::Config,
        "file",
        match located {
            Some(path) => format!("{} read, then the HADIR_* variables", path.display()),
            None => format!(
                "no config file ({} names one, else ./{}): the defaults, then the HADIR_* \
                 variables",
                file::CONFIG_VARIABLE,
                crate::config::DEFAULT_CONFIG_FILE
            ),
        },
    ));
    for (part, result) in config.check_parts() {
        checks.push(match result {
            Ok(()) => Check::ok(Section::Config, part, "valid"),
            Err(error) => Check::fail(Section::Config, part, shown(&error), fix(&error)),
        });
    }
    checks.push(match EnvFilter::try_new(&config.log) {
        Ok(_) => Check::ok(Section::Config, "log", format!("filter {:?}", config.log)),
        Err(error) => Check::fail(
            Section::Config,
            "log",
            format!("{:?} is not a log filter: {error}", config.log),
            "set log (HADIR_LOG) to a filter such as \"info\" or \"warn,api=info\"",
        ),
    });
    named_files(&config, checks);
    Some(config)
}

/// The files the configuration names must be readable.
fn named_files(config: &Config, checks: &mut Vec<Check>) {
    let mut files: Vec<(&str, PathBuf)> = Vec::new();
    if let Ok(Some((cert, key))) = config.server.tls_pair() {
        files.push(("server.tls_cert_file", cert));
        files.push(("server.tls_key_file", key));
    }
    if let (Some(_), Some(ca)) = (&config.mqtt.url, &config.mqtt.ca_file) {
        files.push(("mqtt.ca_file", ca.clone()));
    }
    for (key, path) in files {
        let path = path.as_path();
        checks.push(match std::fs::File::open(path) {
            Ok(_) => Check::ok(
                Section::Config,
                key,
                format!("{} is readable", path.display()),
            ),
            Err(error) => Check::fail(
                Section::Config,
                key,
                format!("cannot read {}: {error}", path.display()),
                format!(
                    "correct {} or make the file readable for the user hadir runs as",
                    keys::describe(key)
                ),
            ),
        });
    }
}

/// The error as shown: URLs in it without their secrets.
fn shown(error: &ConfigError) -> String {
    crate::redact::message_for_logs(&error.to_string())
}

/// How to fix a configuration error.
pub fn fix(error: &ConfigError) -> String {
    match error {
        ConfigError::Read { path, .. } => format!(
            "check the path {} (--config or {}) and that the file is readable",
            path.display(),
            file::CONFIG_VARIABLE
        ),
        ConfigError::Parse { path, .. } => format!(
            "correct {} where the message says (the README's Configuration section lists \
             every key)",
            path.display()
        ),
        ConfigError::Env { variable, .. } => format!("correct or unset {variable}"),
        ConfigError::Invalid { key, .. } => {
            let variables: Vec<String> = key
                .split('/')
                .filter_map(keys::by_path)
                .filter_map(|k| k.variable())
                .collect();
            if variables.is_empty() {
                format!("correct {} in the config file", keys::describe(key))
            } else {
                format!(
                    "correct {} in the config file, or {}",
                    keys::describe(key),
                    variables.join(" / ")
                )
            }
        }
        ConfigError::Assembly(_) => {
            "see the README's Configuration section; `hadir config print` shows what is in \
             effect"
                .to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_name_the_key_and_its_variable() {
        let error = ConfigError::Invalid {
            key: "presence.lost_after_secs",
            reason: "must be positive".into(),
        };
        let fix = fix(&error);
        assert!(fix.contains("presence.lost_after_secs"), "{fix}");
        assert!(fix.contains("HADIR_LOST_AFTER_SECS"), "{fix}");
        let env = ConfigError::Env {
            variable: "HADIR_LISTEN".into(),
            value: "x".into(),
            reason: "bad".into(),
        };
        assert_eq!(super::fix(&env), "correct or unset HADIR_LISTEN");
    }

    #[test]
    fn every_part_is_reported_not_only_the_first_invalid_one() {
        let mut config = Config::default();
        config.presence.lost_after_secs = 0;
        config.database_url = "mysql://root:hunter2@db/hadir".into();
        let failed: Vec<&str> = config
            .check_parts()
            .into_iter()
            .filter(|(_, r)| r.is_err())
            .map(|(part, _)| part)
            .collect();
        assert_eq!(failed, ["presence", "database_url"]);
        let (_, database) = config.check_parts().pop().unwrap();
        let message = shown(&database.unwrap_err());
        assert!(!message.contains("hunter2"), "{message}");
    }
}
