//! The characters' stroke centre-lines: the Make Me a Hanzi medians embedded
//! in the binary, and the print-style forms drawn for this project.

use std::sync::OnceLock;

use serde::Deserialize;

use super::geometry::Line;
use crate::NUM_CLASSES;

/// One form of a character, in glyph units with y pointing down.
pub(super) struct Glyph {
    pub strokes: Vec<Line>,
    /// Whether each stroke belongs to the radical.
    pub radical: Vec<bool>,
}

#[derive(Deserialize)]
struct StrokeFile {
    medians: Vec<Vec<[f64; 2]>>,
    #[serde(rename = "radStrokes", default)]
    rad_strokes: Vec<usize>,
}

macro_rules! stroke_files {
    ($($c:literal),*) => {
        [$(include_str!(concat!("../../../../data/hanzi-strokes/", $c, ".json"))),*]
    };
}

/// The JSON of each class, in `CHARACTERS` order.
const STROKE_JSON: [&str; NUM_CLASSES] = stroke_files!(
    "博", "学", "笃", "志", "切", "问", "近", "思", "自", "由", "无", "用"
);

/// Print-style forms drawn for this project, where the Kaiti font's form is
/// far from how most people write the character: `(class, medians, radical
/// strokes)`, in the font's coordinates (1024 grid, y up). 切: the font drops
/// 刀 low and sweeps its 丿 under 七; handwriting gives 刀 the full height.
#[allow(clippy::type_complexity)]
const VARIANTS: &[(usize, &[&[[f64; 2]]], &[usize])] = &[(
    4,
    &[
        &[[110.0, 545.0], [440.0, 580.0]],
        &[
            [270.0, 790.0],
            [268.0, 160.0],
            [300.0, 110.0],
            [450.0, 125.0],
        ],
        &[
            [500.0, 705.0],
            [830.0, 725.0],
            [836.0, 130.0],
            [800.0, 70.0],
            [720.0, 100.0],
        ],
        &[
            [655.0, 705.0],
            [645.0, 450.0],
            [595.0, 250.0],
            [505.0, 95.0],
        ],
    ],
    &[2, 3],
)];

/// A glyph from medians in the font's coordinates.
fn glyph_from(medians: &[Vec<[f64; 2]>], rad_strokes: &[usize]) -> Glyph {
    let strokes: Vec<Line> = medians
        .iter()
        .map(|line| {
            line.iter()
                .map(|&[x, y]| [x / 1024.0, (900.0 - y) / 1024.0])
                .collect()
        })
        .collect();
    let radical = (0..strokes.len())
        .map(|i| rad_strokes.contains(&i))
        .collect();
    Glyph { strokes, radical }
}

/// For each class, the font's form, then any print-style variants.
pub(super) fn glyphs() -> &'static [Vec<Glyph>] {
    static GLYPHS: OnceLock<Vec<Vec<Glyph>>> = OnceLock::new();
    GLYPHS.get_or_init(|| {
        STROKE_JSON
            .iter()
            .enumerate()
            .map(|(class, json)| {
                let file: StrokeFile =
                    serde_json::from_str(json).expect("embedded stroke data is valid JSON");
                let mut forms = vec![glyph_from(&file.medians, &file.rad_strokes)];
                for (_, medians, rad) in VARIANTS.iter().filter(|v| v.0 == class) {
                    let medians: Vec<Vec<[f64; 2]>> = medians.iter().map(|m| m.to_vec()).collect();
                    forms.push(glyph_from(&medians, rad));
                }
                forms
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_stroke_data_parses() {
        let counts: Vec<usize> = glyphs()
            .iter()
            .map(|forms| forms[0].strokes.len())
            .collect();
        assert_eq!(counts, [12, 8, 9, 7, 4, 6, 7, 9, 6, 5, 4, 5]);
        for forms in glyphs() {
            for form in forms {
                assert_eq!(form.radical.len(), form.strokes.len());
                for line in &form.strokes {
                    assert!(!line.is_empty());
                    for p in line {
                        assert!((-0.1..1.1).contains(&p[0]) && (-0.1..1.1).contains(&p[1]));
                    }
                }
            }
        }
    }
}
