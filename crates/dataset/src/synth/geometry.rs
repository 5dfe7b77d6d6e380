//! Plane geometry of centre-lines: affine maps, and what the writers do to
//! a single line (cut it, drop its entry tick, straighten it, subdivide it).

use std::f64::consts::PI;

/// One stroke's centre-line, in glyph units with y pointing down (pixels
/// once placed).
pub(super) type Line = Vec<[f64; 2]>;

/// A 2x3 affine map: `[a, b, c, d, e, f]` sends (x, y) to (ax + by + c, dx + ey + f).
pub(super) type Affine = [f64; 6];

pub(super) const IDENTITY: Affine = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// The map that applies `inner`, then `outer`.
pub(super) fn compose(outer: &Affine, inner: &Affine) -> Affine {
    let [a, b, c, d, e, f] = *outer;
    let [p, q, r, s, t, u] = *inner;
    [
        a * p + b * s,
        a * q + b * t,
        a * r + b * u + c,
        d * p + e * s,
        d * q + e * t,
        d * r + e * u + f,
    ]
}

pub(super) fn apply(m: &Affine, [x, y]: [f64; 2]) -> [f64; 2] {
    [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]]
}

/// Rotation by `angle` and scale by `scale` about `centre`, then a shift.
pub(super) fn similarity(centre: [f64; 2], angle: f64, scale: f64, shift: [f64; 2]) -> Affine {
    let (s, c) = angle.sin_cos();
    let (a, b, d, e) = (scale * c, -scale * s, scale * s, scale * c);
    [
        a,
        b,
        centre[0] - a * centre[0] - b * centre[1] + shift[0],
        d,
        e,
        centre[1] - d * centre[0] - e * centre[1] + shift[1],
    ]
}

/// A shift by `d`.
pub(super) fn translation(d: [f64; 2]) -> Affine {
    [1.0, 0.0, d[0], 0.0, 1.0, d[1]]
}

/// Scale by `sx` across and `sy` up and down, about the origin.
pub(super) fn scaling(sx: f64, sy: f64) -> Affine {
    [sx, 0.0, 0.0, 0.0, sy, 0.0]
}

/// Horizontal shear about the origin: x += `k` y.
pub(super) fn shear_x(k: f64) -> Affine {
    [1.0, k, 0.0, 0.0, 1.0, 0.0]
}

/// Rotation by `angle` about the origin.
pub(super) fn rotation(angle: f64) -> Affine {
    similarity([0.0, 0.0], angle, 1.0, [0.0, 0.0])
}

/// Scale by `sx`, `sy` about `centre`, then a shift.
pub(super) fn stretch_about(centre: [f64; 2], sx: f64, sy: f64, shift: [f64; 2]) -> Affine {
    let [cx, cy] = centre;
    [
        sx,
        0.0,
        cx - sx * cx + shift[0],
        0.0,
        sy,
        cy - sy * cy + shift[1],
    ]
}

/// The vertical map that sends `y0` to `new_y0` and stretches by `stretch`.
pub(super) fn vertical_fit(y0: f64, new_y0: f64, stretch: f64) -> Affine {
    [1.0, 0.0, 0.0, 0.0, stretch, new_y0 - y0 * stretch]
}

pub(super) fn centroid(points: &[[f64; 2]]) -> [f64; 2] {
    let n = points.len().max(1) as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), p| (sx + p[0], sy + p[1]));
    [sx / n, sy / n]
}

pub(super) fn bounds<'a>(points: impl Iterator<Item = &'a [f64; 2]>) -> [f64; 4] {
    points.fold(
        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |[x0, y0, x1, y1], p| [x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1])],
    )
}

pub(super) fn length(line: &[[f64; 2]]) -> f64 {
    line.windows(2)
        .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
        .sum()
}

/// The longest piece of `line` with x >= `x_min`; the whole line when no
/// piece is.
pub(super) fn clip_left(line: &[[f64; 2]], x_min: f64) -> Line {
    let mut best: Line = Vec::new();
    let mut run: Line = Vec::new();
    let mut finish = |run: &mut Line| {
        if run.len() >= 2 && length(run) > length(&best) {
            best = std::mem::take(run);
        }
        run.clear();
    };
    for (i, &p) in line.iter().enumerate() {
        let inside = p[0] >= x_min;
        if i > 0 {
            let q = line[i - 1];
            if (q[0] >= x_min) != inside {
                // The crossing point of segment q-p with x = x_min.
                let t = (x_min - q[0]) / (p[0] - q[0]);
                let cross = [x_min, q[1] + t * (p[1] - q[1])];
                run.push(cross);
                if !inside {
                    finish(&mut run);
                }
            }
        }
        if inside {
            run.push(p);
        }
    }
    finish(&mut run);
    if best.is_empty() { line.to_vec() } else { best }
}

