//! One layer of the configuration as figment takes it: the keys a source set, already in
//! their sections, with the source's name (a file, the environment) for errors.

use std::path::PathBuf;

use figment::{
    Metadata, Profile, Provider,
    value::{Dict, Map},
};

/// What the file layer is called in figment's metadata.
pub const FILE_LAYER: &str = "config file";
/// What the environment layer is called in figment's metadata.
pub const ENV_LAYER: &str = "environment";

/// Keys from one source.
#[derive(Clone, Debug)]
pub struct Layer {
    pub name: &'static str,
    pub file: Option<PathBuf>,
    pub dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let metadata = Metadata::named(self.name);
        match &self.file {
            Some(path) => metadata.source(path.as_path()),
            None => metadata,
        }
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

impl Layer {
    /// Whether this source set `key` of `section`.
    pub fn sets(&self, section: &str, key: &str) -> bool {
        self.dict
            .get(section)
            .and_then(|value| value.as_dict())
            .is_some_and(|keys| keys.contains_key(key))
    }
}

/// One variable that set a key: for errors to name it and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvValue {
    /// The key's path, `section.key`.
    pub path: String,
    pub variable: String,
    pub value: String,
}
