//! The rasteriser: strokes drawn with a diamond-shaped pen straight onto the
//! 28 x 28 grid, like a drawing program's line tool.
//!
//! The course files were drawn that way: their strokes are one pixel wide,
//! with 8-connected diagonals (only 1.5 % of their ink pixels, median over
//! the 6,240 images, belong to a 2 x 2 block of ink). A pixel is ink when its
//! centre lies within half the pen's width of the centre-line, measured in
//! the L1 (diamond) norm: for a width of 1 that is one pixel per step along
//! the line's major axis, as Bresenham's algorithm draws; wider pens thicken
//! the line by whole pixels here and there.

use super::writer::Stroke;
use crate::{PIXELS, SIDE};

/// The image of `strokes`: `PIXELS` values, each exactly 0.0 or 1.0 (ink).
/// Pixel (row, col) has its centre at (col + 0.5, row + 0.5).
pub(super) fn rasterise(strokes: &[Stroke]) -> Vec<f32> {
    let mut image = vec![0.0f32; PIXELS];
    for stroke in strokes {
        // A narrower pen would miss the pixels either side of a line that
        // runs along their border, breaking it up.
        let r = (stroke.width / 2.0).max(0.5);
        let line = &stroke.line;
        if line.len() == 1 {
            stamp(&mut image, line[0], line[0], r);
        }
        for w in line.windows(2) {
            stamp(&mut image, w[0], w[1], r);
        }
    }
    image
}

/// Inks every pixel whose centre lies within L1 distance `r` of the segment
/// `a`-`b`.
fn stamp(image: &mut [f32], a: [f64; 2], b: [f64; 2], r: f64) {
    let range = |lo: f64, hi: f64| {
        let lo = (lo - r - 0.5).floor().max(0.0) as usize;
        let hi = (hi + r + 0.5).ceil().clamp(0.0, SIDE as f64) as usize;
        lo..hi
    };
    for row in range(a[1].min(b[1]), a[1].max(b[1])) {
        for col in range(a[0].min(b[0]), a[0].max(b[0])) {
            let p = [col as f64 + 0.5, row as f64 + 0.5];
            if l1_distance(p, a, b) <= r {
                image[row * SIDE + col] = 1.0;
            }
        }
    }
}

/// The L1 distance from `p` to the segment `a`-`b`. Along the segment it is
/// convex and piecewise linear in the position, so its minimum lies at an
/// end or where the segment crosses p's row or column.
fn l1_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let at = |t: f64| (p[0] - a[0] - t * d[0]).abs() + (p[1] - a[1] - t * d[1]).abs();
    let mut best = at(0.0).min(at(1.0));
    for axis in 0..2 {
        if d[axis] != 0.0 {
            let t = (p[axis] - a[axis]) / d[axis];
            if (0.0..=1.0).contains(&t) {
                best = best.min(at(t));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(line: &[[f64; 2]], width: f64) -> Vec<f32> {
        rasterise(&[Stroke {
            line: line.to_vec(),
            width,
        }])
    }

    fn ink_in_row(image: &[f32], row: usize) -> usize {
        image[row * SIDE..(row + 1) * SIDE]
            .iter()
            .filter(|&&v| v == 1.0)
            .count()
    }

    #[test]
    fn distance_is_l1_to_the_nearest_point() {
        let (a, b) = ([0.0, 0.0], [4.0, 2.0]);
        assert_eq!(l1_distance([2.0, 1.0], a, b), 0.0);
        // Straight up to (2, 1) is 1.5; the ends are further.
        assert!((l1_distance([2.0, 2.5], a, b) - 1.5).abs() < 1e-12);
        assert!((l1_distance([-1.0, -1.0], a, b) - 2.0).abs() < 1e-12);
        assert!((l1_distance([5.0, 2.5], a, b) - 1.5).abs() < 1e-12);
        assert!((l1_distance([1.0, 1.0], a, a) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_unit_pen_draws_one_pixel_per_step() {
        // A shallow diagonal: one pixel per column, 8-connected, no 2 x 2 block.
        let image = draw(&[[2.3, 5.2], [22.6, 14.1]], 1.0);
        for col in 3..22 {
            let count = (0..SIDE)
                .filter(|row| image[row * SIDE + col] == 1.0)
                .count();
            assert_eq!(count, 1, "column {col}");
        }
        for row in 0..SIDE - 1 {
            for col in 0..SIDE - 1 {
                let block = [0, 1, SIDE, SIDE + 1]
                    .iter()
                    .all(|&o| image[row * SIDE + col + o] == 1.0);
                assert!(!block, "2 x 2 block at ({row}, {col})");
            }
        }
        // A level line is one row.
        let level = draw(&[[4.0, 9.7], [20.0, 9.7]], 1.0);
        assert_eq!(ink_in_row(&level, 9), 16);
        assert_eq!(level.iter().filter(|&&v| v == 1.0).count(), 16);
    }

    #[test]
    fn wider_pens_draw_thicker_lines() {
        // Width 2 covers the rows whose centres are within 1 px: 9 and 10;
        // the diamond reaches past the ends by what is left of its radius
        // (0.3 px in row 9 at 0.7 px off the line, 0.7 px in row 10).
        let image = draw(&[[4.0, 10.2], [20.0, 10.2]], 2.0);
        assert_eq!(ink_in_row(&image, 9), 16);
        assert_eq!(ink_in_row(&image, 10), 18);
        assert_eq!(ink_in_row(&image, 8) + ink_in_row(&image, 11), 0);
        // Ink off the image is dropped, not wrapped.
        let edge = draw(&[[-3.0, 0.2], [40.0, 0.2]], 1.0);
        assert_eq!(ink_in_row(&edge, 0), SIDE);
        assert_eq!(edge.iter().filter(|&&v| v == 1.0).count(), SIDE);
    }
}
