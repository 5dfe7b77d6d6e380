//! `eval`: how well runs read a labelled set, per class and as a confusion
//! matrix.

use anyhow::Result;
use burn::data::dataset::Dataset;
use dataset::{CHARACTERS, Hanzi12, Hanzi12Item, NUM_CLASSES};

use super::ensemble::Ensemble;

/// The figures of an evaluation.
#[derive(Debug, serde::Serialize)]
pub struct Evaluation {
    pub n: usize,
    pub accuracy: f64,
    pub per_class: Vec<f64>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    #[serde(skip)]
    pub mistakes: Vec<(Hanzi12Item, usize)>,
}

/// Scores the runs on every image of a labelled set.
pub fn evaluate(ensemble: &Ensemble, data: &Hanzi12) -> Result<Evaluation> {
    let probs = ensemble.probabilities(data.len(), |normalise| {
        Ok(data.clone().normalised(normalise).items().to_vec())
    })?;
    // The images as the first network saw them in training, for the gallery.
    let data = &data
        .clone()
        .normalised(ensemble.first().recipe.normalise.as_ref());
    let mut confusion = vec![vec![0usize; NUM_CLASSES]; NUM_CLASSES];
    let mut mistakes = Vec::new();
    for (item, p) in data.items().iter().zip(&probs) {
        let predicted = argmax(p);
        confusion[item.label][predicted] += 1;
        if predicted != item.label {
            mistakes.push((item.clone(), predicted));
        }
    }
    let n = data.len();
    let correct: usize = (0..NUM_CLASSES).map(|k| confusion[k][k]).sum();
    let per_class = (0..NUM_CLASSES)
        .map(|k| {
            let total: usize = confusion[k].iter().sum();
            if total == 0 {
                f64::NAN
            } else {
                confusion[k][k] as f64 / total as f64
            }
        })
        .collect();
    Ok(Evaluation {
        n,
        accuracy: correct as f64 / n.max(1) as f64,
        per_class,
        confusion,
        mistakes,
    })
}
impl Evaluation {
    pub fn report(&self) -> String {
        let mut s = format!(
            "accuracy {:.2}% on {} images ({} wrong)\n\nper class:\n",
            100.0 * self.accuracy,
            self.n,
            self.mistakes.len()
        );
        for (k, acc) in self.per_class.iter().enumerate() {
            s.push_str(&format!(
                "  {:>2} {}  {:6.2}%\n",
                k + 1,
                CHARACTERS[k],
                100.0 * acc
            ));
        }
        s.push_str("\nconfusion (rows: true, columns: predicted):\n     ");
        for c in CHARACTERS {
            s.push_str(&format!("{c:>3}"));
        }
        s.push('\n');
        for (k, row) in self.confusion.iter().enumerate() {
            s.push_str(&format!("  {} ", CHARACTERS[k]));
            for v in row {
                s.push_str(&format!("{v:>4}"));
            }
            s.push('\n');
        }
        s
    }
}

fn argmax(p: &[f32; NUM_CLASSES]) -> usize {
    (0..NUM_CLASSES)
        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
        .unwrap_or(0)
}
