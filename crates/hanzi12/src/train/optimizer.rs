//! The optimizer and the learning-rate schedule a run's settings ask for.

use anyhow::Result;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{ModuleOptimizer, SgdConfig};

use crate::config::{OptimizerKind, Schedule, TrainConfig};
use crate::optim::FusedAdam;

/// The learning rate over the run's steps.
pub fn scheduler(config: &TrainConfig, steps_per_epoch: usize) -> Result<ModuleLrScheduler> {
    Ok(match config.schedule {
        Schedule::Constant => config.lr.into(),
        Schedule::Cosine => {
            CosineAnnealingLrSchedulerConfig::new(config.lr, config.epochs * steps_per_epoch)
                .init()
                .map_err(|e| anyhow::anyhow!("--lr {}: {e}", config.lr))?
        }
    })
}

pub fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let weight_decay =
        (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
    match config.optimizer {
        // PyTorch's epsilon, 1e-8 (Burn's default is 1e-5).
        OptimizerKind::Adam => {
            FusedAdam::new(1e-8, weight_decay.as_ref().map(|w| w.penalty)).init()
        }
        OptimizerKind::Sgd => SgdConfig::new()
            .with_weight_decay(weight_decay)
            .with_momentum((config.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(config.momentum)
                    .with_dampening(0.0)
            }))
            .init(),
    }
}
