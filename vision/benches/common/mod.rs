//! What the benchmarks share: the Python reference's virtual environment.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use vision::models::runtime::cache_dir;

/// The venv with the Python reference pipeline, made on first use.
pub fn python() -> Option<PathBuf> {
    let venv = cache_dir().join("bench-venv");
    let bin = venv.join("bin").join("python");
    if bin.exists() {
        return Some(bin);
    }
    let requirements =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/python/requirements.txt");
    eprintln!("making the Python reference venv in {} …", venv.display());
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .ok()?
        .success()
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--no-deps", "-r"])
            .arg(&requirements)
            .status()
            .ok()?
            .success();
    ok.then_some(bin)
}
