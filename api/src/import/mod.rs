//! Bulk import of a staff directory: a CSV of employees (and the file names of their photos)
//! becomes employees created or updated, each photo enrolled with the checks of
//! `enrollFace`, and a report of everything refused and why. `hadir import` and the
//! `importEmployees` mutation both run it.
//!
//! Re-running it is safe: a row that matches what is stored writes nothing, and a photo
//! whose face the employee already has (the same photo, [`SAME_PHOTO_SIMILARITY`]) is not
//! enrolled twice; both are counted as unchanged. After the face models change, importing
//! the same CSV and photos again is how everyone is re-enrolled (hadir keeps no photo).
//!
//! The whole CSV is read and checked first ([`rows`]); a file that is no directory at all
//! changes nothing. Then each row in order: the employee, then their photos. A face is
//! refused when another employee (enrolled earlier, or on an earlier row) has it.
//!
//! - [`rows`]: the CSV's form, its limits and the checks of each row.
//! - [`photos`]: where photos come from (a folder, uploads), names kept inside the folder.
//! - [`report`]: what the import did, and every refusal with its reason.

pub mod photos;
pub mod report;
pub mod rows;

use std::sync::Arc;

pub use crate::faces::enrol::SAME_PHOTO_SIMILARITY;
use crate::{
    employees::{EmployeeDirectory, EmployeePatch, NewEmployee},
    error::{AppError, AppResult},
    faces::{FaceService, PhotoRefusal, SamePhoto, Stored},
    patch::Patch,
};
use photos::{PhotoName, PhotoProblem, PhotoSource};
use report::{Change, ImportReport, Reason, Refusal};
use rows::Row;

/// The most photos one `importEmployees` request may upload (with its CSV: one file more
/// than this). Larger directories: `hadir import`, or several requests (re-running is
/// safe).
pub const MAX_UPLOADED_PHOTOS: usize = 200;

/// Told of each row as it is done (a progress bar, log lines).
pub trait Progress: Send + Sync {
    /// Before the first row: how many there are.
    fn begin(&self, _rows: u64) {}
    /// After each row: what it made (None: refused whole) and what it refused.
    fn row(
        &self,
        _row: u64,
        _employee_id: Option<&str>,
        _change: Option<Change>,
        _refused: &[Refusal],
    ) {
    }
}

/// Nobody to tell.
pub struct Quiet;

impl Progress for Quiet {}

/// Imports staff directories into the employee directory and the face gallery.
#[derive(Clone)]
pub struct Importer {
    employees: EmployeeDirectory,
    faces: Arc<FaceService>,
}

impl Importer {
    pub fn new(employees: EmployeeDirectory, faces: Arc<FaceService>) -> Self {
        Self { employees, faces }
    }

    /// Imports `csv`, reading the photos it names from `photos`. The error refuses the whole
    /// file (it changed nothing); what a row or photo refused is in the report.
    pub async fn run(
        &self,
        csv: &[u8],
        photos: &dyn PhotoSource,
        progress: &dyn Progress,
    ) -> AppResult<ImportReport> {
        let rows = rows::parse(csv)?;
        if rows.iter().flatten().any(|r| !r.photos.is_empty())
            && let Err(reason) = self.faces.readiness()
        {
            return Err(AppError::Refused(format!(
                "the CSV names photos and face recognition is unavailable: {reason}"
            )));
        }
        let mut report = ImportReport {
            rows: rows.len() as u64,
            ..Default::default()
        };
        progress.begin(report.rows);
        for row in rows {
            let before = report.refused.len();
            let (line, employee_id, change) = match row {
                Err(bad) => {
                    report.refused.push(Refusal {
                        row: bad.line,
                        employee_id: bad.employee_id.clone(),
                        photo: None,
                        reason: if bad.duplicate {
                            Reason::DuplicateId
                        } else {
                            Reason::InvalidRow
                        },
                        message: bad.message,
                    });
                    (bad.line, bad.employee_id, None)
                }
                Ok(row) => {
                    let change = self.import_row(&row, photos, &mut report).await;
                    (row.line, Some(row.employee_id), change)
                }
            };
            progress.row(
                line,
                employee_id.as_deref(),
                change,
                &report.refused[before..],
            );
        }
        Ok(report)
    }

