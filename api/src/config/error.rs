//! Why a configuration cannot be used, naming the file, variable or key at fault.

use std::path::PathBuf;

use figment::Source;

use super::{
    keys,
    layer::{ENV_LAYER, EnvValue, FILE_LAYER},
};
use crate::validate::InvalidSetting;

/// A configuration that cannot be used, naming the file or variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {variable}={value:?}: {reason}")]
    Env {
        variable: String,
        value: String,
        reason: String,
    },
    /// `key` is `section.key` (several joined by `/`); the message adds each flat alias.
    #[error("setting {}: {reason}", keys::describe(.key))]
    Invalid { key: &'static str, reason: String },
    /// What figment could not assemble and no source is known for (not expected).
    #[error("configuration: {0}")]
    Assembly(String),
}

impl From<InvalidSetting> for ConfigError {
    fn from(error: InvalidSetting) -> Self {
        Self::Invalid {
            key: error.key,
            reason: error.reason,
        }
    }
}

/// The first of figment's errors as the source it came from names it: the variable and its
/// value, or the file and the key.
pub(super) fn from_figment(error: figment::Error, env: &[EnvValue]) -> ConfigError {
    let Some(error) = error.into_iter().next() else {
        return ConfigError::Assembly("an error without a cause".to_owned());
    };
    let path = error.path.join(".");
    let layer = error.metadata.as_ref().map(|m| &*m.name);
    if layer == Some(ENV_LAYER)
        && let Some(set) = env.iter().find(|set| {
            path == set.path
                || path
                    .strip_prefix(&set.path)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    {
        return ConfigError::Env {
            variable: set.variable.clone(),
            value: set.value.clone(),
            reason: error.kind.to_string(),
        };
    }
    let file = error.metadata.as_ref().and_then(|m| match &m.source {
        Some(Source::File(file)) => Some(file.clone()),
        _ => None,
    });
    match file {
        Some(file) if layer == Some(FILE_LAYER) => ConfigError::Parse {
            path: file,
            message: if path.is_empty() {
                error.kind.to_string()
            } else {
                format!("{}: {}", keys::describe(&path), error.kind)
            },
        },
        _ => ConfigError::Assembly(error.to_string()),
    }
}
