//! Distortions that match how people write the same character differently:
//! a slightly turned, slanted, wider or taller hand, a thicker or thinner
//! pen, and a wobbly stroke. One random draw of each per image, on the fly.
//!
//! The wobble is Simard, Steinkraus and Platt's elastic distortion (2003,
//! "Best practices for convolutional neural networks applied to visual
//! document analysis"): every pixel gets a random displacement in
//! `[-1, 1]^2`, the field is smoothed by a Gaussian of width `sigma` and
//! scaled by `alpha`, and the image is resampled through it.

use burn::config::Config;
use rand::RngExt;
use rand::rngs::StdRng;

use crate::normalise::InkImage;
use crate::{PIXELS, SIDE};

/// How far the hand distortions go. Each image draws every amount
/// uniformly between minus and plus its limit.
#[derive(Config, Debug, PartialEq)]
pub struct HandwritingConfig {
    /// Largest rotation, degrees.
    #[config(default = 8.0)]
    pub rotation_deg: f32,
    /// Largest horizontal shear (slant): x moves by `shear` times the
    /// vertical distance from the ink's centre.
    #[config(default = 0.2)]
    pub shear: f32,
    /// Largest relative change of the width, and, drawn apart, of the height
    /// (so the aspect changes too).
    #[config(default = 0.1)]
    pub scale: f32,
    /// Largest change of stroke thickness, as a share of a one-pixel
    /// dilation (thicker) or erosion (thinner); 0 keeps the pen.
    #[config(default = 0.3)]
    pub thickness: f32,
    /// Strength of the elastic distortion, px (Simard et al. used 34 on
    /// MNIST digits; these characters have more, closer strokes).
    #[config(default = 20.0)]
    pub elastic_alpha: f32,
    /// Smoothness of the elastic distortion: the Gaussian's standard
    /// deviation, px.
    #[config(default = 4.0)]
    pub elastic_sigma: f32,
}

impl HandwritingConfig {
    /// The settings are usable: no negative limit, a thickness within a
    /// whole pixel, a positive smoothness.
    pub fn check(&self) -> Result<(), String> {
        let limits = [
            ("rotation_deg", self.rotation_deg, 45.0),
            ("shear", self.shear, 1.0),
            ("scale", self.scale, 0.5),
            ("thickness", self.thickness, 1.0),
            ("elastic_alpha", self.elastic_alpha, 100.0),
        ];
        for (name, value, max) in limits {
            if !(0.0..=max).contains(&value) {
                return Err(format!("handwriting {name} {value} is outside 0..={max}"));
            }
        }
        if !(self.elastic_sigma > 0.0 && self.elastic_sigma <= SIDE as f32) {
            return Err(format!(
                "handwriting elastic_sigma {} is outside (0, {SIDE}]",
                self.elastic_sigma
            ));
        }
        Ok(())
    }
}

