//! A detected face, whichever detector found it: its box, the detector's confidence and its
//! five landmarks, in the pixels of the image it was found in (see [`crate::region`] for
//! mapping them onto a larger frame).

/// A face found: its box (corners, pixels), the detector's confidence and five landmarks
/// (left eye, right eye, nose, left and right mouth corners), each `[x, y]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectedFace {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
    pub landmarks: [[f32; 2]; 5],
}

impl DetectedFace {
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }

    /// Multiplies the box and the landmarks by `scale` (from a shrunk image's pixels to the
    /// original's).
    pub fn scale_by(&mut self, scale: f32) {
        self.x1 *= scale;
        self.y1 *= scale;
        self.x2 *= scale;
        self.y2 *= scale;
        for point in &mut self.landmarks {
            point[0] *= scale;
            point[1] *= scale;
        }
    }

    /// Moves the box and the landmarks by (`dx`, `dy`) (from a region's pixels to the frame's
    /// it was cut from).
    pub fn translate(&mut self, dx: f32, dy: f32) {
        self.x1 += dx;
        self.x2 += dx;
        self.y1 += dy;
        self.y2 += dy;
        for point in &mut self.landmarks {
            point[0] += dx;
            point[1] += dy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_and_moving_apply_to_the_box_and_every_landmark() {
        let mut face = DetectedFace {
            x1: 1.0,
            y1: 2.0,
            x2: 11.0,
            y2: 22.0,
            score: 0.9,
            landmarks: [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]],
        };
        face.scale_by(2.0);
        assert_eq!((face.x1, face.y1, face.x2, face.y2), (2.0, 4.0, 22.0, 44.0));
        assert_eq!((face.width(), face.height()), (20.0, 40.0));
        face.translate(100.0, 50.0);
        assert_eq!(
            (face.x1, face.y1, face.x2, face.y2),
            (102.0, 54.0, 122.0, 94.0)
        );
        assert_eq!(
            face.landmarks,
            [
                [102.0, 54.0],
                [106.0, 58.0],
                [110.0, 62.0],
                [114.0, 66.0],
                [118.0, 70.0]
            ]
        );
        assert_eq!(face.score, 0.9, "the score is left alone");
    }
}
