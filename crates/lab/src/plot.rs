//! Line charts for the studies, drawn with plotters into a pixel buffer and
//! saved as PNG. Labels use a vendored font, so a figure looks the same on
//! every machine, fonts installed or not.

use anyhow::{Result, anyhow};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use hanzi12::infer::save_png;

/// Pixels of one panel.
const PANEL: (u32, u32) = (460, 340);

pub const TRAIN: RGBColor = RGBColor(214, 39, 40);
pub const VALID: RGBColor = RGBColor(31, 119, 180);
pub const TRUTH: RGBColor = RGBColor(0, 0, 0);
/// Colours of the settings within one chart.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// One polyline; a line without a label stays out of the legend.
pub struct Line {
    pub label: Option<String>,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    /// Thin and pale: one seed behind the bold mean of all seeds.
    pub faint: bool,
}

impl Line {
    pub fn new(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: Some(label.into()),
            color,
            points,
            faint: false,
        }
    }

    pub fn faint(color: RGBColor, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: None,
            color,
            points,
            faint: true,
        }
    }
}

pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
}

/// What all panels of a figure share.
pub struct Chart {
    pub x_label: &'static str,
    pub y_label: &'static str,
    /// Fixed y range; otherwise the data's range with a margin.
    pub y_range: Option<Range<f64>>,
    /// Plot log10(y), labelled with y itself.
    pub log_y: bool,
    pub columns: usize,
    /// Where the legend goes: out of the way of curves that rise (lower
    /// right) or fall (upper right).
    pub legend: SeriesLabelPosition,
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../../../data/fonts/DejaVuSans-ascii.ttf"),
        )
        .unwrap_or_else(|_| panic!("the vendored plot font does not parse"));
    });
}

/// Draws `panels` in a grid and writes the PNG atomically.
pub fn draw(path: &Path, chart: &Chart, panels: &[Panel]) -> Result<()> {
    register_font();
    let columns = chart.columns.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(columns).max(1);
    let (width, height) = (PANEL.0 * columns as u32, PANEL.1 * rows as u32);
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        let fail = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        for (area, panel) in root.split_evenly((rows, columns)).iter().zip(panels) {
            draw_panel(area, chart, panel).map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    let image = image::RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| anyhow!("drawing {}: wrong buffer size", path.display()))?;
    save_png(&image, path)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type DrawResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn draw_panel(area: &Area<'_>, chart: &Chart, panel: &Panel) -> DrawResult {
    let y_of = |y: f64| if chart.log_y { y.max(1e-12).log10() } else { y };
    let points = || panel.lines.iter().flat_map(|l| l.points.iter());
    let x_range = span(points().map(|p| p.0), 0.0);
    let y_range = match (&chart.y_range, chart.log_y) {
        (Some(r), false) => r.clone(),
        (Some(r), true) => y_of(r.start)..y_of(r.end),
        (None, _) => span(points().map(|p| y_of(p.1)), 0.05),
    };
    let mut plot = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 17))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(52)
        .build_cartesian_2d(x_range, y_range)?;
    let log_y = chart.log_y;
    let y_format = move |v: &f64| {
        if log_y {
            two_digits(10f64.powf(*v))
        } else {
            tidy(*v)
        }
    };
    let x_format = |v: &f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    plot.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .y_label_formatter(&y_format)
        .x_label_formatter(&x_format)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    draw_lines(&mut plot, panel, y_of)?;
    if panel.lines.iter().any(|l| l.label.is_some()) {
        plot.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .position(chart.legend.clone())
            .draw()?;
    }
    Ok(())
}

/// The panel's lines, faint ones first so that the means are drawn over
/// them, with their legend entries.
fn draw_lines<'a>(
    plot: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    panel: &Panel,
    y_of: impl Fn(f64) -> f64,
) -> DrawResult {
    let mut lines: Vec<&Line> = panel.lines.iter().collect();
    lines.sort_by_key(|l| !l.faint);
    for line in lines {
        let style = if line.faint {
            ShapeStyle::from(line.color.mix(0.3)).stroke_width(1)
        } else {
            ShapeStyle::from(line.color).stroke_width(2)
        };
        let series = plot.draw_series(LineSeries::new(
            line.points.iter().map(|&(x, y)| (x, y_of(y))),
            style,
        ))?;
        if let Some(label) = &line.label {
            let color = line.color;
            series.label(label.as_str()).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
            });
        }
    }
    Ok(())
}

/// An axis label without float noise: 0.98, not 0.9800000000000001.
fn tidy(v: f64) -> String {
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// `v` to two significant digits: 0.40, 0.063, 12.
fn two_digits(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (1 - v.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

/// The range of `values`, widened by `margin` of its width (and never empty).
fn span(values: impl Iterator<Item = f64>, margin: f64) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * margin).max(1e-9);
    if hi - lo < 1e-9 {
        return lo - 0.5..hi + 0.5;
    }
    lo - pad..hi + pad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_figure_with_panels_legend_and_log_axis() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("figure.png");
        let curve = |k: f64| (1..=10).map(|e| (e as f64, k / e as f64)).collect();
        let panels = vec![
            Panel {
                title: "first".into(),
                lines: vec![
                    Line::new("train", TRAIN, curve(1.0)),
                    Line::faint(VALID, curve(2.0)),
                ],
            },
            Panel {
                title: "second".into(),
                lines: vec![Line::new("valid", VALID, curve(3.0))],
            },
            Panel {
                title: "third".into(),
                lines: vec![],
            },
        ];
        let chart = Chart {
            x_label: "epoch",
            y_label: "loss",
            y_range: None,
            log_y: true,
            columns: 2,
            legend: SeriesLabelPosition::UpperRight,
        };
        draw(&path, &chart, &panels).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (2 * PANEL.0, 2 * PANEL.1));
        // The train colour was drawn somewhere; so was some text (dark pixels).
        assert!(image.pixels().any(|p| p.0 == [TRAIN.0, TRAIN.1, TRAIN.2]));
        assert!(
            image
                .pixels()
                .filter(|p| p.0[0] < 60 && p.0[1] < 60)
                .count()
                > 200
        );
    }

    #[test]
    fn log_axis_labels_keep_two_digits() {
        assert_eq!(two_digits(0.4), "0.40");
        assert_eq!(two_digits(0.0631), "0.063");
        assert_eq!(two_digits(12.3), "12");
        assert_eq!(tidy(0.9800000000000001), "0.98");
        assert_eq!(tidy(100.0), "100");
        assert_eq!(tidy(-0.00001), "0");
    }

    #[test]
    fn spans_are_never_empty() {
        assert_eq!(span([2.0, 2.0].into_iter(), 0.1), 1.5..2.5);
        assert_eq!(span(std::iter::empty(), 0.1), 0.0..1.0);
        let r = span([0.0, 10.0, f64::NAN].into_iter(), 0.1);
        assert_eq!(r, -1.0..11.0);
    }
}
