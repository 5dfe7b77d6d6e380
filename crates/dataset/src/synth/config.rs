//! The writers' settings: every number the synthetic handwriting draws from.

/// How the synthetic writers write. Lengths marked "glyph units" are fractions
/// of the 1024-unit glyph box; "px" are pixels of the 28 x 28 image; "sd"s are
/// standard deviations of normal draws (clamped to +-2.5 sd); each writer
/// draws its own values.
#[derive(burn::config::Config, Debug)]
pub struct SynthConfig {
    // --- Which form -------------------------------------------------------
    /// Chance that a writer uses the project's print-style form of a
    /// character, where there is one (切), instead of the font's.
    #[config(default = 0.5)]
    pub variant_prob: f64,

    // --- From calligraphy to handwriting ----------------------------------
    /// Strokes of the font start with a short entry tick (the brush's landing,
    /// e.g. the hook at the top of a vertical), which handwriting lacks: a
    /// first segment shorter than this (glyph units) that turns by more than
    /// 0.5 radians into the next is dropped. 0 keeps the ticks.
    #[config(default = 0.08)]
    pub entry_tick_max: f64,
    /// How far a writer turns the font's nearly level and nearly upright
    /// segments towards exactly level and upright (the Kaiti font's
    /// horizontals climb and its verticals lean and sweep, where most
    /// handwriting is squarer): a fraction drawn uniformly from 0 to this.
    #[config(default = 0.8)]
    pub straighten_max: f64,
    /// Only segments within this angle of level or upright are turned, radians.
    #[config(default = 0.5)]
    pub straighten_window: f64,
    /// For characters whose two parts stand side by side (切, 博): the most
    /// that each part's height is stretched towards the height of the whole (0
    /// keeps the font's layout, 1 makes the parts equally tall); a fraction
    /// drawn uniformly from 0 to this. Handwriting gives both halves about the
    /// full height, where the font drops 切's 刀 low.
    #[config(default = 0.8)]
    pub side_by_side_align: f64,
    /// Chance that a writer keeps the right part of such a character out of
    /// the left part (the font sweeps 切's 丿 and 博's long 一 under it): the
    /// right part's strokes are cut at the left part's right edge, less a slack.
    #[config(default = 0.8)]
    pub side_by_side_trim: f64,
    /// The slack is drawn uniformly from 0 to this, glyph units.
    #[config(default = 0.05)]
    pub side_by_side_trim_slack: f64,

    // --- The two parts (radical and rest, e.g. 刀 and 七 in 切) -----------
    /// Sd of each part's own shift, glyph units.
    #[config(default = 0.03)]
    pub component_shift_sd: f64,
    /// Sd of the natural log of each part's own scale, drawn for x and y
    /// separately (so parts change their proportions, not just their size).
    #[config(default = 0.12)]
    pub component_scale_sd: f64,

    // --- Every stroke ------------------------------------------------------
    /// Sd of how much each end of a stroke is lengthened (or shortened, when
    /// negative), relative to the stroke's length.
    #[config(default = 0.08)]
    pub end_sd: f64,
    /// Sd of the independent shift of every centre-line point, glyph units.
    #[config(default = 0.008)]
    pub point_jitter_sd: f64,
    /// Sd of a stroke's bend (sideways bow at its middle), relative to its
    /// length.
    #[config(default = 0.06)]
    pub bend_sd: f64,
    /// Sd of each stroke's shift, glyph units.
    #[config(default = 0.015)]
    pub stroke_shift_sd: f64,
    /// Sd of the natural log of each stroke's scale about its centre.
    #[config(default = 0.1)]
    pub stroke_scale_sd: f64,
    /// Sd of each stroke's rotation about its centre, radians.
    #[config(default = 0.05)]
    pub stroke_rotation_sd: f64,
    /// Chance that the pen does not lift between two consecutive strokes
    /// whose end and start are near, leaving a joining line (cursive writing).
    #[config(default = 0.06)]
    pub ligature_prob: f64,
    /// Only ends and starts closer than this are joined, glyph units.
    #[config(default = 0.3)]
    pub ligature_max_gap: f64,

