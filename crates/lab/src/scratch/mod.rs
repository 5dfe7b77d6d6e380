//! `trainer scratch`: train with the hand-written backpropagation of the
//! `backprop` crate (no Burn autodiff): the report's sine fit, the BP network
//! (MLP) and the small CNN on Hanzi12. Each task has a config whose
//! `Default` is the report's setting; the command line and the studies
//! start from it.

mod classifiers;
mod config;
mod sine_fit;
mod sine_record;

pub use classifiers::{HanziConfig, HanziNet};
pub use config::{Scratch, ScratchTask, Training, defaults_per_task};
pub use sine_fit::{SineConfig, SineFit, fit_sine};

use anyhow::{Result, ensure};

use crate::args::ScratchArgs;
use backprop::ndarray::{Array2, Axis};

/// `trainer scratch`: runs the task the flags ask for (in f64 instead of f32
/// with `--f64`) and prints per-epoch progress and a final line.
pub fn run(args: ScratchArgs) -> Result<()> {
    let args = &args;
    let scratch = Scratch::try_from(args)?;
    if args.out.is_some() && !matches!(scratch, Scratch::Sine(_)) {
        anyhow::bail!("--out is for --task sine (the mlp and cnn tasks print their results)");
    }
    if let Some(out) = &args.out
        && SineFit::saved_in(out)
    {
        // A finished fit is kept: a requeued or repeated job fits nothing again.
        println!("{}: holds a finished fit, kept", out.display());
        return Ok(());
    }
    run_task(&scratch, args.f64, args.out.as_deref())
}

/// Runs one task's config, in f64 or f32; a sine fit is saved into `out`.
fn run_task(scratch: &Scratch, f64: bool, out: Option<&std::path::Path>) -> Result<()> {
    match (scratch, f64) {
        (Scratch::Sine(config), false) => sine_fit::run::<f32>(config, out),
        (Scratch::Sine(config), true) => sine_fit::run::<f64>(config, out),
        (Scratch::Hanzi(config), false) => classifiers::run::<f32>(config, "f32"),
        (Scratch::Hanzi(config), true) => classifiers::run::<f64>(config, "f64"),
    }
}

/// Refuses a dropout probability outside [0, 1).
fn check_dropout(dropout: f64) -> Result<()> {
    ensure!(
        (0.0..1.0).contains(&dropout),
        "--dropout must be in [0, 1), got {dropout}"
    );
    Ok(())
}

/// A shuffled order of `0..n` per epoch, cut into mini-batches. Like the
/// report, the last batch is filled up from the end of the order instead of
/// being short.
fn batches(n: usize, batch: usize, rng: &mut rand::rngs::StdRng) -> Vec<Vec<usize>> {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let batch = batch.min(n);
    (0..n)
        .step_by(batch)
        .map(|start| {
            if start + batch > n {
                order[n - batch..].to_vec()
            } else {
                order[start..start + batch].to_vec()
            }
        })
        .collect()
}

/// Rows `indices` of `x`.
fn gather<F: backprop::Float>(x: &Array2<F>, indices: &[usize]) -> Array2<F> {
    x.select(Axis(0), indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::init::rng;

    #[test]
    fn batches_cover_everything_with_full_batches() {
        let b = batches(10, 4, &mut rng(1));
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|b| b.len() == 4));
        let mut seen: Vec<usize> = b.concat();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(batches(3, 8, &mut rng(1)).concat().len(), 3);
    }

    #[test]
    fn help_names_each_tasks_default() {
        assert_eq!(
            defaults_per_task(|s| s.epochs.to_string()),
            "sine 800, mlp 30, cnn 20"
        );
    }

    #[test]
    fn short_sine_run() {
        // A smoke run; the full 800 epochs is `trainer scratch --task sine`.
        let config = SineConfig {
            training: Training {
                epochs: 5,
                ..ScratchTask::Sine.training()
            },
            points: 200,
            ..SineConfig::default()
        };
        run_task(&Scratch::Sine(config), false, None).unwrap();
    }
}
