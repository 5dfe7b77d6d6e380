//! The writer: one random writer's version of a glyph, as strokes in pixels
//! of the 28 x 28 image with their pen widths. Six stages, each drawing its
//! own random numbers in turn from the sample's generator:
//!
//! 1. the layout of the radical and the rest ([`Layout`]);
//! 2. every stroke jittered ([`jitter`]);
//! 3. cursive joins between strokes ([`ligatures`]);
//! 4. the smooth elastic warp ([`Warp`]);
//! 5. the global affine map: aspect, shear, rotation ([`global_shape`]);
//! 6. size and place in the image, and the pen ([`placement`], [`pen`]).
//!
//! The order of the draws is part of the output: the same seed must keep
//! drawing the same images, so a stage may not draw before the one above it.

use std::f64::consts::PI;

use rand::RngExt;
use rand::rngs::StdRng;

use super::SynthConfig;
use super::geometry::{
    Affine, IDENTITY, Line, apply, bounds, centroid, clip_left, compose, drop_entry_tick, length,
    rotation, scaling, shear_x, similarity, straighten, stretch_about, subdivide, translation,
    vertical_fit,
};
use super::glyphs::Glyph;
use super::random::{normal, uniform};
use crate::SIDE;

/// A stroke as written: its centre-line in pixel coordinates of the 28 x 28
/// image and its pen width, px.
pub(super) struct Stroke {
    pub line: Line,
    pub width: f64,
}

/// The strokes of this writer's version of `glyph`.
pub(super) fn write_glyph(config: &SynthConfig, glyph: &Glyph, rng: &mut StdRng) -> Vec<Stroke> {
    // 1 and 2: the layout, then each stroke started from it and jittered.
    let layout = Layout::draw(config, glyph, rng);
    let mut lines: Vec<Line> = glyph
        .strokes
        .iter()
        .zip(&glyph.radical)
        .map(|(stroke, &is_radical)| jitter(config, layout.start(config, stroke, is_radical), rng))
        .collect();
    // 3 to 6: joins, then maps of the whole (the joins move with the strokes,
    // but only the strokes measure the glyph's box).
    let mut joins = ligatures(config, &lines, rng);
    let warp = Warp::new(config, rng);
    map_points(&mut lines, &mut joins, |p| warp.apply(p));
    for map in global_shape(config, &lines, rng) {
        map_points(&mut lines, &mut joins, |p| apply(&map, p));
    }
    let (place, width) = placement(config, &lines, rng);
    map_points(&mut lines, &mut joins, |p| apply(&place, p));
    pen(config, lines, joins, width, rng)
}

/// Moves every point of the strokes and of the joins.
fn map_points(lines: &mut [Line], joins: &mut [Line], map: impl Fn([f64; 2]) -> [f64; 2]) {
    for line in lines.iter_mut().chain(joins.iter_mut()) {
        line.iter_mut().for_each(|p| *p = map(*p));
    }
}

// --- Stage 1: layout -------------------------------------------------------

/// The radical and the rest of a glyph as two parts: their points, boxes and
/// centres, and which lies left of the other.
struct Parts {
    /// The rest (0) and the radical (1).
    points: [Vec<[f64; 2]>; 2],
    boxes: [[f64; 4]; 2],
    /// Whether the glyph has both a radical and a rest.
    two: bool,
    /// Whether the parts stand side by side (切, 博): their centres are much
    /// further apart across than up and down.
    side_by_side: bool,
    left: usize,
    right: usize,
}

impl Parts {
    fn of(glyph: &Glyph) -> Parts {
        let two = glyph.radical.iter().any(|&r| r) && glyph.radical.iter().any(|&r| !r);
        let part_points = |part: bool| -> Vec<[f64; 2]> {
            glyph
                .strokes
                .iter()
                .zip(&glyph.radical)
                .filter(|(_, r)| **r == part)
                .flat_map(|(s, _)| s.iter().copied())
                .collect()
        };
        let points = [part_points(false), part_points(true)];
        let boxes = points.clone().map(|p| bounds(p.iter()));
        let centres = [centroid(&points[0]), centroid(&points[1])];
        let side_by_side = two
            && (centres[0][0] - centres[1][0]).abs() > 2.0 * (centres[0][1] - centres[1][1]).abs();
        let (left, right) = if centres[0][0] < centres[1][0] {
            (0, 1)
        } else {
            (1, 0)
        };
        Parts {
            points,
            boxes,
            two,
            side_by_side,
            left,
            right,
        }
    }
}

/// How this writer lays the glyph out before touching single strokes.
struct Layout {
    /// The map of the rest (0) and of the radical (1): each moves and
    /// stretches as a unit.
    part_maps: [Affine; 2],
    /// The part whose strokes are cut at an x, and that x: in the font,
    /// strokes of the right part sweep under the left one (the 丿 of 切's 刀,
    /// the long 一 of 博's 寸); handwriting mostly keeps them apart.
    trim: Option<(usize, f64)>,
    /// How far nearly level and upright segments are turned to level and
    /// upright, 0 to 1.
    straightness: f64,
}

