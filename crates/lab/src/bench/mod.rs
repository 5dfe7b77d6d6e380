//! `trainer bench`: throughput and memory of training, inference and the
//! data pipeline ([`speed`]); where a `cnn_res` step goes, layer by layer
//! ([`layers`]); and steps from a trained run's weights ([`trained`]).
//! Figures only: nothing is asserted.

mod layers;
mod speed;
mod trained;

pub use speed::{Figures, bench};

use anyhow::Result;
use dataset::Hanzi12;
use hanzi12::data::SYNTH_SEED;
use std::path::Path;

use crate::args::BenchArgs;

/// Synthetic images per class for `bench` when there is no real data.
const BENCH_SYNTH_PER_CLASS: usize = 100;

/// `trainer bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let args = &args;
    args.check()?;
    let backend = args.backend.backend;
    if args.layers {
        for f in layers::layers(backend, args.batch, args.steps)? {
            match args.json {
                true => println!("{}", serde_json::to_string(&f)?),
                false => println!("{}", f.line()),
            }
        }
        return Ok(());
    }
    let data = args.data.load(SYNTH_SEED, BENCH_SYNTH_PER_CLASS)?;
    if let Some(run) = &args.trained {
        return run_trained(args, run, &data);
    }
    for f in bench(&args.model, backend, args.batch, args.steps, &data)? {
        match args.json {
            true => println!("{}", serde_json::to_string(&f)?),
            false => println!("{}", f.line()),
        }
    }
    Ok(())
}

/// `bench --trained RUN`.
fn run_trained(args: &BenchArgs, run: &Path, data: &Hanzi12) -> Result<()> {
    let backend = args.backend.backend;
    let f = trained::trained_stretch(run, backend, data, args.batch, args.steps, args.rounds)?;
    match args.json {
        true => println!("{}", serde_json::to_string(&f)?),
        false => println!("{}", f.line(backend)),
    }
    Ok(())
}
