//! Enrolment: a photo becomes a checked embedding, in the database and in the gallery at
//! once; removal of an employee's faces.
//!
//! The checks run in two steps, so that `hadir import` can tell each reason apart:
//! [`FaceService::check_photo`] (one clear face, large and sharp enough) and
//! [`FaceService::store_face`] (not another employee's face; optionally, not one this
//! employee has already), under one lock so that two enrolments cannot both pass.

use std::sync::Arc;

use chrono::Utc;
use entity::employee;
use sea_orm::EntityTrait;
use vision::{align, pipeline::AnalysedFace, quality};

use super::{refusal::PhotoRefusal, service::FaceService, store};
use crate::error::{AppError, AppResult};

/// A face at least this similar to one an employee already has is the same photo (or a
/// re-encoding of it): `hadir import` does not enrol it twice. Two different photos of one
/// person score far lower (0.6–0.9 with the default models).
pub const SAME_PHOTO_SIMILARITY: f32 = 0.98;

/// What an enrolment stored.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub employee_id: String,
    pub face_count: u64,
    pub sharpness: f32,
    pub face_size: f32,
}

/// The one face of a photo that passed enrolment's checks, ready to store.
#[derive(Clone, Debug)]
pub struct CheckedFace {
    pub embedding: Vec<f32>,
    /// Pixels across, in the photo's pixels.
    pub face_size: f32,
    pub sharpness: f32,
}

/// What to do with a face this employee already has (the same photo enrolled before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamePhoto {
    /// Enrol it again (`enrollFace`: the caller asked for it).
    EnrolAgain,
    /// Store nothing and say so (`hadir import`: re-running it changes nothing).
    Skip,
}

/// What [`FaceService::store_face`] did.
#[derive(Clone, Debug)]
pub enum Stored {
    Enrolled(Enrolment),
    /// The employee has this face already (similarity at least [`SAME_PHOTO_SIMILARITY`]).
    AlreadyEnrolled {
        similarity: f32,
    },
}

