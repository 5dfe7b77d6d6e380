//! Size and position of the ink, made alike for every image.
//!
//! What a writer varies most is how big the character is and where it sits
//! in the box, far more than its shape. Normalising crops to the ink, scales
//! it with its aspect kept so that its longer side fills a fixed length,
//! and centres it (by its centre of mass, as handwriting recognisers do, or
//! by its bounding box). The same function turns a drawing of any size (a
//! canvas, a photo of a page) into a 28x28 input, so training, `predict`,
//! `eval` and a served model all see ink the same way.

mod dataset;

use serde::{Deserialize, Serialize};

use crate::{PIXELS, SIDE};

/// The course images' ink: the median longer side of the ink's bounding box
/// over the 6,240 shared images is 22 px of 28 (p5 17, p95 27), and its
/// centre of mass lies at the box centre (median 13.1, 13.3 of 0..27).
pub const COURSE_INK_SIDE: f32 = 22.0;

/// Which point of the ink goes to the centre of the 28x28 box.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Centre {
    /// The ink's centre of mass (robust to a long stroke on one side).
    #[default]
    Mass,
    /// The middle of the ink's bounding box.
    Box,
}

/// How ink is normalised.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormaliseConfig {
    /// Length, in pixels of the 28x28 result, that the ink's longer side is
    /// scaled to.
    pub ink_side: f32,
    /// What is centred.
    pub centre: Centre,
    /// Ink at or above this level becomes 1, below it 0, as in the course's
    /// 1-bit files; `None` keeps the grey levels of the resampling.
    pub threshold: Option<f32>,
}

impl Default for NormaliseConfig {
    /// Course-like ink: the course images' typical size, centred by mass,
    /// grey levels kept.
    fn default() -> Self {
        NormaliseConfig {
            ink_side: COURSE_INK_SIDE,
            centre: Centre::Mass,
            threshold: None,
        }
    }
}

impl NormaliseConfig {
    /// A drawing made to look like a course file: course size, 1-bit.
    pub fn course_like() -> Self {
        NormaliseConfig {
            threshold: Some(0.5),
            ..Self::default()
        }
    }

    /// The settings are usable: a positive ink side no larger than the box,
    /// a threshold inside (0, 1].
    pub fn check(&self) -> Result<(), String> {
        if !(self.ink_side >= 1.0 && self.ink_side <= SIDE as f32) {
            return Err(format!(
                "ink side {} is outside 1..={SIDE} pixels",
                self.ink_side
            ));
        }
        if let Some(t) = self.threshold
            && !(t > 0.0 && t <= 1.0)
        {
            return Err(format!("threshold {t} is outside (0, 1]"));
        }
        Ok(())
    }
}

/// A grey image of any size in the ink convention (ink = 1, paper = 0).
#[derive(Clone, Debug, PartialEq)]
pub struct InkImage {
    pub width: usize,
    pub height: usize,
    /// `width * height` values, row-major.
    pub pixels: Vec<f32>,
}

impl InkImage {
    /// A 28x28 image as the data set holds it.
    pub fn square(pixels: &[f32]) -> InkImage {
        assert_eq!(pixels.len(), PIXELS, "a data-set image has {PIXELS} pixels");
        InkImage {
            width: SIDE,
            height: SIDE,
            pixels: pixels.to_vec(),
        }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * self.width + x]
    }

    /// Bilinear sample at a continuous position (pixel centres at +0.5);
    /// outside the image is paper.
    pub(crate) fn sample(&self, x: f32, y: f32) -> f32 {
        self.sample_at(&Footing::new(x, self.width), &Footing::new(y, self.height))
    }

    /// [`sample`](Self::sample) where the footings along each axis are
    /// already worked out (a resampling reuses each row's and column's).
    /// Inlined: it is the inner loop of [`normalise`], which this crate's
    /// light optimisation level would otherwise leave as a call per sample.
    #[inline(always)]
    fn sample_at(&self, x: &Footing, y: &Footing) -> f32 {
        let get = |xi: Option<usize>, yi: Option<usize>| match (xi, yi) {
            (Some(xi), Some(yi)) => self.pixels[yi * self.width + xi],
            _ => 0.0,
        };
        let [x_near, x_far] = x.weights;
        let top = get(x.near, y.near) * x_near + get(x.far, y.near) * x_far;
        let bottom = get(x.near, y.far) * x_near + get(x.far, y.far) * x_far;
        top * y.weights[0] + bottom * y.weights[1]
    }
}

/// Where a bilinear sample stands along one axis: the pixels either side
/// of the position (`None` off the image, where it reads paper) and their
/// weights.
#[derive(Clone, Copy, Debug)]
struct Footing {
    near: Option<usize>,
    far: Option<usize>,
    weights: [f32; 2],
}

