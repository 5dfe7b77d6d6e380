//! The "variance shift" of Li et al. (CVPR 2019), measured on the saved
//! checkpoint of every epoch: dropout before a BatchNorm makes the variance
//! BatchNorm sees in training larger than what it sees in evaluation, when
//! dropout is off, yet evaluation normalises with the variance stored in
//! training.

use anyhow::{Result, anyhow, bail};
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::prelude::*;
use dataset::{Hanzi12, Hanzi12Batcher, Hanzi12Item};
use hanzi12::run_dir::{CheckpointKind, RunDir};
use models::Network;
use plotters::prelude::SeriesLabelPosition;
use std::path::Path;

use super::budget::Budget;
use super::difference::Difference;
use super::findings::verdict;
use super::outcome::{Outcome, Run, mean_sd, pm};
use crate::plot::{self, Chart, Line, Panel};

/// Images of the fixed probe batch.
pub const PROBE_IMAGES: usize = 512;

/// What enters the second BatchNorm, per channel, averaged over channels.
#[derive(Clone, Debug)]
pub struct Shift {
    pub epoch: usize,
    /// Variance in training mode (dropout on) / in evaluation mode (off).
    pub train_over_eval: f64,
    /// BatchNorm's stored running variance / the evaluation-mode variance:
    /// above 1, evaluation divides by too much. `None` without BatchNorm.
    pub running_over_eval: Option<f64>,
}

/// Per-channel variance of `[N, C, H, W]` over N, H and W.
fn channel_variance(x: Tensor<4>) -> Vec<f64> {
    let [_, channels, _, _] = x.dims();
    let per_channel: Tensor<2> = x.swap_dims(0, 1).reshape([channels as i32, -1]);
    let values = per_channel.var(1).into_data();
    values.iter::<f64>().collect()
}

fn mean_ratio(num: &[f64], den: &[f64]) -> f64 {
    let ratios: Vec<f64> = num.iter().zip(den).map(|(a, b)| a / b.max(1e-12)).collect();
    ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
}

/// The shift after each epoch of `run`, whose every checkpoint was kept.
pub fn measure(run: &Run, probe: &[Hanzi12Item], device: &Device) -> Result<Vec<Shift>> {
    let dir = RunDir::new(&run.dir);
    let batcher = Hanzi12Batcher::new(run.recipe.convention);
    let train_device = device.clone().autodiff();
    // Dropout's masks come from the device's generator: fixed, so the
    // report is the same each time it is rebuilt.
    device.seed(run.recipe.seed);
    (1..=run.recipe.epochs)
        .map(|epoch| {
            let file = dir.checkpoint(CheckpointKind::Model, epoch);
            let model = run
                .recipe
                .model
                .init(&train_device)
                .try_load_file(&file)
                .map_err(|e| anyhow!("{}: cannot load the checkpoint: {e}", file.display()))?;
            let Network::Cnn(training) = model else {
                bail!("the variance shift is measured on the cnn variants only");
            };
            // Evaluation first: a training-mode pass updates the first
            // BatchNorm's running statistics.
            let evaluation = training.valid();
            // Training mode (dropout on, batch statistics) without recording
            // a graph: nothing will call backward to free one.
            let training = training.no_grad();
            let (x_eval, _) = evaluation.second_norm_probe(batcher.images(probe, device));
            let (x_train, running) =
                training.second_norm_probe(batcher.images(probe, &train_device));
            let eval_var = channel_variance(x_eval);
            let train_var = channel_variance(x_train);
            let running_over_eval = running.map(|r| {
                let running: Vec<f64> = r.into_data().iter::<f64>().collect();
                mean_ratio(&running, &eval_var)
            });
            Ok(Shift {
                epoch,
                train_over_eval: mean_ratio(&train_var, &eval_var),
                running_over_eval,
            })
        })
        .collect()
}

/// The shift of every run of every setting, per epoch.
pub fn shifts(
    outcomes: &[Outcome],
    valid: &Hanzi12,
    budget: &Budget,
) -> Result<Vec<Vec<Vec<Shift>>>> {
    let probe: Vec<_> = (0..valid.len().min(PROBE_IMAGES))
        .filter_map(|i| valid.get(i).ok())
        .collect();
    let device = budget.backend.device()?;
    outcomes
        .iter()
        .map(|o| {
            o.runs
                .iter()
                .map(|run| measure(run, &probe, &device))
                .collect()
        })
        .collect()
}