impl Layout {
    fn draw(config: &SynthConfig, glyph: &Glyph, rng: &mut StdRng) -> Layout {
        let parts = Parts::of(glyph);
        let trim = (parts.side_by_side
            && rng.random_bool(config.side_by_side_trim.clamp(0.0, 1.0)))
        .then(|| {
            let at = parts.boxes[parts.left][2] - uniform(rng, 0.0, config.side_by_side_trim_slack);
            (parts.right, at)
        });
        let align = uniform(rng, 0.0, config.side_by_side_align.clamp(0.0, 1.0));
        let part_maps = std::array::from_fn(|i| part_map(config, &parts, i, align, rng));
        let straightness = uniform(rng, 0.0, config.straighten_max.clamp(0.0, 1.0));
        Layout {
            part_maps,
            trim,
            straightness,
        }
    }

    /// A stroke of the font as this writer starts it: cut out of the other
    /// part, without its entry tick, straightened, moved with its part.
    fn start(&self, config: &SynthConfig, stroke: &Line, is_radical: bool) -> Line {
        let part = usize::from(is_radical);
        let line = match self.trim {
            Some((trimmed, x)) if part == trimmed => clip_left(stroke, x),
            _ => stroke.clone(),
        };
        let line = drop_entry_tick(&line, config.entry_tick_max);
        let mut line = straighten(&line, self.straightness, config.straighten_window);
        line.iter_mut()
            .for_each(|p| *p = apply(&self.part_maps[part], *p));
        line
    }
}

/// The map of part `i`: side by side, its top and bottom moved `align` of
/// the way to those of the whole; then its own stretch and shift.
fn part_map(config: &SynthConfig, parts: &Parts, i: usize, align: f64, rng: &mut StdRng) -> Affine {
    if !parts.two {
        return IDENTITY;
    }
    let [_, y0, _, y1] = parts.boxes[i];
    let fit = if parts.side_by_side {
        let [a, b] = parts.boxes;
        let (top, bottom) = (a[1].min(b[1]), a[3].max(b[3]));
        let (t, b) = (y0 + align * (top - y0), y1 + align * (bottom - y1));
        vertical_fit(y0, t, (b - t) / (y1 - y0).max(1e-3))
    } else {
        IDENTITY
    };
    let centre = apply(&fit, centroid(&parts.points[i]));
    let sx = normal(rng, config.component_scale_sd).exp();
    let sy = normal(rng, config.component_scale_sd).exp();
    let dx = normal(rng, config.component_shift_sd);
    let dy = normal(rng, config.component_shift_sd);
    compose(&stretch_about(centre, sx, sy, [dx, dy]), &fit)
}

// --- Stage 2: every stroke -------------------------------------------------

/// One stroke jittered, in glyph units: longer or shorter ends, wobbling
/// points, a bend, then shifted, scaled and turned about its centre.
fn jitter(config: &SynthConfig, mut line: Line, rng: &mut StdRng) -> Line {
    let len = length(&line).max(1e-3);
    stretch_ends(config, &mut line, len, rng);
    for p in line.iter_mut() {
        p[0] += normal(rng, config.point_jitter_sd);
        p[1] += normal(rng, config.point_jitter_sd);
    }
    let line = bend(config, &line, len, rng);
    let m = similarity(
        centroid(&line),
        normal(rng, config.stroke_rotation_sd),
        normal(rng, config.stroke_scale_sd).exp(),
        [
            normal(rng, config.stroke_shift_sd),
            normal(rng, config.stroke_shift_sd),
        ],
    );
    line.iter().map(|&p| apply(&m, p)).collect()
}

/// Lengthens or shortens each end along its own direction, by a share of the
/// stroke's length `len`.
fn stretch_ends(config: &SynthConfig, line: &mut Line, len: f64, rng: &mut StdRng) {
    let last = line.len() - 1;
    if last == 0 {
        return;
    }
    for (end, next) in [(0, 1), (last, last - 1)] {
        let [x, y] = line[end];
        let [nx, ny] = line[next];
        let d = (x - nx).hypot(y - ny).max(1e-6);
        let ext = normal(rng, config.end_sd) * len;
        // Never shorten a segment past 80 % of its length.
        let ext = ext.max(-0.8 * d);
        line[end] = [x + (x - nx) / d * ext, y + (y - ny) / d * ext];
    }
}

/// A sideways bow that is largest at the middle of the stroke.
fn bend(config: &SynthConfig, line: &[[f64; 2]], len: f64, rng: &mut StdRng) -> Line {
    let line = subdivide(line, 0.02);
    let (a, b) = (line[0], line[line.len() - 1]);
    let chord = (b[0] - a[0]).hypot(b[1] - a[1]).max(1e-6);
    let side = [-(b[1] - a[1]) / chord, (b[0] - a[0]) / chord];
    let bend = normal(rng, config.bend_sd) * len;
    let total = length(&line).max(1e-6);
    let mut walked = 0.0;
    let mut prev = line[0];
    line.iter()
        .map(|&p| {
            walked += (p[0] - prev[0]).hypot(p[1] - prev[1]);
            prev = p;
            let s = (PI * walked / total).sin() * bend;
            [p[0] + side[0] * s, p[1] + side[1] * s]
        })
        .collect()
}