    // --- The whole glyph ---------------------------------------------------
    /// Amplitude of the smooth elastic warp, glyph units.
    #[config(default = 0.025)]
    pub elastic_amplitude: f64,
    /// Highest spatial frequency of the warp, cycles per glyph box.
    #[config(default = 1.5)]
    pub elastic_frequency: f64,
    /// Number of random sine waves per axis that make the warp.
    #[config(default = 3)]
    pub elastic_waves: usize,
    /// How far a tall or wide glyph's width/height ratio is pulled towards 1
    /// (people write narrow characters such as 自 wider than the font does):
    /// 0 keeps the font's ratio, 1 makes every glyph square.
    #[config(default = 0.3)]
    pub aspect_pull: f64,
    /// Sd of the natural log of the width/height ratio.
    #[config(default = 0.2)]
    pub aspect_sd: f64,
    /// Sd of the horizontal shear (x += shear * y).
    #[config(default = 0.12)]
    pub shear_sd: f64,
    /// Sd of the rotation, radians.
    #[config(default = 0.08)]
    pub rotation_sd: f64,
    /// Mean scale of the glyph relative to the font's: at 1.0 the 1024-unit
    /// glyph box spans the 28-pixel image, so complex characters come out
    /// larger than simple ones, as people write them.
    #[config(default = 0.95)]
    pub scale_mean: f64,
    /// Sd of the natural log of the scale.
    #[config(default = 0.12)]
    pub scale_sd: f64,
    /// Smallest larger side of the glyph's bounding box, px.
    #[config(default = 10.0)]
    pub size_min: f64,
    /// Largest larger side of the glyph's bounding box, px.
    #[config(default = 28.0)]
    pub size_max: f64,
    /// Mean horizontal offset of the bounding-box centre from the image
    /// centre, px (the real glyphs sit a little left of centre).
    #[config(default = "-0.6")]
    pub offset_x_mean: f64,
    /// Mean vertical offset of the bounding-box centre, px (a little up).
    #[config(default = "-0.2")]
    pub offset_y_mean: f64,
    /// Sd of both offsets, px.
    #[config(default = 1.5)]
    pub offset_sd: f64,

    // --- Pen -----------------------------------------------------------------
    /// Smallest pen width, px (each writer's is uniform in the range). The
    /// pen is a diamond (see `raster`): width 1 draws one-pixel lines, as
    /// the course files' drawing tool did; wider pens stand for bolder
    /// writers and for drawings scaled down from a larger pad.
    #[config(default = 1.0)]
    pub width_min: f64,
    /// Largest pen width, px.
    #[config(default = 1.6)]
    pub width_max: f64,
    /// Sd of the natural log of each stroke's width relative to the pen's.
    #[config(default = 0.1)]
    pub width_stroke_sd: f64,
}

impl SynthConfig {
    /// A writer with no variation but the pen: the font's own glyph, centred.
    /// Used to draw the characters as labels in figures.
    pub fn plain() -> Self {
        SynthConfig::new()
            .with_scale_sd(0.0)
            .with_aspect_sd(0.0)
            .with_aspect_pull(0.0)
            .with_rotation_sd(0.0)
            .with_shear_sd(0.0)
            .with_offset_sd(0.0)
            .with_stroke_shift_sd(0.0)
            .with_stroke_scale_sd(0.0)
            .with_stroke_rotation_sd(0.0)
            .with_point_jitter_sd(0.0)
            .with_bend_sd(0.0)
            .with_end_sd(0.0)
            .with_component_shift_sd(0.0)
            .with_component_scale_sd(0.0)
            .with_side_by_side_align(0.0)
            .with_side_by_side_trim(0.0)
            .with_straighten_max(0.0)
            .with_elastic_amplitude(0.0)
            .with_ligature_prob(0.0)
            .with_variant_prob(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::config::Config;

    #[test]
    fn config_round_trips_through_json() {
        let config = SynthConfig::new().with_scale_sd(0.2).with_width_max(1.2);
        let json = burn::config::config_to_json(&config);
        let back = SynthConfig::load_binary(json.as_bytes()).unwrap();
        assert_eq!(back.scale_sd, 0.2);
        assert_eq!(back.width_max, 1.2);
        assert_eq!(
            super::super::render(&back, 4, 1, 1),
            super::super::render(&config, 4, 1, 1)
        );
    }
}
