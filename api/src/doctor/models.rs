//! The ONNX Runtime library and the face models, as the face service loads them at start: the
//! manifest (built in, or `recognition.model_manifest`), the library (its SHA-256 against the
//! manifest when it is the cached one; `ORT_DYLIB_PATH` names another), the execution
//! provider asked for, each model file of the chosen set (present, size and SHA-256), and
//! the models opened. The pipeline opened is handed on, to look for faces in the cameras'
//! frames.

use std::path::{Path, PathBuf};

use vision::{
    models::{
        manifest::Manifest,
        runtime::{LIBRARY_FILE, Provider, Runtime, cache_dir, default_library_path},
        sets::ModelSet,
    },
    pipeline::FacePipeline,
};

use super::{Check, MODELS_TIMEOUT, Section};
use crate::config::Config;

const S: Section = Section::Models;
/// How the models and the library are fetched into the cache.
const FETCH: &str = "python3 models/fetch.py";

/// Checks the library and the models; the face pipeline when it opens.
pub async fn check(config: &Config, checks: &mut Vec<Check>) -> Option<FacePipeline> {
    let (set, provider) = match (
        config.recognition.model_set(),
        config.recognition.provider(),
    ) {
        (Ok(set), Ok(provider)) => (set, provider),
        _ => {
            checks.push(Check::fail(
                S,
                "models",
                "not checked: recognition.face_models or recognition.execution_provider is \
                 invalid (see config)",
                "correct them first",
            ));
            return None;
        }
    };
    let recognition = config.recognition.clone();
    let work = tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        let pipeline = check_blocking(
            set,
            provider,
            recognition.model_manifest.as_deref(),
            recognition.inference_threads,
            &mut found,
        )
        .map(|mut pipeline| {
            pipeline.set_min_face_size(recognition.min_face_px);
            pipeline
        });
        (found, pipeline)
    });
    match tokio::time::timeout(MODELS_TIMEOUT, work).await {
        Ok(Ok((found, pipeline))) => {
            checks.extend(found);
            pipeline
        }
        Ok(Err(error)) => {
            checks.push(Check::fail(
                S,
                "models",
                format!("loading them failed: {error}"),
                FETCH,
            ));
            None
        }
        Err(_) => {
            checks.push(Check::fail(
                S,
                "models",
                format!("loading them took more than {MODELS_TIMEOUT:?}"),
                "check the cache folder's disk (HADIR_CACHE_DIR) and the library",
            ));
            None
        }
    }
}

fn check_blocking(
    set: ModelSet,
    provider: Provider,
    manifest_path: Option<&Path>,
    threads: usize,
    checks: &mut Vec<Check>,
) -> Option<FacePipeline> {
    let cache = cache_dir();
    let fetch = format!(
        "{FETCH} (into the cache folder {}; HADIR_CACHE_DIR names another)",
        cache.display()
    );
    let manifest = match manifest_path {
        None => {
            checks.push(Check::ok(S, "manifest", "the one built in"));
            Manifest::builtin()
        }
        Some(path) => match Manifest::load(path) {
            Ok(manifest) => {
                checks.push(Check::ok(S, "manifest", format!("{}", path.display())));
                manifest
            }
            Err(error) => {
                checks.push(Check::fail(
                    S,
                    "manifest",
                    error.to_string(),
                    "correct recognition.model_manifest (HADIR_MODEL_MANIFEST), or unset it \
                     for the built-in manifest",
                ));
                return None;
            }
        },
    };
    let runtime = runtime(&manifest, &cache, provider, &fetch, checks);
    let mut complete = true;
    let entries: Vec<&String> = manifest
        .files
        .iter()
        .filter(|(_, e)| e.kind == "model" && e.configuration.as_deref() == Some(set.name()))
        .map(|(name, _)| name)
        .collect();
    if entries.is_empty() {
        checks.push(Check::fail(
            S,
            "models",
            format!("the manifest lists no model of the set {:?}", set.name()),
            "use the built-in manifest, or add the set's entries to yours",
        ));
        return None;
    }
    for name in entries {
        checks.push(match manifest.verified_path(&cache, name) {
            Ok(path) => Check::ok(
                S,
                name.as_str(),
                format!("{}: SHA-256 matches", path.display()),
            ),
            Err(error) => {
                complete = false;
                Check::fail(S, name.as_str(), error.to_string(), fetch.clone())
            }
        });
    }
    if let Some(note) = set.licence_note(&manifest) {
        checks.push(Check::warn(
            S,
            "licence",
            note,
            "use these models only where their licence allows, or set \
             recognition.face_models = \"default\"",
        ));
    }
    let runtime = runtime?;
    if !complete {
        return None;
    }
    match FacePipeline::open(&runtime, set, &manifest, &cache, threads) {
        Ok(pipeline) => {
            checks.push(Check::ok(
                S,
                "pipeline",
                format!("the {} models open", set.name()),
            ));
            Some(pipeline)
        }
        Err(error) => {
            checks.push(Check::fail(S, "pipeline", error.to_string(), fetch));
            None
        }
    }
}

/// The library: checked against the manifest where it is the cached one, loaded for the
/// provider asked for.
fn runtime(
    manifest: &Manifest,
    cache: &Path,
    provider: Provider,
    fetch: &str,
    checks: &mut Vec<Check>,
) -> Option<std::sync::Arc<Runtime>> {
    let library = default_library_path();
    let cached: PathBuf = cache.join(LIBRARY_FILE);
    if library == cached {
        if let Err(error) = manifest.verified_path(cache, "onnxruntime") {
            checks.push(Check::fail(S, "onnxruntime", error.to_string(), fetch));
            return None;
        }
    } else {
        checks.push(Check::ok(
            S,
            "onnxruntime",
            format!(
                "ORT_DYLIB_PATH names {} (not checked against the manifest: the operator's own)",
                library.display()
            ),
        ));
    }
    match Runtime::load_for(&library, provider) {
        Ok(runtime) => {
            if library == cached {
                checks.push(Check::ok(
                    S,
                    "onnxruntime",
                    format!("{}: SHA-256 matches, loaded", library.display()),
                ));
            }
            checks.push(Check::ok(
                S,
                "execution provider",
                match provider {
                    Provider::Cpu => "cpu".to_owned(),
                    Provider::Cuda { device } => format!("cuda:{device}: available"),
                },
            ));
            Some(runtime)
        }
        Err(error) => {
            let text = error.to_string();
            let (name, fix) = if text.contains("CUDA") {
                (
                    "execution provider",
                    "point ORT_DYLIB_PATH at the library of onnxruntime-gpu with CUDA and cuDNN \
                     installed, or set recognition.execution_provider = \"cpu\""
                        .to_owned(),
                )
            } else {
                ("onnxruntime", fetch.to_owned())
            };
            checks.push(Check::fail(S, name, text, fix));
            None
        }
    }
}
