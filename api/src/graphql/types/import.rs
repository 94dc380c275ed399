//! What `importEmployees` reports: counts, and every refused row or photo with its reason.

use async_graphql::{Enum, SimpleObject};

use crate::import::report;

/// Why a row or a photo of an import was refused.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::import::report::Reason")]
pub enum ImportRefusalReason {
    /// The row's cells are wrong (no id, an id with spaces, no name, too many cells…).
    InvalidRow,
    /// Another row of the CSV has the same employee id: none of them is imported.
    DuplicateId,
    /// No such photo among the uploads (or in the folder).
    PhotoMissing,
    /// The photo's name leaves the photo folder (absolute, `..`, a link to elsewhere).
    PhotoOutsideFolder,
    /// The file is larger than `max_photo_bytes`.
    PhotoTooLarge,
    /// Not an image hadir reads (not JPEG or PNG, corrupt, empty, an absurd size).
    Unreadable,
    NoFace,
    SeveralFaces,
    FaceTooSmall,
    FaceTooBlurry,
    /// The face is already enrolled for another employee (the message names them).
    FaceOfAnotherEmployee,
    /// The database or the models failed on this row (the message says how).
    Failed,
}

/// A refused row (`photo` null) or photo.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImportRefusal {
    /// The line of the CSV the row starts on (the header is line 1).
    pub row: i32,
    pub employee_id: Option<String>,
    /// The photo refused, as the CSV names it; null when the whole row is.
    pub photo: Option<String>,
    pub reason: ImportRefusalReason,
    pub message: String,
}

/// What an import did. Re-running the same import changes nothing: every row is counted
/// unchanged and every face already enrolled.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: i32,
    pub created: i32,
    pub updated: i32,
    /// Rows that matched what is stored: nothing written.
    pub unchanged: i32,
    /// Rows refused whole (in `refused`, with a null `photo`).
    pub refused_rows: i32,
    pub faces_enrolled: i32,
    /// Photos whose face the employee already had (imported before).
    pub faces_unchanged: i32,
    /// Photos refused (in `refused`, with their name).
    pub refused_photos: i32,
    /// Every refused row and photo, in the order of the CSV.
    pub refused: Vec<ImportRefusal>,
}

impl From<report::ImportReport> for ImportReport {
    fn from(r: report::ImportReport) -> Self {
        let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            rows: int(r.rows),
            created: int(r.created),
            updated: int(r.updated),
            unchanged: int(r.unchanged),
            refused_rows: int(r.refused_rows()),
            faces_enrolled: int(r.faces_enrolled),
            faces_unchanged: int(r.faces_unchanged),
            refused_photos: int(r.refused_photos()),
            refused: r
                .refused
                .into_iter()
                .map(|x| ImportRefusal {
                    row: int(x.row),
                    employee_id: x.employee_id,
                    photo: x.photo,
                    reason: x.reason.into(),
                    message: x.message,
                })
                .collect(),
        }
    }
}
