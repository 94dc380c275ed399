//! Looking at part of a frame: a rectangle of it in pixels ([`FrameRegion`]: where motion
//! was seen), that part converted for analysis and shrunk to at most
//! [`MAX_ANALYSIS_PIXELS`] ([`FrameView`]), and the way back from the pixels analysed to the
//! frame's ([`ToFrame`]: scale, then offset), so that faces come out in frame pixels.

use image::RgbImage;

use crate::{
    face::DetectedFace,
    frame::{MAX_ANALYSIS_PIXELS, RgbF32, Scaled},
};

/// A rectangle of a frame, in pixels: its top-left corner and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRegion {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl FrameRegion {
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// Whether the centre of `bounds` (x1, y1, x2, y2) lies inside this rectangle.
    pub fn contains_centre(&self, bounds: &[f32; 4]) -> bool {
        let (cx, cy) = ((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0);
        cx >= self.x as f32
            && cy >= self.y as f32
            && cx < (self.x + self.width) as f32
            && cy < (self.y + self.height) as f32
    }

    /// The part of this rectangle inside a frame of `width` × `height` (empty where it lies
    /// outside), as [`image::imageops::crop_imm`] cuts it.
    pub fn within(self, width: u32, height: u32) -> Self {
        let x = self.x.min(width);
        let y = self.y.min(height);
        Self {
            x,
            y,
            width: self.width.min(width - x),
            height: self.height.min(height - y),
        }
    }
}

/// Where one look at a frame searched: the whole frame, or some regions of it (where it
/// changed, around the faces followed). A face predicted outside them was not looked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Coverage {
    #[default]
    Whole,
    Regions(Vec<FrameRegion>),
}

impl From<Option<FrameRegion>> for Coverage {
    fn from(region: Option<FrameRegion>) -> Self {
        region.map_or(Self::Whole, |r| Self::Regions(vec![r]))
    }
}

impl Coverage {
    /// Whether a look over this would have found a face in `bounds`: its centre lies inside.
    pub fn covers(&self, bounds: &[f32; 4]) -> bool {
        let Self::Regions(regions) = self else {
            return true;
        };
        regions.iter().any(|r| r.contains_centre(bounds))
    }
}

/// From the pixels of an analysed image to the frame's: a point (x, y) is
/// (x·`scale` + `dx`, y·`scale` + `dy`) in the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToFrame {
    /// Frame pixels per analysed pixel (1.0 when the image was not shrunk).
    pub scale: f32,
    /// Where the analysed region's left edge is in the frame.
    pub dx: f32,
    /// Where the analysed region's top edge is in the frame.
    pub dy: f32,
}

impl ToFrame {
    /// The whole frame, as analysed: no offset.
    pub const IDENTITY: Self = Self {
        scale: 1.0,
        dx: 0.0,
        dy: 0.0,
    };

    /// Moves a face found in the analysed image onto the frame: scaled first, then offset.
    pub fn place(&self, face: &mut DetectedFace) {
        face.scale_by(self.scale);
        face.translate(self.dx, self.dy);
    }
}

/// A frame, or a region of it, converted for analysis, and the way back to the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameView {
    pub image: RgbF32,
    pub to_frame: ToFrame,
}

impl FrameView {
    /// The part of `frame` in `region` (the whole frame when `None`; a region reaching past
    /// the frame is cut at its edges), converted and shrunk to at most
    /// [`MAX_ANALYSIS_PIXELS`].
    pub fn new(frame: &RgbImage, region: Option<FrameRegion>) -> Self {
        Self::capped(frame, region, MAX_ANALYSIS_PIXELS)
    }

    /// [`FrameView::new`] with a cap of its own.
    pub fn capped(frame: &RgbImage, region: Option<FrameRegion>, max_pixels: usize) -> Self {
        match region {
            None => {
                let Scaled { image, scale } = RgbF32::from_rgb8_capped(frame, max_pixels);
                Self {
                    image,
                    to_frame: ToFrame {
                        scale,
                        ..ToFrame::IDENTITY
                    },
                }
            }
            Some(region) => {
                let FrameRegion {
                    x,
                    y,
                    width,
                    height,
                } = region.within(frame.width(), frame.height());
                let crop = image::imageops::crop_imm(frame, x, y, width, height).to_image();
                let Scaled { image, scale } = RgbF32::from_rgb8_capped(&crop, max_pixels);
                Self {
                    image,
                    to_frame: ToFrame {
                        scale,
                        dx: x as f32,
                        dy: y as f32,
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose red channel is x / 4 and green channel y / 4 (so that pixels say where
    /// they came from).
    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x / 4) as u8, (y / 4) as u8, 7])
        })
    }

