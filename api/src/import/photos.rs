//! Where the photos a CSV names come from: a folder on this machine (`hadir import
//! --photos DIR`) or the files uploaded with the CSV (`importEmployees`). A name is
//! relative to the folder: absolute paths and `..` are refused before anything is opened,
//! and a name that resolves (through symbolic links) outside the folder is refused too.
//! Every file is measured before it is read, and read no further than `max_photo_bytes`.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use tokio::io::AsyncReadExt as _;

use crate::error::{AppError, AppResult};

/// The longest photo name accepted, in bytes.
pub const MAX_PHOTO_NAME_BYTES: usize = 1024;

/// Why a photo named in the CSV could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum PhotoProblem {
    /// There is no such file.
    Missing(String),
    /// The name leaves the folder (absolute, `..`, a link to elsewhere) or is no file name.
    Outside(String),
    /// The file is larger than `max_photo_bytes`.
    TooLarge { bytes: u64, limit: u64 },
    /// The file is there but cannot be read (a folder, no permission).
    Unreadable(String),
}

/// A photo name as the CSV gives it, checked: its path components within the folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhotoName(Vec<String>);

impl PhotoName {
    /// Checks a name: relative, no `..`, no control characters; `/` and `\` both separate
    /// folders, `.` and empty components are dropped.
    pub fn parse(name: &str) -> Result<Self, PhotoProblem> {
        let outside = |why: &str| Err(PhotoProblem::Outside(why.to_owned()));
        if name.len() > MAX_PHOTO_NAME_BYTES {
            return outside("the name is too long");
        }
        if name.chars().any(char::is_control) {
            return outside("the name holds control characters");
        }
        let drive = name.len() >= 2 && name.as_bytes()[1] == b':';
        if name.starts_with(['/', '\\']) || drive {
            return outside(
                "an absolute path: name photos relative to the photo folder (--photos)",
            );
        }
        let mut parts = Vec::new();
        for part in name.split(['/', '\\']) {
            match part {
                "" | "." => {}
                ".." => return outside("\"..\" leaves the photo folder"),
                part => parts.push(part.to_owned()),
            }
        }
        if parts.is_empty() {
            return outside("no file name");
        }
        Ok(Self(parts))
    }

    /// The name as a key: its components joined with `/`.
    pub fn key(&self) -> String {
        self.0.join("/")
    }
}

/// Where photos come from.
#[async_trait::async_trait]
pub trait PhotoSource: Send + Sync {
    /// The bytes of the photo named, at most `limit` of them.
    async fn read(&self, name: &PhotoName, limit: usize) -> Result<Vec<u8>, PhotoProblem>;
}

/// No photos at all: a CSV that names one is told so.
pub struct NoPhotos;

#[async_trait::async_trait]
impl PhotoSource for NoPhotos {
    async fn read(&self, name: &PhotoName, _: usize) -> Result<Vec<u8>, PhotoProblem> {
        Err(PhotoProblem::Missing(format!(
            "{}: no photos were given with the CSV",
            name.key()
        )))
    }
}

/// The photos of a folder.
#[derive(Clone, Debug)]
pub struct PhotoFolder {
    /// Resolved: no symbolic link in it.
    root: PathBuf,
}