impl Footing {
    /// At continuous position `p` on an axis of `len` pixels.
    fn new(p: f32, len: usize) -> Footing {
        let shifted = p - 0.5;
        let near = floor(shifted);
        let t = shifted - near;
        let index = |i: f32| (i >= 0.0 && i < len as f32).then_some(i as usize);
        Footing {
            near: index(near),
            far: index(near + 1.0),
            weights: [1.0 - t, t],
        }
    }
}

/// `x.floor()` without a call into libm: baseline x86-64 has no rounding
/// instruction, and the augmentations' resampling floors twice per sample.
/// Exact wherever `x` fits an `i32`; past that every sample
/// is off the image and reads paper either way.
fn floor(x: f32) -> f32 {
    let truncated = x as i32 as f32;
    if truncated > x {
        truncated - 1.0
    } else {
        truncated
    }
}

/// Where the ink is: its bounding box (continuous, edges of pixels) and its
/// centre of mass, or `None` for a blank image.
#[derive(Clone, Copy, Debug, PartialEq)]
struct InkExtent {
    left: f32,
    top: f32,
    right: f32,
    bottom: f32,
    mass_x: f32,
    mass_y: f32,
}

/// Grey levels below this are paper: the faint halo of a scanned or
/// anti-aliased stroke must not stretch the bounding box.
const INK_LEVEL: f32 = 0.1;

fn ink_extent(image: &InkImage) -> Option<InkExtent> {
    let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
    let (mut mass, mut sum_x, mut sum_y) = (0.0f64, 0.0f64, 0.0f64);
    for y in 0..image.height {
        for x in 0..image.width {
            let v = image.at(x, y);
            if v < INK_LEVEL {
                continue;
            }
            left = left.min(x);
            right = right.max(x);
            top = top.min(y);
            bottom = bottom.max(y);
            mass += v as f64;
            sum_x += v as f64 * (x as f64 + 0.5);
            sum_y += v as f64 * (y as f64 + 0.5);
        }
    }
    (mass > 0.0).then(|| InkExtent {
        left: left as f32,
        top: top as f32,
        right: right as f32 + 1.0,
        bottom: bottom as f32 + 1.0,
        mass_x: (sum_x / mass) as f32,
        mass_y: (sum_y / mass) as f32,
    })
}

/// Normalises the ink of `image` into a 28x28 image (`PIXELS` values).
/// A blank image stays blank.
pub fn normalise(image: &InkImage, config: &NormaliseConfig) -> Vec<f32> {
    let Some(ink) = ink_extent(image) else {
        return vec![0.0; PIXELS];
    };
    let longer = (ink.right - ink.left).max(ink.bottom - ink.top);
    let scale = config.ink_side / longer;
    let (cx, cy) = match config.centre {
        Centre::Mass => (ink.mass_x, ink.mass_y),
        Centre::Box => ((ink.left + ink.right) / 2.0, (ink.top + ink.bottom) / 2.0),
    };
    // Where the source point (cx, cy) lands, kept so that the scaled ink
    // stays inside the box even when its mass sits far off its middle.
    let land_x = keep_inside((ink.left - cx) * scale, (ink.right - cx) * scale);
    let land_y = keep_inside((ink.top - cy) * scale, (ink.bottom - cy) * scale);
    // Each output pixel averages `taps` x `taps` bilinear samples spread over
    // the source area it covers, so that shrinking a large drawing does not
    // alias its strokes away.
    let taps = (1.0 / scale).ceil().clamp(2.0, 16.0) as usize;
    // Where every tap stands in the source, one row and one column's worth
    // (they are separable), worked out once instead of per sample.
    let source = |centre: f32, land: f32, len: usize| -> Vec<Footing> {
        (0..SIDE * taps)
            .map(|k| {
                let p = (k / taps) as f32 + ((k % taps) as f32 + 0.5) / taps as f32;
                Footing::new(centre + (p - land) / scale, len)
            })
            .collect()
    };
    let xs = source(cx, land_x, image.width);
    let ys = source(cy, land_y, image.height);
    let mut out = vec![0.0f32; PIXELS];
    for (i, value) in out.iter_mut().enumerate() {
        let (ox, oy) = (i % SIDE, i / SIDE);
        let mut sum = 0.0;
        for sy in &ys[oy * taps..(oy + 1) * taps] {
            for sx in &xs[ox * taps..(ox + 1) * taps] {
                sum += image.sample_at(sx, sy);
            }
        }
        let grey = (sum / (taps * taps) as f32).clamp(0.0, 1.0);
        *value = match config.threshold {
            Some(t) => (grey >= t) as u8 as f32,
            None => grey,
        };
    }
    out
}

