//! Regions of a camera's picture where faces are ignored: a poster or a photo on the wall, a
//! TV, a glass door that reflects the lobby. Each region is `[x1, y1, x2, y2]` in fractions
//! of the picture's width and height (`[0.75, 0, 1, 0.4]`: the top of the right quarter), so
//! that it stays right when the camera's resolution changes. A face whose centre lies in a
//! region is neither recognised nor reported as unknown, and not drawn on live frames.
//!
//! Stored in the `cameras.ignore_regions` column as JSON (`NULL`: none).

use crate::error::{AppError, AppResult};

/// The most regions one camera may have.
pub const MAX_IGNORE_REGIONS: usize = 16;

/// One region, in fractions of the picture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

impl Region {
    /// Whether the point (`x`, `y`), in pixels of a `width` × `height` picture, lies inside.
    pub fn contains(&self, x: f64, y: f64, width: u32, height: u32) -> bool {
        let (w, h) = (f64::from(width), f64::from(height));
        x >= self.x1 * w && x <= self.x2 * w && y >= self.y1 * h && y <= self.y2 * h
    }

    pub fn to_array(self) -> [f64; 4] {
        [self.x1, self.y1, self.x2, self.y2]
    }
}

/// Checks regions as a client or a camera file gives them.
pub fn check(field: &str, regions: &[Vec<f64>]) -> AppResult<Vec<Region>> {
    if regions.len() > MAX_IGNORE_REGIONS {
        return Err(AppError::invalid(
            field,
            format!(
                "{} regions; a camera may have at most {MAX_IGNORE_REGIONS}",
                regions.len()
            ),
        ));
    }
    regions
        .iter()
        .enumerate()
        .map(|(index, numbers)| {
            let bad = |why: &str| {
                AppError::invalid(field, format!("region {}: {numbers:?} {why}", index + 1))
            };
            let &[x1, y1, x2, y2] = numbers.as_slice() else {
                return Err(bad("is not [x1, y1, x2, y2]"));
            };
            if [x1, y1, x2, y2]
                .iter()
                .any(|v| !v.is_finite() || !(0.0..=1.0).contains(v))
            {
                return Err(bad(
                    "must be fractions of the picture, from 0 to 1 (e.g. [0.75, 0, 1, 0.4])",
                ));
            }
            if x1 >= x2 || y1 >= y2 {
                return Err(bad("must have x1 < x2 and y1 < y2"));
            }
            Ok(Region { x1, y1, x2, y2 })
        })
        .collect()
}

/// The column's JSON (`None` when there are no regions).
pub fn to_column(regions: &[Region]) -> Option<String> {
    (!regions.is_empty()).then(|| {
        serde_json::to_string(&regions.iter().map(|r| r.to_array()).collect::<Vec<_>>())
            .unwrap_or_else(|_| unreachable!("arrays of numbers serialise"))
    })
}

/// The regions a column holds. A value that cannot be read (written by hand into the
/// database) is logged and taken as no regions, rather than stopping the camera.
pub fn from_column(camera_id: &str, column: Option<&str>) -> Vec<Region> {
    let Some(text) = column else {
        return Vec::new();
    };
    let parsed: Result<Vec<Vec<f64>>, String> =
        serde_json::from_str(text).map_err(|e| e.to_string());
    match parsed.and_then(|numbers| check("ignore_regions", &numbers).map_err(|e| e.to_string())) {
        Ok(regions) => regions,
        Err(error) => {
            tracing::error!(%camera_id, %error, "ignore_regions in the database cannot be read; ignoring none");
            Vec::new()
        }
    }
}

/// Whether a face box (pixels) has its centre in one of the regions.
pub fn ignores(regions: &[Region], face: [f32; 4], width: u32, height: u32) -> bool {
    let x = f64::from(face[0] + face[2]) / 2.0;
    let y = f64::from(face[1] + face[3]) / 2.0;
    regions.iter().any(|r| r.contains(x, y, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_checked_and_name_what_is_wrong() {
        let good = check("ignoreRegions", &[vec![0.75, 0.0, 1.0, 0.4]]).unwrap();
        assert_eq!(good[0].to_array(), [0.75, 0.0, 1.0, 0.4]);
        for (bad, why) in [
            (vec![0.1, 0.2, 0.3], "is not [x1, y1, x2, y2]"),
            (vec![0.5, 0.0, 1.5, 0.4], "from 0 to 1"),
            (vec![0.8, 0.0, 0.2, 0.4], "x1 < x2"),
            (vec![f64::NAN, 0.0, 1.0, 0.4], "from 0 to 1"),
        ] {
            let error = check("ignoreRegions", &[vec![0.0, 0.0, 0.1, 0.1], bad])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("ignoreRegions") && error.contains("region 2"),
                "{error}"
            );
            assert!(error.contains(why), "{error}");
        }
        let many = vec![vec![0.0, 0.0, 0.1, 0.1]; MAX_IGNORE_REGIONS + 1];
        assert!(check("ignoreRegions", &many).is_err());
    }

    #[test]
    fn faces_are_ignored_by_their_centre() {
        let regions = check("r", &[vec![0.5, 0.0, 1.0, 0.5]]).unwrap();
        // 1000 × 800 picture: the region is x 500–1000, y 0–400.
        assert!(ignores(&regions, [600.0, 100.0, 700.0, 200.0], 1000, 800));
        // Centre (480, 150): left of the region although the box reaches into it.
        assert!(!ignores(&regions, [430.0, 100.0, 530.0, 200.0], 1000, 800));
        assert!(!ignores(&regions, [600.0, 500.0, 700.0, 600.0], 1000, 800));
        assert!(!ignores(&[], [600.0, 100.0, 700.0, 200.0], 1000, 800));
    }

    #[test]
    fn the_column_round_trips_and_bad_values_mean_none() {
        let regions = check("r", &[vec![0.5, 0.0, 1.0, 0.5], vec![0.0, 0.6, 0.2, 1.0]]).unwrap();
        let column = to_column(&regions);
        assert_eq!(from_column("CAM1", column.as_deref()), regions);
        assert_eq!(to_column(&[]), None);
        assert!(from_column("CAM1", Some("not json")).is_empty());
        assert!(from_column("CAM1", Some("[[2, 0, 3, 1]]")).is_empty());
    }
}
