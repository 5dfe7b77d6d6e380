//! What training needs of a network beyond its forward pass: the loss and
//! accuracy of a batch, and Burn's training and validation steps, on the
//! thread the `kernels` crate picks for the device. Built with the `train`
//! feature (not in WebAssembly, where a network only reads).

use burn::module::Module;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use dataset::Hanzi12Batch;

use crate::{Network, optimize};

impl Network {
    /// Loss, logits and targets of a batch.
    pub fn classify(&self, batch: Hanzi12Batch) -> ClassificationOutput {
        self.classify_counted(batch).0
    }

    /// [`classify`](Self::classify), and how many of the batch's images the
    /// network classifies right (`[1]`, a float count), computed with the
    /// loss (in the same kernel on a GPU) and not read back here.
    pub fn classify_counted(&self, batch: Hanzi12Batch) -> (ClassificationOutput, Tensor<1>) {
        let output = self.forward(batch.images);
        let (loss, correct) =
            kernels::cross_entropy(output.clone(), batch.targets.clone(), batch.smoothing);
        let item = ClassificationOutput {
            loss,
            output,
            targets: batch.targets,
        };
        (item, correct)
    }
}

/// Each step (and optimizer step) runs on a CPU device on a thread of
/// rayon's pool, so that the operations inside it are not each handed over
/// from the Learner's thread (see `kernels::on_compute_thread`). Under
/// Burn's multi-device strategy each device's worker thread does the same.
impl TrainStep for Network {
    type Input = Hanzi12Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Hanzi12Batch) -> TrainOutput<ClassificationOutput> {
        kernels::on_compute_thread(&batch.images.device(), || {
            let share = batch.step_share;
            let item = self.classify(batch);
            // The metrics see the batch's own mean loss; the gradient is
            // the batch's share of the step's (see `Hanzi12Batch::step_share`).
            let loss = match share == 1.0 {
                true => item.loss.clone(),
                false => item.loss.clone().mul_scalar(share),
            };
            TrainOutput::new(self, loss.backward(), item)
        })
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        let device = self.devices().into_iter().next();
        let work = || optimize::step(self, optim, lr, grads);
        match device {
            Some(device) => kernels::on_compute_thread(&device, work),
            None => work(),
        }
    }
}

impl InferenceStep for Network {
    type Input = Hanzi12Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Hanzi12Batch) -> ClassificationOutput {
        kernels::on_compute_thread(&batch.images.device(), || self.classify(batch))
    }
}
