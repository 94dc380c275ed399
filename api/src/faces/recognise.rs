//! Recognition against the gallery: every face of a camera frame (or of a region of it),
//! and every face of a photo with its best match.

use std::sync::Arc;

use vision::{
    recognizer::match_faces,
    region::{FrameRegion, FrameView},
};

use super::service::FaceService;
use crate::error::{AppError, AppResult};

/// One face found in a photo, with its best match in the gallery.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecognisedFace {
    /// `[x1, y1, x2, y2]`, pixels.
    #[serde(rename = "box")]
    pub bounds: [f32; 4],
    /// Five `[x, y]`: left eye, right eye, nose, left and right mouth corners.
    pub landmarks: [[f32; 2]; 5],
    #[serde(rename = "detectionScore")]
    pub detection_score: f32,
    /// The employee above the threshold, if any.
    #[serde(rename = "employeeId")]
    pub employee_id: Option<String>,
    /// The best similarity in the gallery (whoever it belongs to), if the gallery has any.
    pub similarity: Option<f32>,
    /// Who that best similarity belongs to, even below the threshold (for tuning).
    #[serde(rename = "closestEmployeeId")]
    pub closest_employee_id: Option<String>,
}

impl FaceService {
    /// Every face of a camera frame (or of a `region` of it), matched
    /// against the gallery, on a blocking thread. Boxes and landmarks are in frame pixels.
    pub async fn match_frame(
        self: &Arc<Self>,
        frame: Arc<vision::source::Frame>,
        region: Option<FrameRegion>,
    ) -> AppResult<Vec<vision::recognizer::FaceMatch>> {
        self.on_pipeline(move |service, pipelines| {
            let view = FrameView::new(&frame.image, region);
            let faces = pipelines
                .with(|p| p.analyse_view(&view))
                .map_err(|e| AppError::Refused(format!("face analysis failed: {e}")))?;
            let gallery = service.gallery.read().unwrap_or_else(|p| p.into_inner());
            Ok(match_faces(&gallery, &faces))
        })
        .await
    }

    /// Every face of a photo with its best match.
    pub async fn recognize(self: &Arc<Self>, photo: Vec<u8>) -> AppResult<Vec<RecognisedFace>> {
        self.check_size(&photo)?;
        let (_, mut faces, scale) = self.analyse(photo).await?;
        for face in &mut faces {
            face.scale_by(scale);
        }
        let gallery = self.gallery.read().unwrap_or_else(|p| p.into_inner());
        Ok(match_faces(&gallery, &faces)
            .into_iter()
            .map(|m| RecognisedFace {
                bounds: [m.face.x1, m.face.y1, m.face.x2, m.face.y2],
                landmarks: m.face.landmarks,
                detection_score: m.face.score,
                employee_id: m.accepted(self.threshold).map(str::to_owned),
                similarity: m.score,
                closest_employee_id: m.closest,
            })
            .collect())
    }
}