impl PhotoFolder {
    /// The folder at `dir`, which must exist.
    pub fn open(dir: &Path) -> AppResult<Self> {
        let root = std::fs::canonicalize(dir).map_err(|e| {
            AppError::invalid(
                "photos",
                format!("cannot open the photo folder {}: {e}", dir.display()),
            )
        })?;
        if !root.is_dir() {
            return Err(AppError::invalid(
                "photos",
                format!("{} is not a folder", dir.display()),
            ));
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[async_trait::async_trait]
impl PhotoSource for PhotoFolder {
    async fn read(&self, name: &PhotoName, limit: usize) -> Result<Vec<u8>, PhotoProblem> {
        let key = name.key();
        let joined = name.0.iter().fold(self.root.clone(), |p, c| p.join(c));
        let resolved = match tokio::fs::canonicalize(&joined).await {
            Ok(resolved) => resolved,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PhotoProblem::Missing(format!(
                    "no file {key} in the photo folder {}",
                    self.root.display()
                )));
            }
            Err(e) => return Err(PhotoProblem::Unreadable(format!("{key}: {e}"))),
        };
        if !resolved.starts_with(&self.root) {
            return Err(PhotoProblem::Outside(format!(
                "{key} leads (through a symbolic link) to {}, outside the photo folder",
                resolved.display()
            )));
        }
        let unreadable = |e: std::io::Error| PhotoProblem::Unreadable(format!("{key}: {e}"));
        let mut file = tokio::fs::File::open(&resolved).await.map_err(unreadable)?;
        let metadata = file.metadata().await.map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(PhotoProblem::Unreadable(format!("{key} is not a file")));
        }
        if metadata.len() > limit as u64 {
            return Err(PhotoProblem::TooLarge {
                bytes: metadata.len(),
                limit: limit as u64,
            });
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        (&mut file)
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(unreadable)?;
        if bytes.len() > limit {
            return Err(PhotoProblem::TooLarge {
                bytes: bytes.len() as u64,
                limit: limit as u64,
            });
        }
        Ok(bytes)
    }
}

/// Photos uploaded with the CSV, by file name.
#[derive(Clone, Debug, Default)]
pub struct UploadedPhotos {
    files: HashMap<String, bytes::Bytes>,
}

impl UploadedPhotos {
    /// The uploads, each under its file name (checked as a CSV's names are; two files of one
    /// name are refused).
    pub fn new(files: impl IntoIterator<Item = (String, bytes::Bytes)>) -> AppResult<Self> {
        let mut by_name = HashMap::new();
        for (name, content) in files {
            let key = PhotoName::parse(&name)
                .map_err(|p| {
                    AppError::invalid("photos", format!("{name:?}: {}", problem_text(&p)))
                })?
                .key();
            if by_name.insert(key.clone(), content).is_some() {
                return Err(AppError::invalid(
                    "photos",
                    format!("two uploaded files are named {key}: file names must differ"),
                ));
            }
        }
        Ok(Self { files: by_name })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[async_trait::async_trait]
impl PhotoSource for UploadedPhotos {
    async fn read(&self, name: &PhotoName, limit: usize) -> Result<Vec<u8>, PhotoProblem> {
        let key = name.key();
        let content = self.files.get(&key).ok_or_else(|| {
            PhotoProblem::Missing(format!("{key} is not among the uploaded photos"))
        })?;
        if content.len() > limit {
            return Err(PhotoProblem::TooLarge {
                bytes: content.len() as u64,
                limit: limit as u64,
            });
        }
        Ok(content.to_vec())
    }
}

/// The sentence of a problem.
pub fn problem_text(problem: &PhotoProblem) -> String {
    match problem {
        PhotoProblem::Missing(why) | PhotoProblem::Outside(why) | PhotoProblem::Unreadable(why) => {
            why.clone()
        }
        PhotoProblem::TooLarge { bytes, limit } => crate::faces::PhotoRefusal::TooLarge {
            bytes: *bytes,
            limit: *limit,
        }
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_folder() {
        assert_eq!(PhotoName::parse("ann.jpg").unwrap().key(), "ann.jpg");
        assert_eq!(
            PhotoName::parse("./team\\a/./ann.jpg").unwrap().key(),
            "team/a/ann.jpg"
        );
        for bad in [
            "../x.jpg",
            "a/../../x.jpg",
            "a\\..\\x.jpg",
            "/etc/passwd",
            "\\\\server\\share\\x.jpg",
            "C:\\x.jpg",
            "c:x.jpg",
            "x\u{0}.jpg",
            "./",
            "",
        ] {
            assert!(
                matches!(PhotoName::parse(bad), Err(PhotoProblem::Outside(_))),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_folder_refuses_links_out_of_it_and_files_over_the_limit() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.jpg"), b"not yours").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ann.jpg"), b"0123456789").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                outside.path().join("secret.jpg"),
                dir.path().join("link.jpg"),
            )
            .unwrap();
            std::os::unix::fs::symlink(dir.path().join("ann.jpg"), dir.path().join("sub/in.jpg"))
                .unwrap();
        }
        let folder = PhotoFolder::open(dir.path()).unwrap();
        let read = |name: &str, limit| {
            let folder = folder.clone();
            let name = PhotoName::parse(name).unwrap();
            async move { folder.read(&name, limit).await }
        };
        assert_eq!(read("ann.jpg", 10).await.unwrap(), b"0123456789");
        assert!(matches!(
            read("ann.jpg", 9).await,
            Err(PhotoProblem::TooLarge {
                bytes: 10,
                limit: 9
            })
        ));
        assert!(matches!(
            read("bob.jpg", 10).await,
            Err(PhotoProblem::Missing(_))
        ));
        assert!(matches!(
            read("sub", 10).await,
            Err(PhotoProblem::Unreadable(_))
        ));
        #[cfg(unix)]
        {
            assert!(matches!(
                read("link.jpg", 10).await,
                Err(PhotoProblem::Outside(_))
            ));
            assert_eq!(read("sub/in.jpg", 10).await.unwrap(), b"0123456789");
        }
    }

    #[tokio::test]
    async fn uploads_are_found_by_name_and_names_must_differ() {
        let photos =
            UploadedPhotos::new([("a.jpg".to_owned(), bytes::Bytes::from_static(b"ab"))]).unwrap();
        let a = PhotoName::parse("./a.jpg").unwrap();
        assert_eq!(photos.read(&a, 2).await.unwrap(), b"ab");
        assert!(matches!(
            photos.read(&a, 1).await,
            Err(PhotoProblem::TooLarge { .. })
        ));
        let b = PhotoName::parse("b.jpg").unwrap();
        assert!(matches!(
            photos.read(&b, 9).await,
            Err(PhotoProblem::Missing(_))
        ));
        let twice = [
            ("a.jpg".to_owned(), bytes::Bytes::new()),
            ("./a.jpg".to_owned(), bytes::Bytes::new()),
        ];
        assert!(UploadedPhotos::new(twice).is_err());
        assert!(UploadedPhotos::new([("../a.jpg".to_owned(), bytes::Bytes::new())]).is_err());
    }
}
