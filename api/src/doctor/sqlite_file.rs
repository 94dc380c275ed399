//! An SQLite database's file and folder: there (or to be created at start), writable by this
//! user (SQLite writes its `-wal` and `-shm` files beside it), and private: the file holds
//! face embeddings and token hashes, so it is the owner's only (`0600`, as hadir makes it).

use std::path::Path;

use super::{Check, Section};

const S: Section = Section::Database;

/// Checks the file at `path` of the SQLite `url`; false when there is no file to open (yet).
pub fn check(url: &str, path: &Path, checks: &mut Vec<Check>) -> bool {
    let folder = folder_of(path);
    if !path.exists() {
        checks.push(missing(url, path, folder));
        return false;
    }
    if !path.is_file() {
        checks.push(Check::fail(
            S,
            "file",
            format!("{} is not a file", path.display()),
            "point database_url at an SQLite file",
        ));
        return false;
    }
    checks.push(permissions(path));
    for (what, target, access) in [
        ("file", path, Access::Write),
        ("folder", folder, Access::WriteAndEnter),
    ] {
        if let Err(error) = may(target, access) {
            checks.push(Check::fail(
                S,
                what,
                format!("{} is not writable by this user: {error}", target.display()),
                "make it writable for the user hadir runs as (SQLite writes -wal and -shm \
                 files beside the database)",
            ));
        }
    }
    true
}

/// A database that does not exist yet: created at start when the URL says `mode=rwc` and its
/// folder can be made.
fn missing(url: &str, path: &Path, folder: &Path) -> Check {
    if !url.contains("mode=rwc") {
        return Check::fail(
            S,
            "file",
            format!(
                "there is no database at {} (and the URL has no mode=rwc to create it)",
                path.display()
            ),
            "correct the path in database_url, or add ?mode=rwc for hadir to create it",
        );
    }
    let existing = existing_ancestor(folder);
    match may(existing, Access::WriteAndEnter) {
        Ok(()) => Check::warn(
            S,
            "file",
            format!(
                "no database yet at {}: `hadir serve` creates it (and its folder) at start",
                path.display()
            ),
            "run `hadir migrate` to create it now, or start `hadir serve`",
        ),
        Err(error) => Check::fail(
            S,
            "file",
            format!(
                "no database at {}, and it cannot be created: {} is not writable ({error})",
                path.display(),
                existing.display()
            ),
            "make that folder writable for the user hadir runs as, or point database_url \
             elsewhere",
        ),
    }
}

/// Whether the file and its `-wal` and `-shm` files are the owner's only.
fn permissions(path: &Path) -> Check {
    let mut open = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Some(mode) = mode_of(&file)
            && let Some(who) = readable_by(mode)
        {
            open.push(format!("{} (mode {mode:04o}, {who})", file.display()));
        }
    }
    if open.is_empty() {
        return Check::ok(
            S,
            "permissions",
            format!("{} is the owner's only", path.display()),
        );
    }
    Check::warn(
        S,
        "permissions",
        format!(
            "readable beyond its owner: {}; it holds face embeddings and token hashes",
            open.join(", ")
        ),
        format!(
            "chmod 600 {}* (hadir serve makes them private at start)",
            path.display()
        ),
    )
}

/// Who besides the owner may read or write a file of mode `mode`: None for the owner only.
pub fn readable_by(mode: u32) -> Option<&'static str> {
    if mode & 0o007 != 0 {
        Some("every user may read it")
    } else if mode & 0o070 != 0 {
        Some("its group may read it")
    } else {
        None
    }
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

#[derive(Clone, Copy)]
enum Access {
    Write,
    WriteAndEnter,
}

#[cfg(unix)]
fn may(path: &Path, access: Access) -> std::io::Result<()> {
    use rustix::fs::Access as A;
    let wanted = match access {
        Access::Write => A::WRITE_OK,
        Access::WriteAndEnter => A::WRITE_OK | A::EXEC_OK,
    };
    rustix::fs::access(path, wanted).map_err(std::io::Error::from)
}

#[cfg(not(unix))]
fn may(path: &Path, _access: Access) -> std::io::Result<()> {
    std::fs::metadata(path).map(drop)
}

/// The folder a database file is in (`.` for a bare name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `folder`, or the nearest folder above it that exists (a relative path ends at `.`).
pub fn existing_ancestor(folder: &Path) -> &Path {
    folder
        .ancestors()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .find(|p| p.exists())
        .unwrap_or(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owners_modes_are_private() {
        assert_eq!(readable_by(0o600), None);
        assert_eq!(readable_by(0o700), None);
        assert_eq!(readable_by(0o640), Some("its group may read it"));
        assert_eq!(readable_by(0o644), Some("every user may read it"));
        assert_eq!(readable_by(0o602), Some("every user may read it"));
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_database_is_a_warning_and_a_missing_one_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.sqlite");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut checks = Vec::new();
        assert!(!check(&url, &file, &mut checks));
        assert_eq!(checks[0].status, super::super::Status::Warn, "{checks:?}");
        assert!(checks[0].detail.contains("no database yet"), "{checks:?}");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut checks = Vec::new();
        assert!(check(&url, &file, &mut checks));
        let permissions = checks.iter().find(|c| c.name == "permissions").unwrap();
        assert_eq!(permissions.status, super::super::Status::Warn);
        assert!(permissions.detail.contains("0644"), "{permissions:?}");
        assert!(permissions.fix.as_deref().unwrap().contains("chmod 600"));
        let no_create = format!("sqlite://{}", dir.path().join("none.sqlite").display());
        let mut checks = Vec::new();
        check(&no_create, &dir.path().join("none.sqlite"), &mut checks);
        assert_eq!(checks[0].status, super::super::Status::Fail, "{checks:?}");
    }
}