/// `line` without its first point when the first segment is shorter than
/// `max_len` and turns by more than 0.5 radians into the second.
pub(super) fn drop_entry_tick(line: &[[f64; 2]], max_len: f64) -> Line {
    if line.len() < 3 {
        return line.to_vec();
    }
    let (a, b, c) = (line[0], line[1], line[2]);
    let first = (b[1] - a[1]).atan2(b[0] - a[0]);
    let second = (c[1] - b[1]).atan2(c[0] - b[0]);
    let mut turn = (second - first).abs();
    if turn > PI {
        turn = 2.0 * PI - turn;
    }
    if (b[0] - a[0]).hypot(b[1] - a[1]) < max_len && turn > 0.5 {
        line[1..].to_vec()
    } else {
        line.to_vec()
    }
}

/// Turns each segment of `line` that lies within `window` radians of level or
/// upright by `amount` (0 to 1) of the way to it, keeping segment lengths and
/// the line's centroid.
pub(super) fn straighten(line: &[[f64; 2]], amount: f64, window: f64) -> Line {
    if amount <= 0.0 || line.len() < 2 {
        return line.to_vec();
    }
    let mut out = vec![line[0]];
    for w in line.windows(2) {
        let (dx, dy) = (w[1][0] - w[0][0], w[1][1] - w[0][1]);
        let len = dx.hypot(dy);
        let angle = dy.atan2(dx);
        let axis = (angle / (PI / 2.0)).round() * (PI / 2.0);
        let off = angle - axis;
        let angle = if off.abs() < window {
            angle - amount * off
        } else {
            angle
        };
        let last = out[out.len() - 1];
        out.push([last[0] + len * angle.cos(), last[1] + len * angle.sin()]);
    }
    let (before, after) = (centroid(line), centroid(&out));
    let shift = [before[0] - after[0], before[1] - after[1]];
    out.iter_mut()
        .for_each(|p| *p = [p[0] + shift[0], p[1] + shift[1]]);
    out
}

/// Splits every segment so that none is longer than `step`.
pub(super) fn subdivide(line: &[[f64; 2]], step: f64) -> Line {
    let mut out = vec![line[0]];
    for w in line.windows(2) {
        let d = (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
        let k = (d / step).ceil().max(1.0) as usize;
        for j in 1..=k {
            let t = j as f64 / k as f64;
            out.push([
                w[0][0] + t * (w[1][0] - w[0][0]),
                w[0][1] + t * (w[1][1] - w[0][1]),
            ]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(p: [f64; 2], q: [f64; 2]) -> bool {
        (p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12
    }

    #[test]
    fn maps_compose_in_order() {
        // Scale, then shear, then turn a quarter: (1, 1) -> (2, 3) -> (2 + 3k, 3) -> (-3, 2 + 3k).
        let k = 0.5;
        let m = compose(
            &rotation(PI / 2.0),
            &compose(&shear_x(k), &scaling(2.0, 3.0)),
        );
        assert!(close(apply(&m, [1.0, 1.0]), [-3.0, 2.0 + 3.0 * k]));
        let moved = compose(&translation([1.0, -2.0]), &IDENTITY);
        assert_eq!(apply(&moved, [0.5, 0.5]), [1.5, -1.5]);
        // A stretch about a point keeps that point (then shifts it).
        let s = stretch_about([2.0, 3.0], 1.5, 0.5, [0.25, 0.0]);
        assert!(close(apply(&s, [2.0, 3.0]), [2.25, 3.0]));
        assert!(close(
            apply(&vertical_fit(1.0, 4.0, 2.0), [7.0, 2.0]),
            [7.0, 6.0]
        ));
    }

    #[test]
    fn clip_left_keeps_the_longest_piece() {
        let line = vec![[0.9, 0.0], [0.5, 0.5], [0.1, 1.0]];
        let clipped = clip_left(&line, 0.3);
        assert_eq!(clipped.len(), 3);
        assert_eq!(clipped[0], [0.9, 0.0]);
        assert!((clipped[2][0] - 0.3).abs() < 1e-12);
        assert!((clipped[2][1] - 0.75).abs() < 1e-12);
        // A line wholly left of the cut is kept whole.
        assert_eq!(clip_left(&line, 2.0), line);
    }

    #[test]
    fn straighten_levels_nearly_level_segments() {
        let line = vec![[0.0, 0.0], [1.0, -0.2]];
        let level = straighten(&line, 1.0, 0.5);
        assert!((level[1][1] - level[0][1]).abs() < 1e-12);
        let len = (level[1][0] - level[0][0]).hypot(level[1][1] - level[0][1]);
        assert!((len - 1.0f64.hypot(0.2)).abs() < 1e-12);
        // Steep diagonals are left alone.
        let diagonal = vec![[0.0, 0.0], [1.0, 1.0]];
        for (p, q) in straighten(&diagonal, 1.0, 0.5).iter().zip(&diagonal) {
            assert!((p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12);
        }
    }

    #[test]
    fn entry_ticks_are_dropped() {
        let tick = vec![[0.20, 0.10], [0.25, 0.15], [0.25, 0.80]];
        assert_eq!(drop_entry_tick(&tick, 0.08), tick[1..].to_vec());
        let straight = vec![[0.25, 0.10], [0.25, 0.15], [0.25, 0.80]];
        assert_eq!(drop_entry_tick(&straight, 0.08), straight);
    }
}
