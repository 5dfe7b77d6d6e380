//! The optimizer and the learning-rate schedule a run's recipe asks for.

use anyhow::Result;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{ModuleOptimizer, SgdConfig};
use models::{Adam, Network, Trainee};

use crate::recipe::{OptimizerKind, Recipe, Schedule};

/// The learning rate over the run's steps.
pub fn scheduler(recipe: &Recipe, steps_per_epoch: usize) -> Result<ModuleLrScheduler> {
    Ok(match recipe.schedule {
        Schedule::Constant => recipe.lr.into(),
        Schedule::Cosine => {
            CosineAnnealingLrSchedulerConfig::new(recipe.lr, recipe.epochs * steps_per_epoch)
                .init()
                .map_err(|e| anyhow::anyhow!("--lr {}: {e}", recipe.lr))?
        }
    })
}

/// The network as Burn's `Learner` trains it, with the optimizer the
/// recipe asks for, and the `ModuleOptimizer` the Learner keeps (and
/// checkpoints): Adam steps all parameters itself and that optimizer keeps
/// its records; SGD is Burn's own.
pub fn optimizer(recipe: &Recipe, network: Network) -> (Trainee, ModuleOptimizer) {
    let weight_decay =
        (recipe.weight_decay > 0.0).then(|| WeightDecayConfig::new(recipe.weight_decay as f32));
    match recipe.optimizer {
        OptimizerKind::Adam => {
            // PyTorch's epsilon, 1e-8 (Burn's default is 1e-5).
            let adam = Adam::new(1e-8, weight_decay.as_ref().map(|w| w.penalty));
            let records = adam.record_keeper(&network);
            (Trainee::new(network, Some(adam)), records)
        }
        OptimizerKind::Sgd => {
            let sgd = SgdConfig::new()
                .with_weight_decay(weight_decay)
                .with_momentum((recipe.momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(recipe.momentum)
                        .with_dampening(0.0)
                }))
                .init();
            (Trainee::new(network, None), sgd)
        }
    }
}
