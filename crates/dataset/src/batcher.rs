//! Items to tensors: `[B, 1, 28, 28]` images and `[B]` targets.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Hanzi12Item, PIXELS, SIDE};

/// How pixel values are presented to the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelConvention {
    /// Ink = 1.0, background = 0.0 (the report found this trains better).
    #[default]
    Ink,
    /// The files' own convention: white paper = 1.0, black ink = 0.0.
    Raw,
}

/// A batch of images and their class indices.
#[derive(Clone, Debug)]
pub struct Hanzi12Batch {
    /// `[B, 1, 28, 28]`.
    pub images: Tensor<4>,
    /// `[B]` class indices.
    pub targets: Tensor<1, Int>,
    /// Label smoothing α of this batch's loss: each target read as 1 - α on
    /// its class plus α spread evenly over all 12 (training only).
    pub smoothing: Option<f32>,
    /// This batch's share of its optimizer step: 1 on one device; 1/N when
    /// N devices each train on a batch of the step. Burn sums the devices'
    /// gradients, so each device's loss gradient is scaled by its share to
    /// make the sum the gradient of the step's mean loss.
    pub step_share: f32,
}

/// Builds batches with one allocation for all pixels and one for all targets.
#[derive(Clone, Copy, Debug)]
pub struct Hanzi12Batcher {
    pub convention: PixelConvention,
    /// Label smoothing the batches ask of the loss.
    pub smoothing: Option<f32>,
    /// Each batch's share of its optimizer step (see [`Hanzi12Batch::step_share`]).
    pub step_share: f32,
}

impl Default for Hanzi12Batcher {
    fn default() -> Self {
        Hanzi12Batcher::new(PixelConvention::default())
    }
}

impl Hanzi12Batcher {
    pub fn new(convention: PixelConvention) -> Self {
        Hanzi12Batcher {
            convention,
            smoothing: None,
            step_share: 1.0,
        }
    }

    /// Batches whose loss smooths the labels by `smoothing`.
    pub fn with_smoothing(self, smoothing: Option<f32>) -> Self {
        Hanzi12Batcher { smoothing, ..self }
    }

    /// Batches that are `step_share` of their optimizer step each.
    pub fn with_step_share(self, step_share: f32) -> Self {
        Hanzi12Batcher { step_share, ..self }
    }

    /// The images of `items` as one `[B, 1, 28, 28]` tensor.
    pub fn images(&self, items: &[Hanzi12Item], device: &Device) -> Tensor<4> {
        let mut pixels = Vec::with_capacity(items.len() * PIXELS);
        for item in items {
            match self.convention {
                PixelConvention::Ink => pixels.extend_from_slice(&item.image),
                PixelConvention::Raw => pixels.extend(item.image.iter().map(|v| 1.0 - v)),
            }
        }
        Tensor::from_data(
            TensorData::new(pixels, [items.len(), 1, SIDE, SIDE]),
            device,
        )
    }
}

impl Batcher<Hanzi12Item, Hanzi12Batch> for Hanzi12Batcher {
    fn batch(&self, items: Vec<Hanzi12Item>, device: &Device) -> Hanzi12Batch {
        let targets: Vec<i64> = items.iter().map(|item| item.label as i64).collect();
        let targets = Tensor::from_data(TensorData::new(targets, [items.len()]), device);
        Hanzi12Batch {
            images: self.images(&items, device),
            targets,
            smoothing: self.smoothing,
            step_share: self.step_share,
        }
    }
}