    /// One row: the employee created, updated or left, then each photo. None when the row
    /// is refused whole.
    async fn import_row(
        &self,
        row: &Row,
        photos: &dyn PhotoSource,
        report: &mut ImportReport,
    ) -> Option<Change> {
        let refuse = |reason, message: String| Refusal {
            row: row.line,
            employee_id: Some(row.employee_id.clone()),
            photo: None,
            reason,
            message,
        };
        let change = match self.save_employee(row).await {
            Ok(change) => change,
            Err(error) => {
                let reason = match error {
                    AppError::InvalidInput { .. } => Reason::InvalidRow,
                    _ => Reason::Failed,
                };
                report.refused.push(refuse(reason, error.to_string()));
                return None;
            }
        };
        report.count(change);
        for name in &row.photos {
            let photo = |reason, message| Refusal {
                photo: Some(name.clone()),
                ..refuse(reason, message)
            };
            match self.enrol(&row.employee_id, name, photos).await {
                Ok(Stored::Enrolled(_)) => report.faces_enrolled += 1,
                Ok(Stored::AlreadyEnrolled { .. }) => report.faces_unchanged += 1,
                Err((reason, message)) => report.refused.push(photo(reason, message)),
            }
        }
        Some(change)
    }

    /// Creates the row's employee, or updates the fields that differ.
    async fn save_employee(&self, row: &Row) -> AppResult<Change> {
        let existing = match self.employees.get(&row.employee_id).await? {
            Some(existing) => existing.employee,
            None => {
                let created = self
                    .employees
                    .create(NewEmployee {
                        employee_id: row.employee_id.clone(),
                        name: row.name.clone(),
                        department: row.department.clone().flatten(),
                        role: row.role.clone().flatten(),
                        demo: false,
                    })
                    .await;
                match created {
                    Ok(_) => return Ok(Change::Created),
                    // Created meanwhile (another import): compare with it.
                    Err(AppError::AlreadyExists { .. }) => {
                        self.employees
                            .get(&row.employee_id)
                            .await?
                            .ok_or_else(|| AppError::not_found("employee", &row.employee_id))?
                            .employee
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        let patch = EmployeePatch {
            name: (existing.name != row.name).then(|| row.name.clone()),
            department: patch_of(&existing.department, &row.department),
            role: patch_of(&existing.role, &row.role),
        };
        if patch.name.is_none()
            && matches!(patch.department, Patch::Unchanged)
            && matches!(patch.role, Patch::Unchanged)
        {
            return Ok(Change::Unchanged);
        }
        self.employees.update(&row.employee_id, patch).await?;
        Ok(Change::Updated)
    }

    /// Reads, checks and stores one photo of `employee_id`.
    async fn enrol(
        &self,
        employee_id: &str,
        name: &str,
        photos: &dyn PhotoSource,
    ) -> Result<Stored, (Reason, String)> {
        let problem = |p: PhotoProblem| {
            let reason = match &p {
                PhotoProblem::Missing(_) => Reason::PhotoMissing,
                PhotoProblem::Outside(_) => Reason::PhotoOutsideFolder,
                PhotoProblem::TooLarge { .. } => Reason::PhotoTooLarge,
                PhotoProblem::Unreadable(_) => Reason::Unreadable,
            };
            (reason, photos::problem_text(&p))
        };
        let failed = |e: AppError| (Reason::Failed, e.to_string());
        let parsed = PhotoName::parse(name).map_err(problem)?;
        let bytes = photos
            .read(&parsed, self.faces.max_photo_bytes())
            .await
            .map_err(problem)?;
        let face = self
            .faces
            .check_photo(bytes)
            .await
            .map_err(failed)?
            .map_err(refusal)?;
        self.faces
            .store_face(employee_id, face, SamePhoto::Skip)
            .await
            .map_err(failed)?
            .map_err(refusal)
    }
}

/// The change a row's optional field asks for: None (no column) leaves it.
fn patch_of(stored: &Option<String>, given: &rows::Optional) -> Patch<String> {
    match given {
        Some(value) if value != stored => match value {
            Some(value) => Patch::Set(value.clone()),
            None => Patch::Clear,
        },
        _ => Patch::Unchanged,
    }
}

/// A photo refused by enrolment's checks, as a reason of the report.
fn refusal(refusal: PhotoRefusal) -> (Reason, String) {
    let reason = match &refusal {
        PhotoRefusal::Empty | PhotoRefusal::Unreadable(_) => Reason::Unreadable,
        PhotoRefusal::TooLarge { .. } => Reason::PhotoTooLarge,
        PhotoRefusal::NoFace => Reason::NoFace,
        PhotoRefusal::SeveralFaces(_) => Reason::SeveralFaces,
        PhotoRefusal::TooSmall { .. } => Reason::FaceTooSmall,
        PhotoRefusal::TooBlurry { .. } => Reason::FaceTooBlurry,
        PhotoRefusal::FaceOfAnotherEmployee { .. } => Reason::FaceOfAnotherEmployee,
    };
    (reason, refusal.to_string())
}
