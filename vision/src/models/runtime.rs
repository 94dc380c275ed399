//! ONNX Runtime start-up: the shared library is loaded at run time (`load-dynamic`) from the
//! cache that `models/fetch.py` fills, or from `ORT_DYLIB_PATH`. A missing or broken library
//! is a [`VisionError::Runtime`] that says how to fix it, never a panic.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use ort::{
    environment::Environment,
    ep::{self, ExecutionProvider as _},
    session::{Session, builder::GraphOptimizationLevel},
};

use super::file::ModelFile;
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

/// Where inference runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Provider {
    /// The CPU (every ONNX Runtime library has it).
    #[default]
    Cpu,
    /// An NVIDIA GPU through CUDA (libraries built with CUDA, such as `onnxruntime-gpu`'s).
    Cuda { device: i32 },
}

impl Provider {
    /// `cpu`, `cuda` or `cuda:N`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cpu" => Some(Self::Cpu),
            "cuda" => Some(Self::Cuda { device: 0 }),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(|device| Self::Cuda { device }),
        }
    }
}

/// How far ONNX Runtime rewrites a model's graph before running it. Measured with
/// `--bench pipeline` (1080p frames, one thread, a Xeon with AVX-512, 2026-12-03): the default
/// set (MTCNN's three small networks and fr_feature) ran 1.2–1.5× faster without the NCHWc
/// layouts (1 face 1.33 → 1.57× the Python side's speed, 3 faces 1.40 → 1.73×; smallest face
/// 40 px 121 → 95 and 266 → 180 ms: the many small inputs of the detector's pyramid pay for
/// the reorders), SCRFD and MobileFaceNet faster with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphRewrite {
    /// Every rewrite, the CPU's blocked layouts (NCHWc) included (`Level3`).
    All,
    /// Every rewrite but the layouts (`Level2`).
    WithoutLayouts,
}

/// A loaded ONNX Runtime. One per process (the library is loaded once); cheap to share.
#[derive(Debug)]
pub struct Runtime {
    environment: Environment,
    library: PathBuf,
    provider: Provider,
}

static RUNTIME: OnceLock<Result<Arc<Runtime>, String>> = OnceLock::new();

impl Runtime {
    /// Loads the library at `library` for the CPU (once per process; later calls return the
    /// first).
    pub fn load(library: &Path) -> VisionResult<Arc<Runtime>> {
        Self::load_for(library, Provider::Cpu)
    }

    /// Loads the library at `library` to run on `provider` (once per process). A provider
    /// the library lacks is an error that says so.
    pub fn load_for(library: &Path, provider: Provider) -> VisionResult<Arc<Runtime>> {
        let result = RUNTIME.get_or_init(|| Self::load_once(library, provider).map(Arc::new));
        let runtime = match result {
            Ok(runtime) => runtime.clone(),
            Err(reason) => {
                return Err(VisionError::Runtime {
                    path: library.to_path_buf(),
                    reason: reason.clone(),
                });
            }
        };
        if runtime.provider != provider {
            return Err(VisionError::Runtime {
                path: library.to_path_buf(),
                reason: format!(
                    "already loaded for {:?} in this process, not {provider:?}",
                    runtime.provider
                ),
            });
        }
        Ok(runtime)
    }

    /// Loads the library from its default place, for the CPU.
    pub fn load_default() -> VisionResult<Arc<Runtime>> {
        Self::load(&default_library_path())
    }

    fn load_once(library: &Path, provider: Provider) -> Result<Runtime, String> {
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
        if let Provider::Cuda { .. } = provider {
            let available = ep::CUDA::is_available().unwrap_or(false);
            if !available {
                return Err(
                    "this ONNX Runtime library has no CUDA execution provider (the PyPI \
                     `onnxruntime` wheel is CPU-only): point ORT_DYLIB_PATH at the library of \
                     `onnxruntime-gpu` with CUDA and cuDNN installed, or choose the cpu provider"
                        .to_owned(),
                );
            }
        }
        Ok(Runtime {
            environment,
            library: library.to_path_buf(),
            provider,
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn library(&self) -> &Path {
        &self.library
    }

    /// A session for `model` (read, checked and edited once by [`ModelFile::read`], for
    /// every worker's session), running on `intra_threads` threads, its graph rewritten as
    /// `rewrite` says.
    pub fn session(
        &self,
        name: &str,
        model: &ModelFile,
        intra_threads: usize,
        rewrite: GraphRewrite,
    ) -> VisionResult<Session> {
        self.commit(name, &model.path, model.bytes(), intra_threads, rewrite)
    }

    /// A session for the model `bytes` (read from `path`) as they are, without
    /// [`super::graph_edit`]'s edits.
    pub(crate) fn commit(
        &self,
        name: &str,
        path: &Path,
        bytes: &[u8],
        intra_threads: usize,
        rewrite: GraphRewrite,
    ) -> VisionResult<Session> {
        let model_error = model_error(name, path);
        let mut builder =
            Session::builder(&self.environment).map_err(|e| model_error(e.to_string()))?;
        if let Provider::Cuda { device } = self.provider {
            builder = builder
                .with_execution_providers([ep::CUDA::default()
                    .with_device_id(device)
                    .build()
                    .error_on_failure()])
                .map_err(|e| model_error(format!("the CUDA execution provider failed: {e}")))?;
        }
        builder
            .with_optimization_level(match rewrite {
                GraphRewrite::All => GraphOptimizationLevel::Level3,
                GraphRewrite::WithoutLayouts => GraphOptimizationLevel::Level2,
            })
            .map_err(|e| model_error(e.to_string()))?
            .with_intra_threads(intra_threads.max(1))
            .map_err(|e| model_error(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| model_error(e.to_string()))?
            .commit_from_memory(bytes)
            .map_err(|e| model_error(format!("ONNX Runtime cannot load it: {e}")))
    }
}

/// The error of model `name` at `path`, for a reason.
fn model_error<'a>(name: &'a str, path: &'a Path) -> impl Fn(String) -> VisionError + 'a {
    move |reason| VisionError::Model {
        name: name.to_owned(),
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_parse() {
        assert_eq!(Provider::parse("cpu"), Some(Provider::Cpu));
        assert_eq!(
            Provider::parse(" CUDA "),
            Some(Provider::Cuda { device: 0 })
        );
        assert_eq!(
            Provider::parse("cuda:1"),
            Some(Provider::Cuda { device: 1 })
        );
        assert_eq!(Provider::parse("tpu"), None);
        assert_eq!(Provider::parse("cuda:x"), None);
    }
}
