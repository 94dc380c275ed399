//! A model file read once for every session made from it: read with a size cap, checked
//! against the manifest (size and SHA-256 of the very bytes that will be loaded, so a file
//! swapped between the check and the load is never run) and edited for the runtime
//! ([`super::graph_edit`], unless switched off). A pool of N workers reads, hashes, parses
//! and edits each model once, not N times; the bytes are dropped once the sessions exist.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use super::{graph_edit, manifest::Manifest};
use crate::error::{VisionError, VisionResult};

/// The largest model file read (1 GiB): ONNX files are protobufs, capped at 2 GiB by their
/// format, and every model hadir knows is under 200 MB. An operator's manifest need not give
/// a size; this bounds what a wrong path (a disk image, a device) can make hadir allocate.
pub const MAX_MODEL_FILE_BYTES: u64 = 1 << 30;

/// The bytes of one model, ready for [`super::runtime::Runtime::session`].
#[derive(Debug)]
pub struct ModelFile {
    /// The manifest entry it was read for (`mtcnn-pnet`, `fr-feature`…).
    pub entry: String,
    pub path: PathBuf,
    bytes: Vec<u8>,
    /// What the graph edits did (None: switched off).
    pub edits: Option<graph_edit::Counts>,
}

impl ModelFile {
    /// Entry `entry` of `manifest`, from the `cache` folder: read (at most
    /// [`MAX_MODEL_FILE_BYTES`]), checked, edited.
    pub fn read(manifest: &Manifest, cache: &Path, entry: &str) -> VisionResult<Self> {
        let expected = manifest.entry(entry)?;
        let path = cache.join(&expected.file);
        let error = |reason: String| VisionError::Model {
            name: entry.to_owned(),
            path: path.clone(),
            reason,
        };
        let bytes = read_capped(&path, MAX_MODEL_FILE_BYTES).map_err(error)?;
        if let Some(size) = expected.size
            && bytes.len() as u64 != size
        {
            return Err(error(format!(
                "the file has {} bytes, the manifest says {size}: it is corrupt or another model",
                bytes.len()
            )));
        }
        let actual = hex::encode(Sha256::digest(&bytes));
        if !actual.eq_ignore_ascii_case(&expected.sha256) {
            return Err(error(format!(
                "SHA-256 {actual} differs from the manifest's {}: the file is corrupt or another model",
                expected.sha256
            )));
        }
        Self::from_bytes(entry, &path, bytes)
    }

    /// A model from `bytes` already read from `path` (and checked by the caller), edited
    /// unless the edits are switched off.
    pub fn from_bytes(entry: &str, path: &Path, bytes: Vec<u8>) -> VisionResult<Self> {
        let (bytes, edits) = if graph_edit::enabled() {
            let edited = graph_edit::prepare(&bytes).map_err(|reason| VisionError::Model {
                name: entry.to_owned(),
                path: path.to_path_buf(),
                reason,
            })?;
            tracing::debug!(
                model = entry,
                constants = edited.counts.constants,
                prelu_rewritten = edited.counts.rewritten,
                prelu_kept = edited.counts.kept,
                "model graph prepared"
            );
            (edited.bytes, Some(edited.counts))
        } else {
            tracing::debug!(
                model = entry,
                "{} is off: loaded as published",
                graph_edit::SWITCH
            );
            (bytes, None)
        };
        Ok(Self {
            entry: entry.to_owned(),
            path: path.to_path_buf(),
            bytes,
            edits,
        })
    }

    /// The bytes ONNX Runtime loads.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The file at `path`, refused (with the reason) when it is not a regular file or holds more
/// than `cap` bytes — also when it grows past `cap` while being read.
fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the file is missing".to_owned(),
        _ => e.to_string(),
    })?;
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("it is not a regular file".to_owned());
    }
    let too_big = |bytes: u64| {
        format!(
            "the file has {bytes} bytes, more than the {cap} a model file may have: it is not a model"
        )
    };
    if metadata.len() > cap {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_cap_are_refused_before_they_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.onnx");
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let reason = read_capped(&path, 1024).unwrap_err();
        assert!(
            reason.contains("4096 bytes, more than the 1024"),
            "{reason}"
        );
        assert_eq!(read_capped(&path, 4096).unwrap().len(), 4096);
    }

    #[test]
    fn the_bytes_read_are_the_bytes_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::builtin();
        let file = manifest.files["fr-feature"].file.clone();
        std::fs::create_dir_all(dir.path().join(&file).parent().unwrap()).unwrap();
        let path = dir.path().join(&file);
        let read = |manifest: &Manifest| {
            ModelFile::read(manifest, dir.path(), "fr-feature")
                .unwrap_err()
                .to_string()
        };
        let error = read(&manifest);
        assert!(
            error.contains("missing") && error.contains("fr-feature"),
            "{error}"
        );
        std::fs::write(&path, b"123456").unwrap();
        manifest.files.get_mut("fr-feature").unwrap().size = Some(5);
        let error = read(&manifest);
        assert!(
            error.contains("6 bytes") && error.contains("says 5"),
            "{error}"
        );
        manifest.files.get_mut("fr-feature").unwrap().size = None;
        let error = read(&manifest);
        assert!(
            error.contains("SHA-256") && error.contains("corrupt"),
            "{error}"
        );
        // Bytes that match the manifest but are no ONNX model: named, not loaded.
        manifest.files.get_mut("fr-feature").unwrap().sha256 =
            hex::encode(Sha256::digest(b"123456"));
        let outcome = ModelFile::read(&manifest, dir.path(), "fr-feature");
        if graph_edit::enabled() {
            let error = outcome.unwrap_err().to_string();
            assert!(error.contains("not an ONNX model"), "{error}");
        } else {
            assert_eq!(outcome.unwrap().bytes(), b"123456");
        }
    }

    #[test]
    fn a_folder_or_a_missing_file_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_capped(dir.path(), 1024).unwrap_err(),
            "it is not a regular file"
        );
        assert_eq!(
            read_capped(&dir.path().join("none"), 1024).unwrap_err(),
            "the file is missing"
        );
    }
}
