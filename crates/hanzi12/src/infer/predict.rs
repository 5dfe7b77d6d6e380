//! `predict`: the most probable characters of image files.

use anyhow::Result;
use dataset::{CHARACTERS, NUM_CLASSES};
use std::path::{Path, PathBuf};

use super::ensemble::Ensemble;
use super::images::{image_paths, read_items};
use crate::atomic::write_atomic;

/// `predict`: the top-k characters of each image, and optionally a CSV.
pub fn predict(
    ensemble: &Ensemble,
    paths: &[PathBuf],
    top_k: usize,
    csv: Option<&Path>,
) -> Result<()> {
    let files = image_paths(paths)?;
    let items = read_items(&files, ensemble.first().recipe.normalise.as_ref())?;
    // Each run sees the files as its own training normalised its images.
    let probs = ensemble.probabilities(items.len(), |normalise| {
        if normalise == ensemble.first().recipe.normalise.as_ref() {
            Ok(items.clone())
        } else {
            read_items(&files, normalise)
        }
    })?;
    let mut table = String::from("path,class,character,probability");
    for k in 1..=NUM_CLASSES {
        table.push_str(&format!(",p{k}"));
    }
    table.push('\n');
    for (item, p) in items.iter().zip(&probs) {
        let mut order: Vec<usize> = (0..NUM_CLASSES).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let best: Vec<String> = order
            .iter()
            .take(top_k.max(1))
            .map(|&k| format!("{} {:.3}", CHARACTERS[k], p[k]))
            .collect();
        println!("{}\t{}", item.source, best.join("  "));
        let k = order[0];
        table.push_str(&format!(
            "{},{},{},{:.6}",
            item.source,
            k + 1,
            CHARACTERS[k],
            p[k]
        ));
        // Every class's probability, in class order: what another reader
        // (the exported web page) is checked against.
        for probability in p {
            table.push_str(&format!(",{probability:.7}"));
        }
        table.push('\n');
    }
    if let Some(csv) = csv {
        write_atomic(csv, table.as_bytes())?;
        println!("wrote {} predictions to {}", items.len(), csv.display());
    }
    Ok(())
}