/// `image` (row-major `SIDE` x `SIDE`, 0.0 = paper) as another hand might
/// have written it: thickness first, then one resampling through the
/// affine map and the elastic field together, so the strokes are blurred
/// once. Ink that the distortion carries outside the box is lost.
pub fn distort(image: &[f32], config: &HandwritingConfig, rng: &mut StdRng) -> Vec<f32> {
    let thickness = symmetric(rng, config.thickness);
    let source = InkImage {
        width: SIDE,
        height: SIDE,
        pixels: thicken(image, thickness),
    };
    let hand = Hand::draw(config, centre_of_mass(image), rng);
    let field = elastic_field(config.elastic_alpha, config.elastic_sigma, rng);
    let mut out = vec![0.0; PIXELS];
    for (i, value) in out.iter_mut().enumerate() {
        let (x, y) = ((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
        let (dx, dy) = field.as_ref().map_or((0.0, 0.0), |f| (f[0][i], f[1][i]));
        let [sx, sy] = hand.source_of([x + dx, y + dy]);
        *value = source.sample(sx, sy);
    }
    out
}

/// A uniform draw from `-limit..limit`; 0, drawing nothing, when `limit` is 0.
fn symmetric(rng: &mut StdRng, limit: f32) -> f32 {
    if limit > 0.0 {
        rng.random_range(-limit..limit)
    } else {
        0.0
    }
}

/// The ink's centre of mass, in pixel coordinates (pixel centres at +0.5);
/// the box's centre for a blank image.
fn centre_of_mass(image: &[f32]) -> [f32; 2] {
    let (mut mass, mut sx, mut sy) = (0.0f32, 0.0f32, 0.0f32);
    for (i, &v) in image.iter().enumerate() {
        mass += v;
        sx += v * ((i % SIDE) as f32 + 0.5);
        sy += v * ((i / SIDE) as f32 + 0.5);
    }
    if mass > 0.0 {
        [sx / mass, sy / mass]
    } else {
        [SIDE as f32 / 2.0; 2]
    }
}

// --- Pen: stroke thickness ---------------------------------------------------

/// `amount` (-1 to 1) of the way to the image dilated (> 0) or eroded (< 0)
/// by one pixel with a plus-shaped neighbourhood. Grey levels in between
/// give thickness changes of less than a pixel; an erosion of a stroke one
/// pixel wide fades it rather than cutting it.
fn thicken(image: &[f32], amount: f32) -> Vec<f32> {
    if amount == 0.0 {
        return image.to_vec();
    }
    let pick: fn(f32, f32) -> f32 = if amount > 0.0 { f32::max } else { f32::min };
    let at = |x: isize, y: isize| {
        let inside = (0..SIDE as isize).contains(&x) && (0..SIDE as isize).contains(&y);
        if inside {
            image[y as usize * SIDE + x as usize]
        } else {
            0.0
        }
    };
    (0..PIXELS)
        .map(|i| {
            let (x, y) = ((i % SIDE) as isize, (i / SIDE) as isize);
            let morphed = [(1, 0), (-1, 0), (0, 1), (0, -1)]
                .iter()
                .fold(image[i], |m, &(dx, dy)| pick(m, at(x + dx, y + dy)));
            image[i] + amount.abs() * (morphed - image[i])
        })
        .collect()
}

// --- Hand: rotation, shear and scale -------------------------------------------

/// The affine part of a distortion, about the ink's centre of mass: stored
/// as its inverse, since the output is made by looking up where each of its
/// pixels comes from.
struct Hand {
    centre: [f32; 2],
    /// Row-major 2x2 inverse of rotation * shear * scale.
    inverse: [f32; 4],
}

impl Hand {
    fn draw(config: &HandwritingConfig, centre: [f32; 2], rng: &mut StdRng) -> Hand {
        let angle = symmetric(rng, config.rotation_deg).to_radians();
        let shear = symmetric(rng, config.shear);
        let sx = 1.0 + symmetric(rng, config.scale);
        let sy = 1.0 + symmetric(rng, config.scale);
        Hand::new(centre, angle, shear, [sx, sy])
    }

    /// Rotation by `angle` (radians) after a shear after a scale by `[sx, sy]`, about `centre`.
    fn new(centre: [f32; 2], angle: f32, shear: f32, [sx, sy]: [f32; 2]) -> Hand {
        let (sin, cos) = angle.sin_cos();
        // Forward map R * K * S, with K = [[1, shear], [0, 1]].
        let forward = [
            cos * sx,
            (cos * shear - sin) * sy,
            sin * sx,
            (sin * shear + cos) * sy,
        ];
        let det = forward[0] * forward[3] - forward[1] * forward[2];
        let inverse = [
            forward[3] / det,
            -forward[1] / det,
            -forward[2] / det,
            forward[0] / det,
        ];
        Hand { centre, inverse }
    }

    /// Where the output point `p` is taken from in the source.
    fn source_of(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        let (dx, dy) = (x - self.centre[0], y - self.centre[1]);
        let m = &self.inverse;
        [
            self.centre[0] + m[0] * dx + m[1] * dy,
            self.centre[1] + m[2] * dx + m[3] * dy,
        ]
    }
}

// --- Wobble: the elastic field ---------------------------------------------------

/// Simard's displacement field, x and y, one value per pixel: uniform noise
/// in [-1, 1] smoothed by a Gaussian of `sigma` px and scaled by `alpha`;
/// `None` (drawing nothing) when `alpha` is 0.
fn elastic_field(alpha: f32, sigma: f32, rng: &mut StdRng) -> Option<[Vec<f32>; 2]> {
    if alpha <= 0.0 {
        return None;
    }
    let kernel = gaussian_kernel(sigma);
    Some(std::array::from_fn(|_| {
        let noise: Vec<f32> = (0..PIXELS).map(|_| rng.random_range(-1.0..=1.0)).collect();
        let smooth = blur(&noise, &kernel);
        smooth.into_iter().map(|v| alpha * v).collect()
    }))
}

/// A normalised Gaussian of `sigma` over -3 sigma..=3 sigma (at most the box).
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = ((3.0 * sigma).ceil() as usize).min(SIDE);
    let weights: Vec<f32> = (0..=2 * radius)
        .map(|k| {
            let d = k as f32 - radius as f32;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f32 = weights.iter().sum();
    weights.into_iter().map(|w| w / sum).collect()
}

/// `field` convolved with `kernel` along rows, then along columns; outside
/// the box the field is zero (as in Simard's convolution).
fn blur(field: &[f32], kernel: &[f32]) -> Vec<f32> {
    let radius = (kernel.len() / 2) as isize;
    let pass = |input: &[f32], step: (isize, isize)| -> Vec<f32> {
        (0..PIXELS)
            .map(|i| {
                let (x, y) = ((i % SIDE) as isize, (i / SIDE) as isize);
                kernel
                    .iter()
                    .enumerate()
                    .map(|(k, w)| {
                        let off = k as isize - radius;
                        let (sx, sy) = (x + off * step.0, y + off * step.1);
                        let inside =
                            (0..SIDE as isize).contains(&sx) && (0..SIDE as isize).contains(&sy);
                        if inside {
                            w * input[sy as usize * SIDE + sx as usize]
                        } else {
                            0.0
                        }
                    })
                    .sum()
            })
            .collect()
    };
    pass(&pass(field, (1, 0)), (0, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthConfig, render};
    use rand::SeedableRng;

    fn mass(image: &[f32]) -> f32 {
        image.iter().sum()
    }

    /// No distortion at all: every limit 0.
    fn still() -> HandwritingConfig {
        HandwritingConfig::new()
            .with_rotation_deg(0.0)
            .with_shear(0.0)
            .with_scale(0.0)
            .with_thickness(0.0)
            .with_elastic_alpha(0.0)
    }

    fn character(n: usize) -> Vec<f32> {
        render(&SynthConfig::new(), n % 12, 1, n)
    }

    #[test]
    fn same_generator_same_image_other_generator_other_image() {
        let config = HandwritingConfig::new();
        let image = character(3);
        let a = distort(&image, &config, &mut StdRng::seed_from_u64(5));
        assert_eq!(a, distort(&image, &config, &mut StdRng::seed_from_u64(5)));
        assert_ne!(a, distort(&image, &config, &mut StdRng::seed_from_u64(6)));
        assert_ne!(a, image);
    }

    #[test]
    fn no_distortion_leaves_the_image() {
        let image = character(4);
        let out = distort(&image, &still(), &mut StdRng::seed_from_u64(1));
        for (a, b) in out.iter().zip(&image) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    /// Over many characters and draws of the default limits, the ink stays
    /// about as much as it was on average (nothing carried out of the box),
    /// no image loses or gains more than the pen and the scale account for
    /// (on the real images: 0.56x to 1.86x, median 0.99x), and every value
    /// stays in 0..=1.
    #[test]
    fn ink_is_kept_roughly_and_inside_the_box() {
        let config = HandwritingConfig::new();
        let mut rng = StdRng::seed_from_u64(9);
        let (mut before, mut after) = (0.0, 0.0);
        for n in 0..60 {
            let image = character(n);
            let out = distort(&image, &config, &mut rng);
            assert_eq!(out.len(), PIXELS);
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
            let ratio = mass(&out) / mass(&image);
            assert!((0.45..=2.0).contains(&ratio), "sample {n}: ink x{ratio}");
            before += mass(&image);
            after += mass(&out);
        }
        let ratio = after / before;
        assert!((0.9..=1.1).contains(&ratio), "mean ink x{ratio}");
    }

    #[test]
    fn thickening_adds_ink_thinning_fades_without_cutting() {
        let mut line = vec![0.0; PIXELS];
        line[14 * SIDE + 5..14 * SIDE + 20].fill(1.0); // one pixel wide
        let thick = thicken(&line, 0.5);
        assert!((mass(&thick) - (15.0 + 0.5 * 32.0)).abs() < 1e-4);
        let thin = thicken(&line, -0.3);
        assert!(thin[14 * SIDE + 10] > 0.6, "the middle of the line stays");
        assert!(mass(&thin) < mass(&line));
    }

    #[test]
    fn the_hand_turns_and_slants_about_the_centre() {
        let centre = [13.0, 15.0];
        let turn = Hand::new(centre, 0.3, 0.0, [1.0, 1.0]);
        assert_eq!(turn.source_of(centre), centre);
        // A turn keeps distances from the centre.
        let [x, y] = turn.source_of([20.0, 15.0]);
        assert!(((x - 13.0).hypot(y - 15.0) - 7.0).abs() < 1e-4);
        assert!(y < 15.0, "turned clockwise on screen, so taken from above");
        // A slant moves points above the centre sideways, in proportion to
        // their height: (11, 11) is taken from straight above the centre.
        let slant = Hand::new(centre, 0.0, 0.5, [1.0, 1.0]);
        let [x, y] = slant.source_of([13.0 - 2.0, 11.0]);
        assert!((x - 13.0).abs() < 1e-4 && (y - 11.0).abs() < 1e-4);
    }

    /// Simard's field: displacements of about a pixel, smooth (neighbours
    /// move alike), from the generator alone.
    #[test]
    fn the_elastic_field_is_smooth_and_about_a_pixel() {
        let field = elastic_field(20.0, 4.0, &mut StdRng::seed_from_u64(2)).unwrap();
        let rms = |v: &mut dyn Iterator<Item = f32>| {
            let (sum, n) = v.fold((0.0, 0), |(s, n), x| (s + x * x, n + 1));
            (sum / n as f32).sqrt()
        };
        let size = rms(&mut field[0].iter().chain(&field[1]).copied());
        assert!((0.3..=3.0).contains(&size), "rms displacement {size}");
        let along_rows = (0..PIXELS).filter(|i| i % SIDE != SIDE - 1);
        let step = rms(&mut along_rows.map(|i| field[0][i + 1] - field[0][i]));
        assert!(step < 0.3 * size, "neighbours differ by {step}");
        assert!(elastic_field(0.0, 4.0, &mut StdRng::seed_from_u64(2)).is_none());
        let again = elastic_field(20.0, 4.0, &mut StdRng::seed_from_u64(2)).unwrap();
        assert_eq!(field, again);
    }

    #[test]
    fn bad_limits_are_refused_by_name() {
        assert!(HandwritingConfig::new().check().is_ok());
        assert!(still().check().is_ok());
        let err = HandwritingConfig::new()
            .with_shear(-0.1)
            .check()
            .unwrap_err();
        assert!(err.contains("shear"), "{err}");
        let err = HandwritingConfig::new()
            .with_elastic_sigma(0.0)
            .check()
            .unwrap_err();
        assert!(err.contains("elastic_sigma"), "{err}");
    }
}
