//! The cascade's candidate boxes and their geometry: a stage's regression applied, boxes made
//! square, and non-maximum suppression (by union for the first stages, by the smaller box for
//! the last).

/// A candidate box in the cascade: corners, score and the regression of its stage.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    pub(super) x1: f64,
    pub(super) y1: f64,
    pub(super) x2: f64,
    pub(super) y2: f64,
    pub(super) score: f64,
    pub(super) reg: [f64; 4],
}

/// Which overlap NMS compares.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Overlap {
    Union,
    Min,
}

/// Applies a box's regression (offsets as fractions of its size).
pub(super) fn regress(b: Candidate) -> Candidate {
    let (w, h) = (b.x2 - b.x1 + 1.0, b.y2 - b.y1 + 1.0);
    Candidate {
        x1: b.x1 + b.reg[0] * w,
        y1: b.y1 + b.reg[1] * h,
        x2: b.x2 + b.reg[2] * w,
        y2: b.y2 + b.reg[3] * h,
        ..b
    }
}

/// Makes a box square around its centre, on its longer side.
pub(super) fn square(b: &mut Candidate) {
    let (w, h) = (b.x2 - b.x1, b.y2 - b.y1);
    let side = w.max(h);
    b.x1 += w * 0.5 - side * 0.5;
    b.y1 += h * 0.5 - side * 0.5;
    b.x2 = b.x1 + side;
    b.y2 = b.y1 + side;
}

/// Non-maximum suppression: indices of the boxes kept, best first.
pub(super) fn nms(boxes: &[Candidate], threshold: f64, overlap: Overlap) -> Vec<usize> {
    let area = |b: &Candidate| (b.x2 - b.x1 + 1.0) * (b.y2 - b.y1 + 1.0);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[b].score.total_cmp(&boxes[a].score));
    let mut suppressed = vec![false; boxes.len()];
    let mut keep = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let a = &boxes[i];
        for &j in &order[n + 1..] {
            if suppressed[j] {
                continue;
            }
            let b = &boxes[j];
            let w = (a.x2.min(b.x2) - a.x1.max(b.x1) + 1.0).max(0.0);
            let h = (a.y2.min(b.y2) - a.y1.max(b.y1) + 1.0).max(0.0);
            let inter = w * h;
            let ratio = match overlap {
                Overlap::Union => inter / (area(a) + area(b) - inter),
                Overlap::Min => inter / area(a).min(area(b)),
            };
            if ratio > threshold {
                suppressed[j] = true;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Candidate {
        Candidate {
            x1,
            y1,
            x2,
            y2,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let boxes = [
            candidate(0.0, 0.0, 10.0, 10.0, 0.8),
            candidate(1.0, 1.0, 11.0, 11.0, 0.9),
            candidate(50.0, 50.0, 60.0, 60.0, 0.7),
        ];
        assert_eq!(nms(&boxes, 0.5, Overlap::Union), [1, 2]);
        assert_eq!(nms(&boxes, 0.9, Overlap::Union), [1, 0, 2]);
        let inner = [
            candidate(0.0, 0.0, 20.0, 20.0, 0.9),
            candidate(5.0, 5.0, 10.0, 10.0, 0.95),
        ];
        assert_eq!(nms(&inner, 0.7, Overlap::Min), [1]);
        assert_eq!(nms(&inner, 0.7, Overlap::Union), [1, 0]);
    }

    #[test]
    fn squares_keep_their_centre() {
        let mut b = candidate(10.0, 20.0, 30.0, 60.0, 1.0);
        square(&mut b);
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (0.0, 20.0, 40.0, 60.0));
    }
}