impl FaceService {
    /// Enrols the one face of `photo` for `employee_id`, after checking it: exactly one
    /// clear face, large enough, sharp enough, and no other employee's. Stores the
    /// embedding, the model and the consent time; never the photo.
    pub async fn enroll(
        self: &Arc<Self>,
        employee_id: &str,
        photo: Vec<u8>,
    ) -> AppResult<Enrolment> {
        let employee_id = employee_id.trim().to_owned();
        if employee::Entity::find_by_id(employee_id.clone())
            .one(&self.db)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("employee", employee_id));
        }
        let refused = |r: PhotoRefusal| AppError::invalid("photo", r.to_string());
        let face = self.check_photo(photo).await?.map_err(refused)?;
        match self
            .store_face(&employee_id, face, SamePhoto::EnrolAgain)
            .await?
            .map_err(refused)?
        {
            Stored::Enrolled(enrolment) => Ok(enrolment),
            Stored::AlreadyEnrolled { .. } => unreachable!("enrolled again when asked"),
        }
    }

    /// Enrolment's checks of a photo, storing nothing: exactly one clear face, at least
    /// [`quality::MIN_ENROL_FACE_SIZE`] px across and [`quality::MIN_ENROL_SHARPNESS`]
    /// sharp. The error is a failure of the service (models unavailable); the inner one
    /// says why the photo is refused.
    pub async fn check_photo(
        self: &Arc<Self>,
        photo: Vec<u8>,
    ) -> AppResult<Result<CheckedFace, PhotoRefusal>> {
        if let Some(refusal) = self.size_refusal(&photo) {
            return Ok(Err(refusal));
        }
        let (image, faces, scale) = match self.analyse(photo).await {
            Ok(analysed) => analysed,
            // Only decoding names the photo; the models' failures are the service's.
            Err(AppError::InvalidInput { field, reason }) if field == "photo" => {
                return Ok(Err(PhotoRefusal::Unreadable(reason)));
            }
            Err(other) => return Err(other),
        };
        let clear: Vec<&AnalysedFace> = faces
            .iter()
            .filter(|f| f.face.score >= self.set.enrol_min_score())
            .collect();
        let face = match clear.as_slice() {
            [] => return Ok(Err(PhotoRefusal::NoFace)),
            [one] => *one,
            many => return Ok(Err(PhotoRefusal::SeveralFaces(many.len()))),
        };
        // In the photo's pixels (the analysed image may be shrunk).
        let face_size = face.face.width().min(face.face.height()) * scale;
        if face_size < quality::MIN_ENROL_FACE_SIZE {
            return Ok(Err(PhotoRefusal::TooSmall { face_size }));
        }
        let sharpness = align::align(&image, &face.face.landmarks)
            .map(|aligned| quality::sharpness(&aligned))
            .unwrap_or_default();
        if sharpness < quality::MIN_ENROL_SHARPNESS {
            return Ok(Err(PhotoRefusal::TooBlurry { sharpness }));
        }
        Ok(Ok(CheckedFace {
            embedding: face.embedding.clone(),
            face_size,
            sharpness,
        }))
    }

    /// Stores a checked face for `employee_id` (who must exist), in the database and the
    /// gallery, unless another employee has a face at least as similar as the recognition
    /// threshold (refused, naming them) or, with [`SamePhoto::Skip`], this employee has it
    /// already. The gallery is brought up to date first (faces enrolled by other
    /// processes count); one enrolment at a time in this process.
    pub async fn store_face(
        self: &Arc<Self>,
        employee_id: &str,
        face: CheckedFace,
        same_photo: SamePhoto,
    ) -> AppResult<Result<Stored, PhotoRefusal>> {
        let _one_at_a_time = self.enrolling.lock().await;
        self.refresh_gallery().await?;
        let (own, other) = {
            let gallery = self.gallery.read().unwrap_or_else(|p| p.into_inner());
            let own = gallery
                .best_match_among(&face.embedding, |owner| owner == employee_id)
                .map(|m| m.score);
            let other = gallery
                .best_match_among(&face.embedding, |owner| owner != employee_id)
                .map(|m| (m.owner.to_owned(), m.score));
            (own, other)
        };
        if same_photo == SamePhoto::Skip
            && let Some(similarity) = own.filter(|s| *s >= SAME_PHOTO_SIMILARITY)
        {
            return Ok(Ok(Stored::AlreadyEnrolled { similarity }));
        }
        if let Some((owner, similarity)) = other.filter(|(_, s)| *s >= self.threshold) {
            return Ok(Err(PhotoRefusal::FaceOfAnotherEmployee {
                employee_id: owner,
                similarity,
            }));
        }
        store::insert_embedding(
            &self.db,
            employee_id,
            self.model(),
            &face.embedding,
            Utc::now(),
        )
        .await?;
        {
            let mut gallery = self.gallery.write().unwrap_or_else(|p| p.into_inner());
            gallery
                .add(employee_id.to_owned(), &face.embedding)
                .map_err(|e| AppError::Refused(e.to_string()))?;
        }
        self.note_own_change().await?;
        self.announce_faces_changed(employee_id).await;
        let face_count = store::count_faces(&self.db, employee_id, self.model()).await?;
        Ok(Ok(Stored::Enrolled(Enrolment {
            employee_id: employee_id.to_owned(),
            face_count,
            sharpness: face.sharpness,
            face_size: face.face_size,
        })))
    }

    /// Removes every face of an employee (database and gallery); returns how many.
    pub async fn remove_faces(&self, employee_id: &str) -> AppResult<u64> {
        let employee_id = employee_id.trim();
        if employee::Entity::find_by_id(employee_id.to_owned())
            .one(&self.db)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("employee", employee_id));
        }
        let removed = store::delete_embeddings(&self.db, employee_id).await?;
        self.forget(employee_id);
        self.note_own_change().await?;
        self.announce_faces_changed(employee_id).await;
        Ok(removed)
    }

    /// Records the database's state after a change this process made to both the database
    /// and the gallery, so that the next refresh does not reload for it.
    async fn note_own_change(&self) -> AppResult<()> {
        let now = store::signature(&self.db, self.model()).await?;
        *self.loaded_from.lock().unwrap_or_else(|p| p.into_inner()) = now;
        Ok(())
    }

    /// Drops an employee's faces from the gallery (their rows went with the employee).
    pub fn forget(&self, employee_id: &str) {
        self.gallery
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove_owner(employee_id);
    }
}
