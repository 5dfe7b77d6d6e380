//! The training and validation loaders: each image's augmented view, the
//! order of an epoch, batches built by loader threads.

use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use dataset::{Augmented, Hanzi12, Hanzi12Batch, Hanzi12Batcher};
use std::sync::Arc;

use crate::config::TrainConfig;

/// The training and validation loaders, and the images of an epoch of each.
pub struct Loaders {
    pub train: Arc<dyn DataLoader<Hanzi12Batch>>,
    pub valid: Arc<dyn DataLoader<Hanzi12Batch>>,
    /// Images per epoch: training (augmented views), validation.
    pub items: [usize; 2],
}

impl Loaders {
    pub fn new(config: &TrainConfig, train: Hanzi12, valid: Hanzi12, start_epoch: usize) -> Self {
        let batcher = Hanzi12Batcher::new(config.convention);
        // The dataset, not the loader, shuffles: its order is a function of
        // (seed, epoch), so a resumed run sees what the uninterrupted one would.
        let train = Augmented::new(train, config.augment.clone(), config.seed)
            .shuffled()
            .starting_at_epoch(start_epoch as u64);
        let items = [train.len(), valid.len()];
        let loader = |batcher| {
            DataLoaderBuilder::new(batcher)
                .batch_size(config.batch_size)
                .num_workers(config.workers)
        };
        let smoothed = batcher.with_smoothing(config.label_smoothing);
        Loaders {
            train: loader(smoothed).build(train),
            valid: loader(batcher).build(valid),
            items,
        }
    }

    pub fn steps_per_epoch(&self, batch_size: usize) -> usize {
        self.items[0].div_ceil(batch_size)
    }
}