    fn face_at(x1: f32, y1: f32, x2: f32, y2: f32) -> DetectedFace {
        DetectedFace {
            x1,
            y1,
            x2,
            y2,
            score: 0.99,
            landmarks: [
                [x1, y1],
                [x2, y1],
                [x1, y2],
                [x2, y2],
                [(x1 + x2) / 2.0, y1],
            ],
        }
    }

    #[test]
    fn the_whole_frame_is_scaled_back_and_not_moved() {
        let frame = gradient(400, 200);
        let view = FrameView::new(&frame, None);
        assert_eq!((view.image.width, view.image.height), (400, 200));
        assert_eq!(view.to_frame, ToFrame::IDENTITY);
        let shrunk = FrameView::capped(&frame, None, 100 * 50);
        assert_eq!((shrunk.image.width, shrunk.image.height), (100, 50));
        assert_eq!(
            shrunk.to_frame,
            ToFrame {
                scale: 4.0,
                dx: 0.0,
                dy: 0.0
            }
        );
        let mut face = face_at(10.0, 5.0, 20.0, 15.0);
        shrunk.to_frame.place(&mut face);
        assert_eq!(
            (face.x1, face.y1, face.x2, face.y2),
            (40.0, 20.0, 80.0, 60.0)
        );
        assert_eq!(face.landmarks[4], [60.0, 20.0]);
    }

    #[test]
    fn a_region_is_cut_out_and_its_faces_land_in_frame_pixels() {
        let frame = gradient(400, 200);
        let region = FrameRegion::new(100, 40, 200, 120);
        let view = FrameView::new(&frame, Some(region));
        assert_eq!((view.image.width, view.image.height), (200, 120));
        assert_eq!(
            view.to_frame,
            ToFrame {
                scale: 1.0,
                dx: 100.0,
                dy: 40.0
            }
        );
        // The view's first pixel is the region's corner in the frame.
        assert_eq!(view.image.pixel(0, 0), [25.0, 10.0, 7.0]);
        assert_eq!(view.image.pixel(199, 119), [74.0, 39.0, 7.0]);
        let mut face = face_at(10.0, 20.0, 50.0, 70.0);
        view.to_frame.place(&mut face);
        assert_eq!(
            (face.x1, face.y1, face.x2, face.y2),
            (110.0, 60.0, 150.0, 110.0)
        );
        assert_eq!(
            face.landmarks,
            [
                [110.0, 60.0],
                [150.0, 60.0],
                [110.0, 110.0],
                [150.0, 110.0],
                [130.0, 60.0]
            ]
        );
    }

    #[test]
    fn a_shrunk_region_is_scaled_then_moved() {
        let frame = gradient(400, 200);
        // 200 × 120 shrunk to 100 × 60: 2 frame pixels per analysed pixel.
        let view = FrameView::capped(&frame, Some(FrameRegion::new(100, 40, 200, 120)), 6000);
        assert_eq!((view.image.width, view.image.height), (100, 60));
        assert_eq!(
            view.to_frame,
            ToFrame {
                scale: 2.0,
                dx: 100.0,
                dy: 40.0
            }
        );
        let mut face = face_at(10.0, 20.0, 50.0, 70.0);
        view.to_frame.place(&mut face);
        assert_eq!(
            (face.x1, face.y1, face.x2, face.y2),
            (120.0, 80.0, 200.0, 180.0)
        );
        assert_eq!(face.landmarks[4], [160.0, 80.0]);
    }

    #[test]
    fn a_region_past_the_frame_is_cut_at_its_edges() {
        let frame = gradient(400, 200);
        let view = FrameView::new(&frame, Some(FrameRegion::new(350, 150, 100, 100)));
        assert_eq!((view.image.width, view.image.height), (50, 50));
        assert_eq!(view.to_frame.dx, 350.0);
        assert_eq!(view.to_frame.dy, 150.0);
        assert_eq!(
            FrameRegion::new(350, 150, 100, 100).within(400, 200),
            FrameRegion::new(350, 150, 50, 50)
        );
        let outside = FrameView::new(&frame, Some(FrameRegion::new(500, 300, 10, 10)));
        assert_eq!((outside.image.width, outside.image.height), (0, 0));
        assert_eq!(outside.to_frame.dx, 400.0);
        assert_eq!(
            FrameRegion::new(500, 300, 10, 10).within(400, 200),
            FrameRegion::new(400, 200, 0, 0)
        );
    }
}