/// The output coordinate for the centre point: the box's middle, moved just
/// enough that the ink's span `[low, high]` around it (scaled, relative to
/// it; never longer than the box) lies within `0..SIDE`.
fn keep_inside(low: f32, high: f32) -> f32 {
    let side = SIDE as f32;
    (side / 2.0).max(-low).min(side - high)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(width: usize, height: usize) -> InkImage {
        InkImage {
            width,
            height,
            pixels: vec![0.0; width * height],
        }
    }

    fn fill(image: &mut InkImage, x0: usize, y0: usize, x1: usize, y1: usize) {
        for y in y0..y1 {
            for x in x0..x1 {
                image.pixels[y * image.width + x] = 1.0;
            }
        }
    }

    fn extent_of(pixels: &[f32]) -> InkExtent {
        ink_extent(&InkImage::square(pixels)).expect("ink")
    }

    #[test]
    fn a_small_off_centre_square_is_scaled_and_centred() {
        let mut image = blank(SIDE, SIDE);
        fill(&mut image, 2, 3, 8, 9); // 6x6 in the top-left corner
        let config = NormaliseConfig {
            ink_side: 20.0,
            centre: Centre::Box,
            threshold: Some(0.5),
        };
        let e = extent_of(&normalise(&image, &config));
        assert_eq!((e.right - e.left, e.bottom - e.top), (20.0, 20.0));
        assert_eq!((e.left, e.top), (4.0, 4.0));
    }

    #[test]
    fn a_large_drawing_shrinks_to_the_ink_side_with_its_aspect() {
        let mut image = blank(280, 280);
        fill(&mut image, 100, 40, 160, 240); // 60 wide, 200 high
        let out = normalise(&image, &NormaliseConfig::course_like());
        let e = extent_of(&out);
        assert_eq!(e.bottom - e.top, 22.0);
        let width = e.right - e.left;
        assert!((6.0..=8.0).contains(&width), "aspect kept: width {width}");
        assert!(out.iter().all(|&v| v == 0.0 || v == 1.0), "1-bit");
    }

    #[test]
    fn centring_by_mass_puts_the_mass_in_the_middle() {
        let mut image = blank(100, 100);
        fill(&mut image, 10, 10, 60, 20); // a heavy bar on top
        fill(&mut image, 10, 20, 14, 40); // a thin leg on the left
        let out = normalise(&image, &NormaliseConfig::default());
        let e = extent_of(&out);
        assert!((e.mass_x - 14.0).abs() < 0.6, "mass x {}", e.mass_x);
        assert!((e.mass_y - 14.0).abs() < 0.6, "mass y {}", e.mass_y);
    }

    #[test]
    fn ink_whose_mass_is_far_off_its_middle_is_moved_back_inside_the_box() {
        let mut image = blank(50, 50);
        fill(&mut image, 0, 0, 50, 10); // a wide heavy bar
        fill(&mut image, 0, 10, 2, 50); // a long thin leg
        let config = NormaliseConfig {
            ink_side: 26.0,
            ..NormaliseConfig::default()
        };
        let out = normalise(&image, &config);
        // Centred by mass, the leg would hang 8 px below the box; kept
        // inside, all the ink (580 px at a scale of 26/50) is there.
        let expected = 580.0 * (26.0f32 / 50.0).powi(2);
        let kept: f32 = out.iter().sum();
        assert!((kept / expected - 1.0).abs() < 0.03, "{kept} of {expected}");
    }

    #[test]
    fn a_course_sized_centred_character_is_left_as_it_is() {
        let mut image = blank(SIDE, SIDE);
        fill(&mut image, 9, 3, 19, 25); // 10 x 22, mass at the centre
        let out = normalise(&image, &NormaliseConfig::course_like());
        assert_eq!(out, image.pixels);
    }

    #[test]
    fn floor_is_the_standard_floor() {
        let values = (-4000..4000).map(|i| i as f32 / 64.0);
        let edges = [
            -0.0,
            0.0,
            -1.0,
            1.0,
            -1e-7,
            1e-7,
            0.999_999_9,
            -0.999_999_9,
            1e9,
            -1e9,
        ];
        for x in values.chain(edges) {
            assert_eq!(floor(x), x.floor(), "{x}");
        }
    }

    #[test]
    fn a_blank_image_stays_blank_and_bad_settings_are_refused() {
        let out = normalise(&blank(40, 30), &NormaliseConfig::default());
        assert_eq!(out, vec![0.0; PIXELS]);
        let with_side = |ink_side| NormaliseConfig {
            ink_side,
            ..NormaliseConfig::default()
        };
        assert!(with_side(0.0).check().is_err());
        assert!(with_side(29.0).check().is_err());
        let bad_threshold = NormaliseConfig {
            threshold: Some(1.5),
            ..NormaliseConfig::default()
        };
        assert!(bad_threshold.check().unwrap_err().contains("threshold"));
        assert!(NormaliseConfig::course_like().check().is_ok());
    }
}
