//! The Node.js side of the WebSocket benchmarks (`bench/node`: a fleet of graphql-ws clients
//! and graphql-ws reference servers), installed once per lock file, and the memory figures the
//! benchmarks read of a process.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::Digest;

/// `bench/node` installed with `npm ci` into the cache folder, keyed by its lock file; the
/// scripts are copied there on every run.
pub fn install() -> anyhow::Result<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/node");
    let lock = std::fs::read(source.join("package-lock.json"))?;
    let key = hex::encode(&sha2::Sha256::digest(&lock)[..8]);
    let dir = vision::models::runtime::cache_dir()
        .join("bench-node")
        .join(key);
    std::fs::create_dir_all(&dir)?;
    for file in std::fs::read_dir(&source)? {
        let path = file?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".mjs") || name.ends_with(".json") {
            std::fs::copy(&path, dir.join(name))?;
        }
    }
    if !dir.join("node_modules/.package-lock.json").exists() {
        println!("installing bench/node with npm ci into {}", dir.display());
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .context("npm (Node.js 20 or later is needed)")?;
        anyhow::ensure!(status.success(), "npm ci failed in {}", dir.display());
    }
    Ok(dir)
}

/// A memory figure of /proc/PID/status (`VmRSS:`, `VmHWM:`), MB; 0 when unreadable.
pub fn status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Resident memory of a process, MB (VmRSS).
pub fn rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmRSS:")
}
