//! The file layer: which `hadir.toml` is read, and its keys put in their sections.
//!
//! The file may write a key in its section (`[presence]` `lost_after_secs = 30`) or, as
//! before sections, flat at the top (`lost_after_secs = 30`): the key table
//! ([`super::keys`]) moves each flat key into its section. A key written both ways, a key
//! that is in no section (`lost_after = 30`), a section that is not a table, and a date or
//! time where a setting was meant are errors naming the key.

use std::path::{Path, PathBuf};

use figment::value::Value;

use super::{
    DEFAULT_CONFIG_FILE,
    error::ConfigError,
    keys::{self, SECTIONS},
    layer::{FILE_LAYER, Layer},
};

/// The variable naming the config file when `--config` does not.
pub const CONFIG_VARIABLE: &str = "HADIR_CONFIG";

/// The config file to read: `--config PATH`, else `$HADIR_CONFIG`, else `./hadir.toml` when
/// it exists (None: the defaults and the environment alone).
pub fn locate(explicit: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => match env(CONFIG_VARIABLE) {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        },
    }
}

/// Reads and parses the file, and puts its keys in their sections.
pub fn read(path: &Path) -> Result<Layer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
    let sectioned = sectioned(table).map_err(parse)?;
    let dict = Value::serialize(sectioned)
        .ok()
        .and_then(Value::into_dict)
        .ok_or_else(|| parse("cannot be read as settings".to_owned()))?;
    Ok(Layer {
        name: FILE_LAYER,
        file: Some(path.to_path_buf()),
        dict,
    })
}

/// The file's keys with each flat key moved into its section; an error names the key that
/// is unknown, written twice, or of a kind no setting takes.
pub fn sectioned(table: toml::Table) -> Result<toml::Table, String> {
    let mut out = toml::Table::new();
    let mut flat = Vec::new();
    for (name, value) in table {
        no_datetime(&name, &value)?;
        if !SECTIONS.contains(&name.as_str()) {
            flat.push((name, value));
            continue;
        }
        let toml::Value::Table(section) = value else {
            return Err(format!(
                "`{name}` is a section: write it as a table, [{name}]"
            ));
        };
        if let Some(unknown) = section
            .keys()
            .find(|k| keys::in_section(&name, k).is_none())
        {
            return Err(format!("unknown key `{name}.{unknown}`"));
        }
        out.insert(name, toml::Value::Table(section));
    }
    for (name, value) in flat {
        let key = keys::by_alias(&name).ok_or_else(|| format!("unknown key `{name}`"))?;
        let Some(section) = key.section else {
            out.insert(name, value);
            continue;
        };
        let table = out
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(table) = table {
            if table.contains_key(key.name) {
                return Err(format!(
                    "`{name}` and `{}` are one setting, written twice: keep one",
                    key.path()
                ));
            }
            table.insert(key.name.to_owned(), value);
        }
    }
    Ok(out)
}

/// No setting is a TOML date or time: `work_start = 09:00` is one, and must be quoted.
fn no_datetime(path: &str, value: &toml::Value) -> Result<(), String> {
    match value {
        toml::Value::Datetime(datetime) => Err(format!(
            "`{path}`: {datetime} is a TOML date or time; settings take text: \"{datetime}\""
        )),
        toml::Value::Table(table) => table
            .iter()
            .try_for_each(|(key, value)| no_datetime(&format!("{path}.{key}"), value)),
        toml::Value::Array(items) => items.iter().try_for_each(|value| no_datetime(path, value)),
        _ => Ok(()),
    }
}
