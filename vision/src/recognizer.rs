//! From faces to recognitions: each face's embedding is matched against the gallery, and a
//! camera's decision over consecutive sampled frames turns matches into recognitions. A
//! face becomes a recognition of an employee once `min_consecutive` consecutive frames at
//! that camera agree on them; faces below the threshold are unknown (counted, never stored).

use std::collections::HashMap;

use crate::{face::DetectedFace, gallery::Gallery, pipeline::AnalysedFace};

/// Agreeing frames needed before a face is taken for an employee, by default.
pub const DEFAULT_MIN_CONSECUTIVE: u32 = 1;

/// One face matched against the gallery.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceMatch {
    pub face: DetectedFace,
    /// The closest enrolled employee (whatever the similarity), if the gallery has any.
    pub closest: Option<String>,
    /// The similarity to that employee.
    pub score: Option<f32>,
}

impl FaceMatch {
    /// The employee this face is taken for at `threshold`: the closest one, when the
    /// similarity to them reaches it. The one rule for "is this match accepted?".
    pub fn accepted(&self, threshold: f32) -> Option<&str> {
        match (&self.closest, self.score) {
            (Some(id), Some(score)) if score >= threshold => Some(id),
            _ => None,
        }
    }
}

/// Matches every analysed face against the gallery.
pub fn match_faces(gallery: &Gallery, faces: &[AnalysedFace]) -> Vec<FaceMatch> {
    faces
        .iter()
        .map(|f| {
            let best = gallery.best_match(&f.embedding);
            FaceMatch {
                face: f.face.clone(),
                closest: best.as_ref().map(|m| m.owner.to_owned()),
                score: best.map(|m| m.score),
            }
        })
        .collect()
}

/// What the decision makes of one face of one frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Taken for this employee.
    Recognised {
        employee_id: String,
        score: f32,
        face: DetectedFace,
    },
    /// Matches this employee, but in fewer consecutive frames than required yet.
    Tentative {
        employee_id: String,
        score: f32,
        agreeing_frames: u32,
    },
    /// Nobody enrolled is close enough.
    Unknown {
        face: DetectedFace,
        best_score: Option<f32>,
    },
}

/// The decision at one camera, frame after frame.
#[derive(Clone, Debug)]
pub struct CameraDecision {
    threshold: f32,
    min_consecutive: u32,
    frame: u64,
    /// Per employee: consecutive frames agreeing, and the last frame that did.
    streaks: HashMap<String, (u32, u64)>,
    unknown_faces: u64,
}

impl CameraDecision {
    pub fn new(threshold: f32, min_consecutive: u32) -> Self {
        Self {
            threshold,
            min_consecutive: min_consecutive.max(1),
            frame: 0,
            streaks: HashMap::new(),
            unknown_faces: 0,
        }
    }

    /// Unknown faces seen at this camera so far.
    pub fn unknown_faces(&self) -> u64 {
        self.unknown_faces
    }

    /// Decides on the faces of the next sampled frame (an empty frame breaks every streak).
    pub fn decide(&mut self, matches: &[FaceMatch]) -> Vec<Verdict> {
        self.frame += 1;
        let frame = self.frame;
        let mut verdicts = Vec::with_capacity(matches.len());
        for m in matches {
            let (Some(employee_id), Some(score)) = (m.accepted(self.threshold), m.score) else {
                self.unknown_faces += 1;
                verdicts.push(Verdict::Unknown {
                    face: m.face.clone(),
                    best_score: m.score,
                });
                continue;
            };
            let employee_id = employee_id.to_owned();
            let streak = self.streaks.entry(employee_id.clone()).or_insert((0, 0));
            if streak.1 == frame {
                // The same employee twice in one frame: the frame counts once.
            } else if streak.1 + 1 == frame {
                streak.0 += 1;
            } else {
                streak.0 = 1;
            }
            streak.1 = frame;
            let agreeing_frames = streak.0;
            verdicts.push(if agreeing_frames >= self.min_consecutive {
                Verdict::Recognised {
                    employee_id,
                    score,
                    face: m.face.clone(),
                }
            } else {
                Verdict::Tentative {
                    employee_id,
                    score,
                    agreeing_frames,
                }
            });
        }
        self.streaks.retain(|_, (_, last)| *last == frame);
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> DetectedFace {
        DetectedFace {
            x1: 0.0,
            y1: 0.0,
            x2: 100.0,
            y2: 100.0,
            score: 0.99,
            landmarks: [[0.0; 2]; 5],
        }
    }

    fn seen(who: &str, score: f32) -> FaceMatch {
        FaceMatch {
            face: face(),
            closest: Some(who.to_owned()),
            score: Some(score),
        }
    }

    fn recognised(verdicts: &[Verdict]) -> Vec<&str> {
        verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Recognised { employee_id, .. } => Some(employee_id.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_frame_is_enough_by_default() {
        let mut decision = CameraDecision::new(0.45, DEFAULT_MIN_CONSECUTIVE);
        assert_eq!(recognised(&decision.decide(&[seen("ann", 0.7)])), ["ann"]);
        let verdicts = decision.decide(&[seen("ann", 0.3)]);
        assert!(matches!(verdicts[0], Verdict::Unknown { best_score: Some(s), .. } if s == 0.3));
        assert_eq!(decision.unknown_faces(), 1);
    }

    #[test]
    fn consecutive_frames_must_agree() {
        let mut decision = CameraDecision::new(0.45, 3);
        let tentative = decision.decide(&[seen("ann", 0.7)]);
        assert!(matches!(
            tentative[0],
            Verdict::Tentative {
                agreeing_frames: 1,
                ..
            }
        ));
        assert!(recognised(&decision.decide(&[seen("ann", 0.7), seen("budi", 0.8)])).is_empty());
        assert_eq!(
            recognised(&decision.decide(&[seen("ann", 0.6), seen("budi", 0.8)])),
            ["ann"]
        );
        // A frame without ann breaks her streak; budi goes on.
        assert_eq!(recognised(&decision.decide(&[seen("budi", 0.8)])), ["budi"]);
        assert!(recognised(&decision.decide(&[seen("ann", 0.7)])).is_empty());
        // An empty frame breaks every streak.
        decision.decide(&[]);
        assert!(recognised(&decision.decide(&[seen("budi", 0.8)])).is_empty());
    }

    #[test]
    fn a_match_is_accepted_from_the_threshold_on() {
        assert_eq!(seen("ann", 0.45).accepted(0.45), Some("ann"));
        assert_eq!(seen("ann", 0.7).accepted(0.45), Some("ann"));
        assert_eq!(seen("ann", 0.449).accepted(0.45), None);
        assert_eq!(seen("ann", f32::NAN).accepted(0.45), None);
        let empty_gallery = FaceMatch {
            face: face(),
            closest: None,
            score: None,
        };
        assert_eq!(empty_gallery.accepted(0.0), None);
    }

    #[test]
    fn an_empty_gallery_makes_everyone_unknown() {
        let mut decision = CameraDecision::new(0.45, 1);
        let none = FaceMatch {
            face: face(),
            closest: None,
            score: None,
        };
        assert!(matches!(
            decision.decide(&[none])[0],
            Verdict::Unknown {
                best_score: None,
                ..
            }
        ));
    }
}
