//! The logits of a trained network on given images, written exactly, so
//! that another framework's output on the same weights can be compared
//! number for number (`bench/parity.py`).

use anyhow::Result;
use dataset::{CHARACTERS, Hanzi12Batcher};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::infer::{Trained, image_paths, read_items};

/// Images run through the network at once.
const BATCH: usize = 256;

/// Writes `path,logit_1,...,logit_12` for each image under `paths` to
/// `csv`; returns how many images there were.
pub fn write_logits(trained: &Trained, paths: &[PathBuf], csv: &Path) -> Result<usize> {
    let files = image_paths(paths)?;
    let batcher = Hanzi12Batcher::new(trained.recipe.convention);
    let mut table = String::from("path");
    for k in 1..=CHARACTERS.len() {
        write!(table, ",logit_{k}")?;
    }
    table.push('\n');
    for chunk in files.chunks(BATCH) {
        let items = read_items(chunk, trained.recipe.normalise.as_ref())?;
        let logits = trained
            .network
            .forward(batcher.images(&items, &trained.device))
            .into_data()
            .try_to_vec_as::<f32>()
            .map_err(|e| anyhow::anyhow!("logits are not f32: {e:?}"))?;
        for (file, row) in chunk.iter().zip(logits.chunks(CHARACTERS.len())) {
            table.push_str(&file.display().to_string());
            for value in row {
                // `{:?}` prints the shortest text that reads back as the same f32.
                write!(table, ",{value:?}")?;
            }
            table.push('\n');
        }
    }
    write_atomic(csv, table.as_bytes())?;
    Ok(files.len())
}
