//! A saved run loaded for inference: its network, settings and device.

use anyhow::{Result, bail};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use dataset::{Hanzi12Batcher, Hanzi12Item, NUM_CLASSES};
use models::Network;
use std::path::Path;

use crate::backend::Backend;
use crate::recipe::Recipe;
use crate::run_dir::RunDir;

/// Images run through the network at once.
const BATCH: usize = 256;

/// A trained network with the recipe it was trained with.
pub struct Trained {
    pub recipe: Recipe,
    pub network: Network,
    pub device: Device,
}

impl Trained {
    /// Rebuilds the network from `config.json` and loads `model.bpk`.
    pub fn load(run_dir: &Path, backend: Backend) -> Result<Trained> {
        if !run_dir.is_dir() {
            bail!(
                "--checkpoint {}: no such run folder (expected a folder written by training, with config.json and model.bpk)",
                run_dir.display()
            );
        }
        let run = RunDir::new(run_dir);
        let recipe = run.settings()?.recipe;
        let weights = run.model();
        if !weights.is_file() {
            bail!(
                "{}: missing (the run has not finished an epoch yet?)",
                weights.display()
            );
        }
        let device = backend.device()?;
        let network = run.load_weights(recipe.model.init(&device), &recipe.model)?;
        Ok(Trained {
            recipe,
            network,
            device,
        })
    }

    /// Class probabilities `[n][12]` of the items, in batches (on a thread of
    /// rayon's pool: see `kernels::on_pool_thread`).
    pub fn probabilities(&self, items: &[Hanzi12Item]) -> Vec<[f32; NUM_CLASSES]> {
        let batcher = Hanzi12Batcher::new(self.recipe.convention);
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(BATCH) {
            let probs = kernels::on_pool_thread(|| {
                let logits = self.network.forward(batcher.images(chunk, &self.device));
                softmax(logits, 1).into_data()
            });
            let probs = probs.try_to_vec_as::<f32>().expect("f32 probabilities");
            out.extend(
                probs
                    .chunks(NUM_CLASSES)
                    .map(|p| <[f32; NUM_CLASSES]>::try_from(p).expect("12 classes")),
            );
        }
        out
    }
}
