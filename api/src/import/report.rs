//! What an import did: how many employees were created, updated or left unchanged, how many
//! faces were enrolled or found enrolled already, and every refused row or photo with its
//! line, employee id, reason and the sentence that explains it.

use serde::Serialize;

/// Why a row or a photo was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The row's cells are wrong (no id, an id with spaces, no name, too many cells…).
    InvalidRow,
    /// Another row of the CSV has the same employee id.
    DuplicateId,
    /// No such photo file (or upload).
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

impl Reason {
    /// The name scripts see (`NO_FACE`).
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidRow => "INVALID_ROW",
            Self::DuplicateId => "DUPLICATE_ID",
            Self::PhotoMissing => "PHOTO_MISSING",
            Self::PhotoOutsideFolder => "PHOTO_OUTSIDE_FOLDER",
            Self::PhotoTooLarge => "PHOTO_TOO_LARGE",
            Self::Unreadable => "UNREADABLE",
            Self::NoFace => "NO_FACE",
            Self::SeveralFaces => "SEVERAL_FACES",
            Self::FaceTooSmall => "FACE_TOO_SMALL",
            Self::FaceTooBlurry => "FACE_TOO_BLURRY",
            Self::FaceOfAnotherEmployee => "FACE_OF_ANOTHER_EMPLOYEE",
            Self::Failed => "FAILED",
        }
    }
}

/// A refused row (no photo named) or photo.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// The line of the CSV the row starts on (the header is line 1).
    pub row: u64,
    pub employee_id: Option<String>,
    /// The photo refused, as the CSV names it; None when the whole row is.
    pub photo: Option<String>,
    pub reason: Reason,
    pub message: String,
}

/// What one employee's row made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Employees whose row matched what is stored: nothing written.
    pub unchanged: u64,
    /// Faces enrolled by this import.
    pub faces_enrolled: u64,
    /// Photos whose face the employee had already (an earlier import of the same photo).
    pub faces_unchanged: u64,
    /// Every refused row and photo, in the order of the CSV.
    pub refused: Vec<Refusal>,
}

impl ImportReport {
    /// Rows refused whole (their employee neither created nor changed).
    pub fn refused_rows(&self) -> u64 {
        self.refused.iter().filter(|r| r.photo.is_none()).count() as u64
    }

    /// Photos refused (their row's employee was imported).
    pub fn refused_photos(&self) -> u64 {
        self.refused.iter().filter(|r| r.photo.is_some()).count() as u64
    }

    pub fn count(&mut self, change: Change) {
        match change {
            Change::Created => self.created += 1,
            Change::Updated => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }

    /// The summary line: `24 rows: 14 created, …`.
    pub fn summary(&self) -> String {
        format!(
            "{} rows: {} created, {} updated, {} unchanged, {} refused; {} faces enrolled, {} \
             already enrolled (unchanged), {} photos refused",
            self.rows,
            self.created,
            self.updated,
            self.unchanged,
            self.refused_rows(),
            self.faces_enrolled,
            self.faces_unchanged,
            self.refused_photos()
        )
    }

    /// The report for a person: the summary, then one line per refusal.
    pub fn to_text(&self) -> String {
        let mut out = format!("imported {}\n", self.summary());
        if !self.refused.is_empty() {
            out.push_str("refused:\n");
        }
        for r in &self.refused {
            out.push_str(&format!(
                "  line {:<4} {:<12} {}{}: {}\n",
                r.row,
                r.employee_id.as_deref().unwrap_or("-"),
                r.photo
                    .as_deref()
                    .map(|p| format!("{p} "))
                    .unwrap_or_default(),
                r.reason.name(),
                r.message
            ));
        }
        out
    }
}
