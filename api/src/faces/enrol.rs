//! Enrolment: a photo becomes a checked embedding, in the database and in the gallery at
//! once; removal of an employee's faces.

use std::sync::Arc;

use chrono::Utc;
use entity::employee;
use sea_orm::EntityTrait;
use vision::{align, pipeline::AnalysedFace, quality};

use super::{service::FaceService, store};
use crate::error::{AppError, AppResult};

/// What an enrolment stored.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub employee_id: String,
    pub face_count: u64,
    pub sharpness: f32,
    pub face_size: f32,
}

impl FaceService {
    /// Enrols the one face of `photo` for `employee_id`, after checking it: exactly one
    /// clear face, large enough, sharp enough. Stores the embedding, the model and the
    /// consent time; never the photo.
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
        self.check_size(&photo)?;
        let (image, faces, scale) = self.analyse(photo).await?;
        let clear: Vec<&AnalysedFace> = faces
            .iter()
            .filter(|f| f.face.score >= self.set.enrol_min_score())
            .collect();
        let face = match clear.as_slice() {
            [] => {
                return Err(AppError::invalid(
                    "photo",
                    "no face found: use a photo that shows the employee's face, facing the camera",
                ));
            }
            [one] => *one,
            many => {
                return Err(AppError::invalid(
                    "photo",
                    format!(
                        "{} faces found: an enrolment photo must show exactly one face",
                        many.len()
                    ),
                ));
            }
        };
        // In the photo's pixels (the analysed image may be shrunk).
        let face_size = face.face.width().min(face.face.height()) * scale;
        if face_size < quality::MIN_ENROL_FACE_SIZE {
            return Err(AppError::invalid(
                "photo",
                format!(
                    "the face is {} px across; enrolment needs at least {:.0} px",
                    shown_below(face_size, quality::MIN_ENROL_FACE_SIZE),
                    quality::MIN_ENROL_FACE_SIZE
                ),
            ));
        }
        let sharpness = align::align(&image, &face.face.landmarks)
            .map(|aligned| quality::sharpness(&aligned))
            .unwrap_or_default();
        if sharpness < quality::MIN_ENROL_SHARPNESS {
            return Err(AppError::invalid(
                "photo",
                format!(
                    "the face is too blurred (sharpness {}, at least {:.0} needed): use a sharper photo",
                    shown_below(sharpness, quality::MIN_ENROL_SHARPNESS),
                    quality::MIN_ENROL_SHARPNESS
                ),
            ));
        }
        store::insert_embedding(
            &self.db,
            &employee_id,
            self.model(),
            &face.embedding,
            Utc::now(),
        )
        .await?;
        {
            let mut gallery = self.gallery.write().unwrap_or_else(|p| p.into_inner());
            gallery
                .add(employee_id.clone(), &face.embedding)
                .map_err(|e| AppError::Refused(e.to_string()))?;
        }
        self.note_own_change().await?;
        self.announce_faces_changed(&employee_id).await;
        let face_count = store::count_faces(&self.db, &employee_id, self.model()).await?;
        Ok(Enrolment {
            employee_id,
            face_count,
            sharpness,
            face_size,
        })
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

/// A measure that fell short of `limit`, to one decimal, and never shown as the limit
/// itself: 79.96 px below 80 is "79.9", not "80".
fn shown_below(value: f32, limit: f32) -> String {
    let shown = format!("{value:.1}");
    match shown.parse::<f32>() {
        Ok(rounded) if rounded >= limit => format!("{:.1}", (f64::from(limit) * 10.0 - 1.0) / 10.0),
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_below_a_limit_never_read_as_the_limit() {
        assert_eq!(shown_below(79.6, 80.0), "79.6");
        assert_eq!(shown_below(79.96, 80.0), "79.9");
        assert_eq!(shown_below(79.999, 80.0), "79.9");
        assert_eq!(shown_below(12.0, 80.0), "12.0");
        assert_eq!(shown_below(49.97, 50.0), "49.9");
    }
}
