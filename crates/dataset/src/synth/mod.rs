//! Built-in synthetic handwriting: the twelve characters drawn by random
//! "writers" from the stroke centre-lines of the Make Me a Hanzi data (see
//! `data/hanzi-strokes/README.md`, embedded in the binary), so that a network
//! can be trained with no course data at all.
//!
//! Each sample gets its own writer, who
//! - writes either the font's form of the character or, for 切, a print-style
//!   form drawn for this project ([`SynthConfig::variant_prob`]);
//! - un-calligraphs the Kaiti font: drops the brush's entry ticks, turns
//!   nearly level and upright segments towards level and upright, gives the
//!   two halves of 切 and 博 similar heights and keeps the right half out of
//!   the left;
//! - moves and stretches the radical and the rest of the character apart;
//! - jitters every stroke: shift, scale, turn, bend, longer or shorter ends,
//!   wobbling points; sometimes joins strokes without lifting the pen;
//! - warps the whole smoothly (elastic distortion), then applies a global
//!   affine map (aspect, shear, rotation), a size and an offset;
//! - draws the strokes with a diamond pen of its own width straight onto the
//!   28 x 28 grid (see `raster`): every pixel is exactly 0.0 or 1.0, ink = 1.0.
//!
//! Every number is a field of [`SynthConfig`]. The defaults were tuned against
//! the 6,240 real images (statistics over 260 samples per class of each):
//!
//! | statistic (mean, [5 %, 95 %])       | real                 | synthetic            |
//! |-------------------------------------|----------------------|----------------------|
//! | ink fraction                        | 0.113 [0.077, 0.165] | 0.129 [0.087, 0.182] |
//! | bounding-box width, px              | 19.6 [13, 26]        | 20.3 [14, 27]        |
//! | bounding-box height, px             | 21.0 [16, 27]        | 21.1 [16, 27]        |
//! | bounding-box centre (x, y), px      | (12.9, 13.3)         | (13.0, 13.3)         |
//! | stroke width (4 area/perimeter), px | 1.9 [1.7, 2.1]       | 2.1 [1.7, 2.7]       |
//! | ink pixels in a 2 x 2 block of ink  | 0.08 [0.00, 0.22]    | 0.35 [0.00, 0.70]    |
//!
//! The course's strokes are one pixel wide with few exceptions; the writers'
//! pens range from that to about two pixels ([`SynthConfig::width_max`]): a
//! network trained on one-pixel strokes alone reads the real images less
//! well than one that has seen many widths.
//!
//! A small CNN (two convolutions) trained on 12,000 synthetic images alone
//! reads about 95 % of the real ones.
//!
//! A sample's random numbers come from `(seed, class, n)` alone, so any item can
//! be rendered by itself, in any order, on any thread, and the same seed always
//! gives the same images.
//!
//! One part per file: [`SynthConfig`] (`config`), the data set
//! ([`SyntheticHanzi12`], `synthetic`), the stroke data (`glyphs`), the
//! random draws (`random`), plane geometry (`geometry`), the writer's six
//! stages (`writer`) and the rasteriser (`raster`).

mod config;
mod geometry;
mod glyphs;
mod random;
mod raster;
mod synthetic;
mod writer;

pub use config::SynthConfig;
pub use synthetic::SyntheticHanzi12;

use rand::RngExt;

use crate::NUM_CLASSES;