// --- Stage 3: cursive joins -------------------------------------------------

/// The lines where the pen did not lift between consecutive strokes.
fn ligatures(config: &SynthConfig, lines: &[Line], rng: &mut StdRng) -> Vec<Line> {
    let mut joins = Vec::new();
    for w in lines.windows(2) {
        let (end, start) = (w[0][w[0].len() - 1], w[1][0]);
        let gap = (end[0] - start[0]).hypot(end[1] - start[1]);
        if gap < config.ligature_max_gap && rng.random_bool(config.ligature_prob.clamp(0.0, 1.0)) {
            joins.push(subdivide(&[end, start], 0.02));
        }
    }
    joins
}

// --- Stage 4: elastic warp --------------------------------------------------

/// A smooth random displacement field: a sum of sine waves per axis.
struct Warp {
    waves: Vec<[f64; 5]>, // axis (0 or 1), fx, fy, phase, amplitude
}

impl Warp {
    fn new(config: &SynthConfig, rng: &mut StdRng) -> Self {
        let mut waves = Vec::new();
        for axis in 0..2 {
            for _ in 0..config.elastic_waves {
                let f = uniform(rng, 0.3, 1.0) * config.elastic_frequency;
                let dir = uniform(rng, 0.0, 2.0 * PI);
                let phase = uniform(rng, 0.0, 2.0 * PI);
                let amp = config.elastic_amplitude * uniform(rng, 0.3, 1.0)
                    / (config.elastic_waves.max(1) as f64).sqrt();
                waves.push([
                    axis as f64,
                    2.0 * PI * f * dir.cos(),
                    2.0 * PI * f * dir.sin(),
                    phase,
                    amp,
                ]);
            }
        }
        Self { waves }
    }

    fn apply(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let mut d = [0.0; 2];
        for &[axis, fx, fy, phase, amp] in &self.waves {
            d[axis as usize] += amp * (fx * x + fy * y + phase).sin();
        }
        [x + d[0], y + d[1]]
    }
}

// --- Stage 5: global affine ---------------------------------------------------

/// Two maps applied in turn: the centre of the glyph's box to the origin,
/// then aspect (narrow glyphs pulled towards square, then a random ratio),
/// shear and rotation.
fn global_shape(config: &SynthConfig, lines: &[Line], rng: &mut StdRng) -> [Affine; 2] {
    let [x0, y0, x1, y1] = bounds(lines.iter().flatten());
    let (w, h) = ((x1 - x0).max(1e-3), (y1 - y0).max(1e-3));
    let font_aspect = w / h;
    let target_aspect =
        font_aspect.powf(1.0 - config.aspect_pull) * normal(rng, config.aspect_sd).exp();
    let sx = (target_aspect / font_aspect).sqrt();
    let shear = normal(rng, config.shear_sd);
    let angle = normal(rng, config.rotation_sd);
    let to_origin = translation([-(x0 + x1) / 2.0, -(y0 + y1) / 2.0]);
    let shape = compose(
        &rotation(angle),
        &compose(&shear_x(shear), &scaling(sx, 1.0 / sx)),
    );
    [to_origin, shape]
}

// --- Stage 6: size, place and pen ----------------------------------------------

/// The map that scales the glyph to its size in pixels and puts its box
/// centre near the image centre, and the writer's pen width, px.
fn placement(config: &SynthConfig, lines: &[Line], rng: &mut StdRng) -> (Affine, f64) {
    let [x0, y0, x1, y1] = bounds(lines.iter().flatten());
    let width = uniform(rng, config.width_min, config.width_max);
    let extent = (x1 - x0).max(y1 - y0).max(1e-3);
    // The box is measured on centre-lines; the drawn ink is one pen width wider.
    let scale = (config.scale_mean * normal(rng, config.scale_sd).exp() * SIDE as f64).clamp(
        (config.size_min - width).max(1.0) / extent,
        (config.size_max - width).max(1.0) / extent,
    );
    let half = SIDE as f64 / 2.0;
    let offset = [
        half + config.offset_x_mean + normal(rng, config.offset_sd) - scale * (x0 + x1) / 2.0,
        half + config.offset_y_mean + normal(rng, config.offset_sd) - scale * (y0 + y1) / 2.0,
    ];
    (compose(&translation(offset), &scaling(scale, scale)), width)
}

/// Each stroke with its own width about the pen's; joins with the pen's.
fn pen(
    config: &SynthConfig,
    lines: Vec<Line>,
    joins: Vec<Line>,
    width: f64,
    rng: &mut StdRng,
) -> Vec<Stroke> {
    let mut strokes: Vec<Stroke> = lines
        .into_iter()
        .map(|line| Stroke {
            line,
            width: width * normal(rng, config.width_stroke_sd).exp(),
        })
        .collect();
    strokes.extend(joins.into_iter().map(|line| Stroke { line, width }));
    strokes
}
