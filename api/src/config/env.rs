//! The environment layer: the variables of the key table ([`super::keys`]), each read as its
//! form says, plus the webhooks of `HADIR_WEBHOOK_*` and `RUST_LOG` over `log`.
//!
//! Every key has `HADIR_` and its flat alias in upper case (`HADIR_LOST_AFTER_SECS`) and, in
//! a section, `HADIR_{SECTION}__{KEY}` too (`HADIR_PRESENCE__LOST_AFTER_SECS`); setting both
//! is an error naming both. Other `HADIR_*` variables (`HADIR_CACHE_DIR`, `HADIR_CONFIG`…)
//! are no keys and are left alone. Only the table's variables are looked up, through a
//! lookup function, rather than figment's `Env` walking the whole environment: the forms
//! (comma lists, empty meaning none, text that looks like a number) are hadir's own, and
//! tests hand in an environment of their own.

use figment::value::{Dict, Empty, Num, Value};
use tracing_subscriber::EnvFilter;

use super::{
    error::ConfigError,
    keys::{EnvForm, KEYS, Key},
    layer::{ENV_LAYER, EnvValue, Layer},
};
use crate::webhooks::settings::WebhookConfig;

/// Webhook URLs from the environment, comma-separated (added to the file's `[[webhooks]]`).
pub const WEBHOOK_URLS: &str = "HADIR_WEBHOOK_URLS";
/// The secret every webhook of [`WEBHOOK_URLS`] signs with (empty: none).
pub const WEBHOOK_SECRET: &str = "HADIR_WEBHOOK_SECRET";
/// The events every webhook of [`WEBHOOK_URLS`] receives, comma-separated.
pub const WEBHOOK_EVENTS: &str = "HADIR_WEBHOOK_EVENTS";
/// The usual `tracing` filter variable: it overrides `log` (and `HADIR_LOG`) where it is a
/// filter, as the log itself does ([`crate::cmd::logging`]).
pub const RUST_LOG: &str = "RUST_LOG";

/// What the environment sets.
#[derive(Clone, Debug)]
pub struct EnvLayer {
    /// The keys set, by variable.
    pub set: Vec<EnvValue>,
    /// The keys, in their sections (merged over the file's).
    pub values: Layer,
    /// `{webhooks = [...]}` from `HADIR_WEBHOOK_URLS` (appended to the file's).
    pub webhooks: Layer,
}

/// Reads the variables of every key through `env`.
pub fn read(env: &dyn Fn(&str) -> Option<String>) -> Result<EnvLayer, ConfigError> {
    let mut set = Vec::new();
    let mut dict = Dict::new();
    for key in KEYS {
        let found: Vec<(String, String)> = [key.variable(), key.sectioned_variable()]
            .into_iter()
            .flatten()
            .filter_map(|variable| env(&variable).map(|value| (variable, value)))
            .collect();
        let (variable, value) = match found.as_slice() {
            [] => continue,
            [one] => one.clone(),
            [first, second, ..] => {
                return Err(ConfigError::Env {
                    variable: second.0.clone(),
                    value: second.1.clone(),
                    reason: format!("{} is set too; set one of them", first.0),
                });
            }
        };
        insert(&mut dict, key, value_of(key.env, &value));
        set.push(EnvValue {
            path: key.path(),
            variable,
            value,
        });
    }
    // As the log reads it: a `RUST_LOG` that is no filter is passed over for `log`.
    if let Some(filter) = env(RUST_LOG).filter(|f| EnvFilter::try_new(f).is_ok())
        && let Some(log) = KEYS.iter().find(|k| k.section.is_none() && k.name == "log")
    {
        insert(&mut dict, log, Value::from(filter.as_str()));
        set.retain(|s| s.path != "log");
        set.push(EnvValue {
            path: log.path(),
            variable: RUST_LOG.to_owned(),
            value: filter,
        });
    }
    let webhooks = Value::serialize(webhooks(env))
        .map_err(|e| ConfigError::Assembly(format!("webhooks of {WEBHOOK_URLS}: {e}")))?;
    Ok(EnvLayer {
        set,
        values: Layer {
            name: ENV_LAYER,
            file: None,
            dict,
        },
        webhooks: Layer {
            name: ENV_LAYER,
            file: None,
            dict: Dict::from([("webhooks".to_owned(), webhooks)]),
        },
    })
}

/// Puts `value` at the key's place: in its section's table, or at the top.
fn insert(dict: &mut Dict, key: &Key, value: Value) {
    match key.section {
        Some(section) => {
            let table = dict
                .entry(section.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, table) = table {
                table.insert(key.name.to_owned(), value);
            }
        }
        None => {
            dict.insert(key.name.to_owned(), value);
        }
    }
}

/// A variable's value as its form reads it; what does not fit the key's type is refused
/// when the whole is extracted, naming the variable.
fn value_of(form: EnvForm, raw: &str) -> Value {
    match form {
        EnvForm::Text | EnvForm::Absent => Value::from(raw),
        EnvForm::Optional | EnvForm::OptionalScalar if raw.trim().is_empty() => {
            Value::from(Empty::None)
        }
        EnvForm::Optional => Value::from(raw),
        EnvForm::OptionalScalar => value_of(EnvForm::Scalar, raw),
        EnvForm::List => Value::from(comma_list(raw)),
        EnvForm::Scalar => {
            let text = raw.trim();
            match text {
                "true" => Value::from(true),
                "false" => Value::from(false),
                _ => match (text.parse::<Num>(), text.parse::<f64>()) {
                    (Ok(number), _) => Value::from(number),
                    (_, Ok(number)) => Value::from(number),
                    _ => Value::from(text),
                },
            }
        }
    }
}

/// Webhooks from the environment: URLs, comma-separated, sharing a secret and events.
fn webhooks(env: &dyn Fn(&str) -> Option<String>) -> Vec<WebhookConfig> {
    let Some(urls) = env(WEBHOOK_URLS) else {
        return Vec::new();
    };
    let secret = env(WEBHOOK_SECRET).filter(|s| !s.is_empty());
    let events = env(WEBHOOK_EVENTS).map(|list| comma_list(&list));
    comma_list(&urls)
        .into_iter()
        .map(|url| WebhookConfig {
            url,
            events: events.clone(),
            secret: secret.clone(),
        })
        .collect()
}

/// The entries of a comma-separated list, trimmed, empty ones left out.
fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}
