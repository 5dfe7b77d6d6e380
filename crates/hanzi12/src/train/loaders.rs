//! The training and validation loaders: each image's augmented view, the
//! order of an epoch, batches built by loader threads.

use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use dataset::{Augmented, Hanzi12, Hanzi12Batch, Hanzi12Batcher};
use std::sync::Arc;

use crate::recipe::RunSettings;

/// The training and validation loaders, and the images of an epoch of each.
pub struct Loaders {
    pub train: Arc<dyn DataLoader<Hanzi12Batch>>,
    pub valid: Arc<dyn DataLoader<Hanzi12Batch>>,
    /// Images per epoch: training (augmented views), validation.
    pub items: [usize; 2],
    /// Devices the training loader is split across (see [`Self::steps_per_epoch`]).
    devices: usize,
    /// Training images per batch on each device.
    device_batch: usize,
}

impl Loaders {
    pub fn new(settings: &RunSettings, train: Hanzi12, valid: Hanzi12, start_epoch: usize) -> Self {
        let (recipe, execution) = (&settings.recipe, &settings.execution);
        let batcher = Hanzi12Batcher::new(recipe.convention);
        // The dataset, not the loader, shuffles: its order is a function of
        // (seed, epoch), so a resumed run sees what the uninterrupted one would.
        let train = Augmented::new(train, recipe.augment.clone(), recipe.seed)
            .shuffled()
            .starting_at_epoch(start_epoch as u64);
        let items = [train.len(), valid.len()];
        let loader = |batcher, batch_size| {
            DataLoaderBuilder::new(batcher)
                .batch_size(batch_size)
                .num_workers(execution.workers)
        };
        // Each device trains on its share of every step's batch.
        let device_batch = recipe.batch_size / execution.devices;
        let training = batcher
            .with_smoothing(recipe.label_smoothing)
            .with_step_share(1.0 / execution.devices as f32);
        Loaders {
            train: loader(training, device_batch).build(train),
            valid: loader(batcher, recipe.batch_size).build(valid),
            items,
            devices: execution.devices,
            device_batch,
        }
    }

    /// Optimizer steps per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        steps_per_epoch(self.items[0], self.devices, self.device_batch)
    }
}

/// Optimizer steps in an epoch of `items`. Burn's multi-device strategy
/// gives each device a slice of the epoch (the last one the remainder) and
/// takes one batch from every device that has one left per step.
fn steps_per_epoch(items: usize, devices: usize, device_batch: usize) -> usize {
    let largest_slice = items - (items / devices) * (devices - 1);
    largest_slice.div_ceil(device_batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_has_as_many_steps_as_its_largest_device_slice_has_batches() {
        // One device: ceil(100 / 64).
        assert_eq!(steps_per_epoch(100, 1, 64), 2);
        // 5232 images, batch 64: 82 steps on one device or on two of 32.
        assert_eq!(steps_per_epoch(5232, 1, 64), 82);
        assert_eq!(steps_per_epoch(5232, 2, 32), 82);
        // 101 images on 2 devices of 10: slices of 50 and 51, 6 steps.
        assert_eq!(steps_per_epoch(101, 2, 10), 6);
        // 3 devices of 4 on 25 images: slices 8, 8, 9.
        assert_eq!(steps_per_epoch(25, 3, 4), 3);
    }
}
