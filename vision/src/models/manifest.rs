//! The model manifest (`models/manifest.toml`): for each file, where it comes from and its
//! SHA-256. The manifest this build was made with is built in; operators may point hadir at
//! their own (models of the same families under the same entry names). Every model file is
//! checked against it before it is loaded: a missing or corrupt file is a clear error.

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{VisionError, VisionResult};

/// The manifest of this build.
pub const BUILTIN: &str = include_str!("../../../models/manifest.toml");

/// The largest manifest read (1 MiB; the built-in one is under 8 KiB).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// One file of the manifest (the keys the pipeline needs; the others are documentation).
#[derive(Clone, Debug, Deserialize)]
pub struct Entry {
    pub kind: String,
    pub file: String,
    pub sha256: String,
    pub size: Option<u64>,
    pub configuration: Option<String>,
    pub license: Option<String>,
    pub license_note: Option<String>,
}

/// The manifest.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    pub files: BTreeMap<String, Entry>,
}

impl Manifest {
    /// The manifest this build was made with.
    pub fn builtin() -> Self {
        toml::from_str(BUILTIN).expect("the built-in manifest parses (checked by a test)")
    }

    /// A manifest file of the operator's.
    pub fn load(path: &Path) -> VisionResult<Self> {
        let error = |reason: String| VisionError::Manifest {
            path: path.to_path_buf(),
            reason,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_MANIFEST_BYTES + 1).read_to_string(&mut text))
            .map_err(|e| error(e.to_string()))?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(error(format!(
                "more than {MAX_MANIFEST_BYTES} bytes: a manifest is a short TOML file"
            )));
        }
        toml::from_str(&text).map_err(|e| error(e.to_string()))
    }

    pub fn entry(&self, name: &str) -> VisionResult<&Entry> {
        self.files.get(name).ok_or_else(|| VisionError::Manifest {
            path: PathBuf::from("models/manifest.toml"),
            reason: format!("it has no entry [files.{name}]"),
        })
    }

    /// The cached file of entry `name`, checked against its size and SHA-256.
    pub fn verified_path(&self, cache: &Path, name: &str) -> VisionResult<PathBuf> {
        let entry = self.entry(name)?;
        let path = cache.join(&entry.file);
        let error = |reason: String| VisionError::Model {
            name: name.to_owned(),
            path: path.clone(),
            reason,
        };
        let metadata = std::fs::metadata(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => error("the file is missing".to_owned()),
            _ => error(e.to_string()),
        })?;
        if let Some(size) = entry.size
            && metadata.len() != size
        {
            return Err(error(format!(
                "the file has {} bytes, the manifest says {size}: it is corrupt or another model",
                metadata.len()
            )));
        }
        let actual = sha256_of(&path).map_err(|e| error(e.to_string()))?;
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(error(format!(
                "SHA-256 {actual} differs from the manifest's {}: the file is corrupt or another model",
                entry.sha256
            )));
        }
        Ok(path)
    }
}

/// The SHA-256 of a file, in hex.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_manifest_names_every_model_of_both_configurations() {
        let manifest = Manifest::builtin();
        for name in [
            "onnxruntime",
            "mtcnn-pnet",
            "mtcnn-rnet",
            "mtcnn-onet",
            "fr-feature",
            "scrfd-500m",
            "arcface-mbf",
        ] {
            let entry = manifest.entry(name).unwrap();
            assert_eq!(entry.sha256.len(), 64, "{name}");
        }
        assert!(
            manifest
                .entry("scrfd-500m")
                .unwrap()
                .license_note
                .as_deref()
                .unwrap_or_default()
                .contains("non-commercial")
        );
    }

    #[test]
    fn an_oversized_manifest_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.toml");
        std::fs::write(&path, vec![b'#'; MAX_MANIFEST_BYTES as usize + 1]).unwrap();
        let error = Manifest::load(&path).unwrap_err().to_string();
        assert!(error.contains("more than 1048576 bytes"), "{error}");
    }

    #[test]
    fn corrupt_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::builtin();
        let entry = manifest.files.get_mut("fr-feature").unwrap();
        entry.size = Some(5);
        std::fs::create_dir_all(dir.path().join("models/faceplugin")).unwrap();
        let error = manifest
            .verified_path(dir.path(), "fr-feature")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("missing") && error.contains("fetch.py"),
            "{error}"
        );
        std::fs::write(
            dir.path().join(&manifest.files["fr-feature"].file),
            b"12345",
        )
        .unwrap();
        let error = manifest
            .verified_path(dir.path(), "fr-feature")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("SHA-256") && error.contains("corrupt"),
            "{error}"
        );
        std::fs::write(
            dir.path().join(&manifest.files["fr-feature"].file),
            b"123456",
        )
        .unwrap();
        let error = manifest
            .verified_path(dir.path(), "fr-feature")
            .unwrap_err()
            .to_string();
        assert!(error.contains("6 bytes"), "{error}");
    }
}