/// Mean over seeds of `f` per epoch.
fn mean_shift(runs: &[Vec<Shift>], f: impl Fn(&Shift) -> Option<f64>) -> Vec<(f64, f64)> {
    let epochs = runs.iter().map(Vec::len).min().unwrap_or(0);
    (0..epochs)
        .filter_map(|i| {
            let ys: Option<Vec<f64>> = runs.iter().map(|r| f(&r[i])).collect();
            ys.map(|ys| (runs[0][i].epoch as f64, mean_sd(&ys).0))
        })
        .collect()
}

pub fn draw(path: &Path, outcomes: &[Outcome], shifts: &[Vec<Vec<Shift>>]) -> Result<()> {
    let panel = |title: &str, f: fn(&Shift) -> Option<f64>| Panel {
        title: title.to_string(),
        lines: outcomes
            .iter()
            .zip(shifts)
            .zip(plot::PALETTE)
            .filter_map(|((o, runs), color)| {
                let points = mean_shift(runs, f);
                (!points.is_empty()).then(|| Line::new(o.variant.label.clone(), color, points))
            })
            .collect(),
    };
    let chart = Chart {
        x_label: "epoch",
        y_label: "variance ratio",
        y_range: None,
        log_y: false,
        columns: 2,
        legend: SeriesLabelPosition::UpperLeft,
    };
    plot::draw(
        path,
        &chart,
        &[
            panel("BN running var / eval-mode var", |s| s.running_over_eval),
            panel("train-mode var / eval-mode var", |s| {
                Some(s.train_over_eval)
            }),
        ],
    )
}

pub fn table(outcomes: &[Outcome], shifts: &[Vec<Vec<Shift>>]) -> String {
    let mut text = String::from(
        "\nVariance at the second BatchNorm's input (the second convolution's output) on a fixed batch of \
         validation images, mean over channels:\n\n\
         | setting | running var / eval var, epoch 1 | …, last epoch | train var / eval var, epoch 1 | …, last epoch |\n\
         |---|---|---|---|---|\n",
    );
    for (o, runs) in outcomes.iter().zip(shifts) {
        let at = |f: fn(&Shift) -> Option<f64>, last: bool| {
            let v: Option<Vec<f64>> = runs
                .iter()
                .map(|r| f(if last { r.last()? } else { r.first()? }))
                .collect();
            v.map_or("—".to_string(), |v| pm(&v, 3))
        };
        text += &format!(
            "| {} | {} | {} | {} | {} |\n",
            o.variant.label,
            at(|s| s.running_over_eval, false),
            at(|s| s.running_over_eval, true),
            at(|s| Some(s.train_over_eval), false),
            at(|s| Some(s.train_over_eval), true),
        );
    }
    text
}

pub fn compare(outcomes: &[Outcome], shifts: &[Vec<Vec<Shift>>]) -> String {
    let series = |label: &str| {
        let i = outcomes.iter().position(|o| o.variant.label == label)?;
        let runs = &shifts[i];
        let first: Option<Vec<f64>> = runs.iter().map(|r| r.first()?.running_over_eval).collect();
        let last: Option<Vec<f64>> = runs.iter().map(|r| r.last()?.running_over_eval).collect();
        Some((first?, last?))
    };
    let (Some((_, bn_last)), Some((both_first, both_last))) =
        (series("cnn_bn"), series("cnn_bn_dropout"))
    else {
        return String::new();
    };
    let shift = Difference::of(&both_last, &bn_last);
    let growth = Difference::of(&both_last, &both_first);
    format!(
        "The shift itself: with dropout before it, the second BatchNorm's stored variance is {:.3}× the variance \
         it meets in evaluation after the last epoch, against {:.3}× without dropout ({}; the paper's \
         mechanism {}). From the first epoch to the last the ratio with dropout moves from {:.3} to {:.3} \
         ({}): on the shift growing with training the run {}.",
        mean_sd(&both_last).0,
        mean_sd(&bn_last).0,
        shift.describe(""),
        verdict(&shift),
        mean_sd(&both_first).0,
        mean_sd(&both_last).0,
        growth.describe(""),
        verdict(&growth),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_per_channel() {
        let device = Device::flex();
        // Channel 0 constant, channel 1 alternating ±1.
        let data: Vec<f32> = (0..2 * 2 * 2 * 2)
            .map(|i| {
                let channel = (i / 4) % 2;
                if channel == 0 {
                    3.0
                } else if i % 2 == 0 {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [2, 2, 2, 2]), &device);
        let var = channel_variance(x);
        assert!(var[0].abs() < 1e-9);
        // Sample variance of four +1 and four -1.
        assert!((var[1] - 8.0 / 7.0).abs() < 1e-6, "{var:?}");
        assert!((mean_ratio(&[2.0, 6.0], &[1.0, 3.0]) - 2.0).abs() < 1e-12);
    }
}
