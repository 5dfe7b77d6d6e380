//! The rasteriser: strokes drawn as capsules on a supersampled grid, then
//! averaged down to 28 x 28 and binarised like the course files.

use rand::rngs::StdRng;

use super::SynthConfig;
use super::random::uniform;
use super::writer::Stroke;
use crate::{PIXELS, SIDE};

/// The image of `strokes` written with pen width `pen`: `PIXELS` values,
/// each exactly 0.0 or 1.0 (ink).
pub(super) fn rasterise(
    config: &SynthConfig,
    strokes: &[Stroke],
    pen: f64,
    rng: &mut StdRng,
) -> Vec<f32> {
    let ss = config.supersample.max(1);
    let grid = SIDE * ss;
    let mut cover = vec![false; grid * grid];
    let k = ss as f64;
    for stroke in strokes {
        let r = stroke.width * k / 2.0;
        let pts: Vec<[f64; 2]> = stroke.line.iter().map(|p| [p[0] * k, p[1] * k]).collect();
        let segs: Vec<[[f64; 2]; 2]> = if pts.len() == 1 {
            vec![[pts[0], pts[0]]]
        } else {
            pts.windows(2).map(|w| [w[0], w[1]]).collect()
        };
        for [a, b] in segs {
            capsule(&mut cover, grid, a, b, r);
        }
    }
    let threshold = uniform(rng, config.threshold_min, config.threshold_max) * pen.min(1.0);
    let need = (threshold * (ss * ss) as f64).ceil().max(1.0) as usize;
    let mut image = vec![0.0f32; PIXELS];
    for row in 0..SIDE {
        for col in 0..SIDE {
            let mut count = 0;
            for sy in 0..ss {
                let base = (row * ss + sy) * grid + col * ss;
                count += cover[base..base + ss].iter().filter(|&&c| c).count();
            }
            if count >= need {
                image[row * SIDE + col] = 1.0;
            }
        }
    }
    image
}

/// Sets every sub-pixel whose centre lies within `r` of the segment `a`-`b`.
fn capsule(cover: &mut [bool], grid: usize, a: [f64; 2], b: [f64; 2], r: f64) {
    let lo_x = (a[0].min(b[0]) - r - 0.5).floor().max(0.0) as usize;
    let lo_y = (a[1].min(b[1]) - r - 0.5).floor().max(0.0) as usize;
    let hi_x = (a[0].max(b[0]) + r + 0.5).ceil().min(grid as f64);
    let hi_y = (a[1].max(b[1]) + r + 0.5).ceil().min(grid as f64);
    if hi_x <= 0.0 || hi_y <= 0.0 {
        return;
    }
    let (hi_x, hi_y) = (hi_x as usize, hi_y as usize);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let r2 = r * r;
    for y in lo_y..hi_y {
        let py = y as f64 + 0.5;
        for x in lo_x..hi_x {
            let px = x as f64 + 0.5;
            let t = if len2 > 0.0 {
                (((px - a[0]) * dx + (py - a[1]) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (ex, ey) = (a[0] + t * dx - px, a[1] + t * dy - py);
            if ex * ex + ey * ey <= r2 {
                cover[y * grid + x] = true;
            }
        }
    }
}
