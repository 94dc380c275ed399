//! Why a photo is not enrolled: the one list of reasons `enrollFace`, `hadir enroll` and
//! `hadir import` share, each with the sentence a person reads.

use vision::quality;

/// Why a photo is not enrolled.
#[derive(Clone, Debug, PartialEq)]
pub enum PhotoRefusal {
    /// The file holds no byte.
    Empty,
    /// The file is larger than `max_photo_bytes`.
    TooLarge { bytes: u64, limit: u64 },
    /// The bytes are no image hadir reads (not JPEG or PNG, corrupt, an absurd size).
    Unreadable(String),
    /// No clear face.
    NoFace,
    /// More than one clear face.
    SeveralFaces(usize),
    /// The face is fewer than [`quality::MIN_ENROL_FACE_SIZE`] pixels across.
    TooSmall { face_size: f32 },
    /// The face is below [`quality::MIN_ENROL_SHARPNESS`].
    TooBlurry { sharpness: f32 },
    /// The face matches one of another employee's at or above the recognition threshold.
    FaceOfAnotherEmployee {
        employee_id: String,
        similarity: f32,
    },
}

impl std::fmt::Display for PhotoRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "the file is empty"),
            Self::TooLarge { bytes, limit } => write!(
                f,
                "the file is {:.1} MB; photos may be at most {:.1} MB",
                *bytes as f64 / 1_048_576.0,
                *limit as f64 / 1_048_576.0
            ),
            Self::Unreadable(reason) => write!(f, "{reason}"),
            Self::NoFace => write!(
                f,
                "no face found: use a photo that shows the employee's face, facing the camera"
            ),
            Self::SeveralFaces(n) => write!(
                f,
                "{n} faces found: an enrolment photo must show exactly one face"
            ),
            Self::TooSmall { face_size } => write!(
                f,
                "the face is {} px across; enrolment needs at least {:.0} px",
                shown_below(*face_size, quality::MIN_ENROL_FACE_SIZE),
                quality::MIN_ENROL_FACE_SIZE
            ),
            Self::TooBlurry { sharpness } => write!(
                f,
                "the face is too blurred (sharpness {}, at least {:.0} needed): use a sharper photo",
                shown_below(*sharpness, quality::MIN_ENROL_SHARPNESS),
                quality::MIN_ENROL_SHARPNESS
            ),
            Self::FaceOfAnotherEmployee {
                employee_id,
                similarity,
            } => write!(
                f,
                "this face is already enrolled for employee {employee_id} (similarity \
                 {similarity:.2}): one person, one employee id; remove that employee's faces \
                 first if the photo is theirs by mistake"
            ),
        }
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

    #[test]
    fn refusals_read_as_enrolment_always_said_them() {
        assert_eq!(
            PhotoRefusal::TooSmall { face_size: 79.97 }.to_string(),
            "the face is 79.9 px across; enrolment needs at least 80 px"
        );
        assert_eq!(
            PhotoRefusal::TooLarge {
                bytes: 2_621_440,
                limit: 2_097_152
            }
            .to_string(),
            "the file is 2.5 MB; photos may be at most 2.0 MB"
        );
        assert!(
            PhotoRefusal::FaceOfAnotherEmployee {
                employee_id: "E1".into(),
                similarity: 0.834
            }
            .to_string()
            .contains("already enrolled for employee E1 (similarity 0.83)")
        );
    }
}