/// Renders sample `n` of class `class` (0..12) for `seed`: `PIXELS` values in
/// row-major order, each exactly 0.0 or 1.0 (ink). Depends on nothing but its
/// arguments.
pub fn render(config: &SynthConfig, class: usize, seed: u64, n: usize) -> Vec<f32> {
    assert!(class < NUM_CLASSES, "class {class} out of range");
    let mut rng = random::sample_rng(seed, class, n);
    let forms = &glyphs::glyphs()[class];
    let form = if forms.len() > 1 && rng.random_bool(config.variant_prob.clamp(0.0, 1.0)) {
        &forms[rng.random_range(1..forms.len())]
    } else {
        &forms[0]
    };
    raster::rasterise(&writer::write_glyph(config, form, &mut rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PIXELS, SIDE};

    fn ink(image: &[f32]) -> f64 {
        image.iter().map(|&v| f64::from(v)).sum::<f64>() / PIXELS as f64
    }

    /// FNV-1a over the pixels of the images of a few seeds, classes and
    /// samples: a fingerprint of exactly what the writers draw.
    fn fingerprint(config: &SynthConfig) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for seed in [0, 7, 2024] {
            for class in 0..NUM_CLASSES {
                for n in [1, 2, 99] {
                    for v in render(config, class, seed, n) {
                        for byte in v.to_bits().to_le_bytes() {
                            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                        }
                    }
                }
            }
        }
        hash
    }

    /// The writers draw exactly what they drew when these numbers were taken:
    /// a refactoring that changes one pixel of one image fails here. Cursive
    /// joins and the print-style form are forced on in the second config so
    /// that every stage draws.
    #[test]
    fn rendered_images_are_pinned() {
        let all_stages = SynthConfig::new()
            .with_ligature_prob(1.0)
            .with_variant_prob(1.0);
        let got = [
            fingerprint(&SynthConfig::new()),
            fingerprint(&all_stages),
            fingerprint(&SynthConfig::plain()),
        ];
        assert_eq!(
            got,
            [
                0x8687_fe77_14b6_3075,
                0x7cbd_bf1c_74be_6c85,
                0xd186_3b26_e08e_8d05,
            ]
        );
    }

    #[test]
    fn same_seed_same_images_other_seed_other_images() {
        let config = SynthConfig::new();
        for class in 0..NUM_CLASSES {
            let a = render(&config, class, 7, 3);
            assert_eq!(a, render(&config, class, 7, 3), "class {class}");
            assert_ne!(a, render(&config, class, 8, 3), "class {class}");
            assert_ne!(a, render(&config, class, 7, 4), "class {class}");
        }
    }

    /// Pixels are exactly 0 or 1; every class has ink, within the range the
    /// real data spans (3.7 % to 29 % of the pixels; mean 11 %).
    #[test]
    fn binary_images_with_real_ink_fractions() {
        let config = SynthConfig::new();
        let mut all = 0.0;
        for class in 0..NUM_CLASSES {
            let mut sum = 0.0;
            for n in 1..=40 {
                let image = render(&config, class, 3, n);
                assert_eq!(image.len(), PIXELS);
                assert!(image.iter().all(|&v| v == 0.0 || v == 1.0));
                let f = ink(&image);
                assert!((0.02..=0.30).contains(&f), "class {class} n {n}: ink {f}");
                sum += f;
            }
            let mean = sum / 40.0;
            assert!(
                (0.06..=0.20).contains(&mean),
                "class {class}: mean ink {mean}"
            );
            all += mean;
        }
        let mean = all / NUM_CLASSES as f64;
        assert!((0.09..=0.14).contains(&mean), "mean ink {mean}");
    }

    /// The glyph's bounding box is about as large as in the real data (mean
    /// sides 19.6 x 21.0 px) and sits near the centre.
    #[test]
    fn glyph_size_and_position_like_real_data() {
        let config = SynthConfig::new();
        let (mut w, mut h, mut cx, mut cy, mut count) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for class in 0..NUM_CLASSES {
            for n in 1..=20 {
                let image = render(&config, class, 5, n);
                let (mut r0, mut r1, mut c0, mut c1) = (SIDE, 0, SIDE, 0);
                for (i, _) in image.iter().enumerate().filter(|(_, v)| **v > 0.5) {
                    let (r, c) = (i / SIDE, i % SIDE);
                    (r0, r1, c0, c1) = (r0.min(r), r1.max(r), c0.min(c), c1.max(c));
                }
                w += (c1 - c0 + 1) as f64;
                h += (r1 - r0 + 1) as f64;
                cx += (c0 + c1) as f64 / 2.0;
                cy += (r0 + r1) as f64 / 2.0;
                count += 1.0;
            }
        }
        let (w, h, cx, cy) = (w / count, h / count, cx / count, cy / count);
        assert!((17.0..=23.0).contains(&w), "width {w}");
        assert!((18.0..=24.0).contains(&h), "height {h}");
        assert!((12.0..=14.0).contains(&cx), "centre x {cx}");
        assert!((12.3..=14.3).contains(&cy), "centre y {cy}");
    }

    #[test]
    fn plain_writer_draws_the_font() {
        // No randomness but the pen: the glyph is the font's, centred.
        let config = SynthConfig::plain();
        let a = render(&config, 9, 1, 1);
        let b = render(&config, 9, 2, 2);
        // Only the pen width differs: the same pixels, give or take
        // the edges of the strokes.
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert!(differ < 60, "{differ} pixels differ");
        assert!(ink(&a) > 0.05);
    }
}
