//! ONNX Runtime start-up: the shared library is loaded at run time (`load-dynamic`) from the
//! cache that `models/fetch.py` fills, or from `ORT_DYLIB_PATH`. A missing or broken library
//! is a [`VisionError::Runtime`] that says how to fix it, never a panic.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use ort::{
    environment::Environment,
    session::{Session, builder::GraphOptimizationLevel},
};

use crate::error::{VisionError, VisionResult};

/// The library's file name inside the cache (from the PyPI `onnxruntime` 1.31.1 wheel).
pub const LIBRARY_FILE: &str = "onnxruntime/libonnxruntime.so.1.31.1";
/// Threads one inference may use when the caller does not say.
pub const DEFAULT_INTRA_THREADS: usize = 1;

/// The cache folder: `$HADIR_CACHE_DIR`, else `~/.cache/hadir`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HADIR_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("hadir")
}

/// Where the library is looked for: `ORT_DYLIB_PATH`, else the cache.
pub fn default_library_path() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join(LIBRARY_FILE))
}

/// A loaded ONNX Runtime. One per process (the library is loaded once); cheap to share.
#[derive(Debug)]
pub struct Runtime {
    environment: Environment,
    library: PathBuf,
}

static RUNTIME: OnceLock<Result<Arc<Runtime>, String>> = OnceLock::new();

impl Runtime {
    /// Loads the library at `library` (once per process; later calls return the first).
    pub fn load(library: &Path) -> VisionResult<Arc<Runtime>> {
        let result = RUNTIME.get_or_init(|| Self::load_once(library).map(Arc::new));
        match result {
            Ok(runtime) => Ok(runtime.clone()),
            Err(reason) => Err(VisionError::Runtime {
                path: library.to_path_buf(),
                reason: reason.clone(),
            }),
        }
    }

    /// Loads the library from its default place.
    pub fn load_default() -> VisionResult<Arc<Runtime>> {
        Self::load(&default_library_path())
    }

    fn load_once(library: &Path) -> Result<Runtime, String> {
        let metadata = std::fs::metadata(library).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "the file does not exist".to_owned(),
            _ => e.to_string(),
        })?;
        if !metadata.is_file() {
            return Err("not a file".to_owned());
        }
        // ort panics in some versions when the library is unusable: contain it.
        let loaded = std::panic::catch_unwind(|| {
            ort::init_from(library)
                .map_err(|e| e.to_string())?
                .with_name("hadir")
                .build()
                .map_err(|e| e.to_string())
        });
        let environment = match loaded {
            Ok(result) => result?,
            Err(_) => return Err("the library could not be loaded".to_owned()),
        };
        Ok(Runtime {
            environment,
            library: library.to_path_buf(),
        })
    }

    pub fn library(&self) -> &Path {
        &self.library
    }

    /// A session for the model at `path`, running on `intra_threads` threads.
    pub fn session(&self, name: &str, path: &Path, intra_threads: usize) -> VisionResult<Session> {
        let model_error = |reason: String| VisionError::Model {
            name: name.to_owned(),
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(model_error("the file does not exist".to_owned()));
        }
        Session::builder(&self.environment)
            .map_err(|e| model_error(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| model_error(e.to_string()))?
            .with_intra_threads(intra_threads.max(1))
            .map_err(|e| model_error(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| model_error(e.to_string()))?
            .commit_from_file(path)
            .map_err(|e| model_error(format!("ONNX Runtime cannot load it: {e}")))
    }
}
