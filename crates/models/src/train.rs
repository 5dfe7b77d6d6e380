//! What training needs of a network beyond its forward pass: the loss and
//! accuracy of a batch, and Burn's training and validation steps, on the
//! thread the `kernels` crate picks for the device; and the [`Trainee`], a
//! network with its Adam, which Burn's `Learner` trains. Built with the
//! `train` feature (not in WebAssembly, where a network only reads).

use burn::module::{Devices, Module, ModuleMapper, ModuleVisitor};
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradAdaptor, GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use dataset::Hanzi12Batch;

use crate::{Adam, Network};

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
        on_its_compute_thread(self, |network| optim.step(lr, network, grads))
    }

    fn optimize_multi(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: MultiGradientsParams,
    ) -> Self {
        on_its_compute_thread(self, |network| optim.step_multi(lr, network, grads))
    }
}

/// `work` (an optimizer step of `module`) on the thread the `kernels` crate
/// picks for the module's device, as the training step ran.
fn on_its_compute_thread<M: Module, R: Send>(module: M, work: impl FnOnce(M) -> R + Send) -> R {
    match module.devices().into_iter().next() {
        Some(device) => kernels::on_compute_thread(&device, || work(module)),
        None => work(module),
    }
}

impl InferenceStep for Network {
    type Input = Hanzi12Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Hanzi12Batch) -> ClassificationOutput {
        kernels::on_compute_thread(&batch.images.device(), || self.classify(batch))
    }
}

/// A network in training, with the [`Adam`] that steps it where the recipe
/// asks for Adam: the model Burn's `Learner` trains. Its optimizer step is
/// `adam.step`, over all parameters at once; without an Adam (SGD), the
/// Learner's `ModuleOptimizer` steps it. As a module it *is* its network
/// (the same parameters under the same paths), so its checkpoints are the
/// network's.
#[derive(Clone, Debug)]
pub struct Trainee {
    pub network: Network,
    adam: Option<Adam>,
}

impl Trainee {
    /// `network`, stepped by `adam`, or by the Learner's optimizer if none.
    pub fn new(network: Network, adam: Option<Adam>) -> Self {
        Trainee { network, adam }
    }

    /// One optimizer step with `grads`: the Adam's, over all parameters at
    /// once, or without one `burn_step` (the Learner's `ModuleOptimizer`).
    fn stepped<G: Into<GradAdaptor> + Send>(
        self,
        lr: ModuleLearningRate,
        grads: G,
        burn_step: impl FnOnce(Network, ModuleLearningRate, G) -> Network,
    ) -> Self {
        let Trainee { network, adam } = self;
        let network = match &adam {
            Some(adam) => on_its_compute_thread(network, |network| adam.step(&lr, network, grads)),
            None => burn_step(network, lr, grads),
        };
        Trainee { network, adam }
    }

    /// The same trainee with `change` made to its network.
    fn changed(self, change: impl FnOnce(Network) -> Network) -> Self {
        Trainee {
            network: change(self.network),
            adam: self.adam,
        }
    }
}

impl TrainStep for Trainee {
    type Input = Hanzi12Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Hanzi12Batch) -> TrainOutput<ClassificationOutput> {
        TrainStep::step(&self.network, batch)
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        self.stepped(lr, grads, |network, lr, grads| {
            network.optimize(optim, lr, grads)
        })
    }

    fn optimize_multi(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: MultiGradientsParams,
    ) -> Self {
        self.stepped(lr, grads, |network, lr, grads| {
            network.optimize_multi(optim, lr, grads)
        })
    }
}

impl InferenceStep for Trainee {
    type Input = Hanzi12Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Hanzi12Batch) -> ClassificationOutput {
        InferenceStep::step(&self.network, batch)
    }
}

/// The network's module, unchanged: no path of its own, so records and
/// files are the network's.
impl Module for Trainee {
    fn collect_devices(&self, devices: Devices) -> Devices {
        self.network.collect_devices(devices)
    }

    fn fork(self, device: &Device) -> Self {
        self.changed(|network| network.fork(device))
    }

    fn to_device(self, device: &Device) -> Self {
        self.changed(|network| network.to_device(device))
    }

    fn train(self) -> Self {
        self.changed(|network| network.train())
    }

    fn valid(&self) -> Self {
        Trainee {
            network: self.network.valid(),
            adam: self.adam.clone(),
        }
    }

    fn materialize(self) -> Self {
        self.changed(|network| network.materialize())
    }

    fn visit<Visitor: ModuleVisitor>(&self, visitor: &mut Visitor) {
        self.network.visit(visitor)
    }

    fn map<Mapper: ModuleMapper>(self, mapper: &mut Mapper) -> Self {
        self.changed(|network| network.map(mapper))
    }
}

impl std::fmt::Display for Trainee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.network, f)
    }
}
