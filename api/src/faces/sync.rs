//! The gallery across processes: every change this process makes to an employee's faces
//! (an enrolment, a removal, the employee deleted) is announced on PostgreSQL
//! (`FacesChanged` on the cluster's control channel, straight on the database connection, so
//! that `hadir enroll` announces too); a process told reloads that one employee's faces.
//! Nothing is announced on SQLite, where the periodic check is the only way.

use super::{service::FaceService, store};
use crate::{
    cluster::{bus, control::ControlMessage},
    error::{AppError, AppResult},
};

impl FaceService {
    /// Announces this process's face changes under `instance_id` (the relay's), so that the
    /// relay drops them as its own. Only the first call counts.
    pub fn set_cluster_origin(&self, instance_id: &str) {
        let _ = self.cluster_origin.set(instance_id.to_owned());
    }

    /// The instance id face changes are announced under.
    pub fn cluster_origin(&self) -> &str {
        self.cluster_origin.get().unwrap_or(&self.drawn_origin)
    }

    /// Tells the other processes on the database that `employee_id`'s faces changed. A
    /// failure is logged, not returned: the change is made, and the others' periodic check
    /// finds it.
    pub async fn announce_faces_changed(&self, employee_id: &str) {
        let message = ControlMessage::FacesChanged {
            employee_id: employee_id.to_owned(),
        };
        if let Err(error) = bus::announce(&self.db, self.cluster_origin(), &message).await {
            tracing::warn!(
                employee_id,
                %error,
                "cannot tell the other processes that faces changed (their periodic check will)"
            );
        }
    }

    /// After the employee was deleted (their embeddings with them): drops their faces from
    /// the gallery and tells the other processes.
    pub async fn employee_deleted(&self, employee_id: &str) {
        self.forget(employee_id);
        self.announce_faces_changed(employee_id).await;
    }

    /// Reloads one employee's faces from the database into the gallery (none left: they
    /// are dropped from it); returns how many it holds now.
    pub async fn reload_employee(&self, employee_id: &str) -> AppResult<usize> {
        let vectors = store::embeddings_of(&self.db, employee_id, self.model()).await?;
        let mut gallery = self.gallery.write().unwrap_or_else(|p| p.into_inner());
        gallery.remove_owner(employee_id);
        for vector in &vectors {
            gallery
                .add(employee_id.to_owned(), vector)
                .map_err(|e| AppError::Refused(e.to_string()))?;
        }
        Ok(vectors.len())
    }
}
