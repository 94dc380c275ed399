//! Free space where the SQLite database is (its folder, or the nearest folder above it that
//! exists): every sighting is written there, and SQLite stops writing on a full disk.
//! PostgreSQL keeps its data on its own server, which is checked there.

use std::path::Path;

use super::{
    Check, Section, Status,
    sqlite_file::{existing_ancestor, folder_of},
};
use crate::{config::Config, db};

const S: Section = Section::Disk;

/// Less free space than this is a warning.
pub const WARN_BELOW_BYTES: u64 = 1024 * 1024 * 1024;
/// Less free space than this is a failure: a day of sightings of a busy site may not fit.
pub const FAIL_BELOW_BYTES: u64 = 100 * 1024 * 1024;

/// Checks the free space of the database's folder.
pub fn check(config: &Config, checks: &mut Vec<Check>) {
    let url = &config.database_url;
    if !url.starts_with("sqlite:") {
        checks.push(Check::ok(
            S,
            "free space",
            "PostgreSQL keeps its data on its server: check its disk there",
        ));
        return;
    }
    let Some(path) = db::sqlite_path(url) else {
        checks.push(Check::ok(
            S,
            "free space",
            "an in-memory database uses no disk",
        ));
        return;
    };
    let folder = folder_of(path);
    let existing = existing_ancestor(folder);
    checks.push(match free_space(existing) {
        Ok((free, total)) => judge(existing, free, total),
        Err(error) => Check::warn(
            S,
            "free space",
            format!(
                "cannot read the free space of {}: {error}",
                existing.display()
            ),
            "check the folder of database_url exists and is readable",
        ),
    });
}

/// The check for `free` of `total` bytes in `folder`.
pub fn judge(folder: &Path, free: u64, total: u64) -> Check {
    let detail = format!(
        "{} free of {} in {}",
        bytes(free),
        bytes(total),
        folder.display()
    );
    let fix = format!(
        "free space on that disk (old backups, logs), or move the database to a larger one; \
         below {} hadir may stop recording sightings",
        bytes(FAIL_BELOW_BYTES)
    );
    let status = if free < FAIL_BELOW_BYTES {
        Status::Fail
    } else if free < WARN_BELOW_BYTES {
        Status::Warn
    } else {
        Status::Ok
    };
    match status {
        Status::Ok => Check::ok(S, "free space", detail),
        Status::Warn => Check::warn(
            S,
            "free space",
            format!("{detail}: less than {}", bytes(WARN_BELOW_BYTES)),
            fix,
        ),
        Status::Fail => Check::fail(
            S,
            "free space",
            format!("{detail}: less than {}", bytes(FAIL_BELOW_BYTES)),
            fix,
        ),
    }
}

/// `1.5 GiB`, `320 MiB`, `12 KiB`, `512 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Bytes available to this user, and the size of the file system, at `path`.
#[cfg(unix)]
fn free_space(path: &Path) -> std::io::Result<(u64, u64)> {
    let stat = rustix::fs::statvfs(path)?;
    Ok((
        stat.f_bavail.saturating_mul(stat.f_frsize),
        stat.f_blocks.saturating_mul(stat.f_frsize),
    ))
}

#[cfg(not(unix))]
fn free_space(_path: &Path) -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::other("not measured on this system"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_judged_against_the_named_limits() {
        let at = Path::new("/data");
        let total = 100 * WARN_BELOW_BYTES;
        assert_eq!(judge(at, 2 * WARN_BELOW_BYTES, total).status, Status::Ok);
        let low = judge(at, WARN_BELOW_BYTES - 1, total);
        assert_eq!(low.status, Status::Warn);
        assert!(low.detail.contains("less than 1.0 GiB"), "{low:?}");
        assert_eq!(judge(at, FAIL_BELOW_BYTES - 1, total).status, Status::Fail);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(100 * 1024 * 1024), "100 MiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[cfg(unix)]
    #[test]
    fn the_free_space_of_a_real_folder_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let (free, total) = free_space(dir.path()).unwrap();
        assert!(total > 0 && free <= total, "{free} of {total}");
    }
}
