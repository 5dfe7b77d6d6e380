//! `trainer eval`.

use anyhow::{Context, Result, bail};
use burn::data::dataset::Dataset;
use dataset::Hanzi12;
use hanzi12::RunDir;
use hanzi12::args::EvalArgs;
use hanzi12::data::{SYNTH_PER_CLASS, SYNTH_SEED};
use hanzi12::infer::{self, Ensemble, Evaluation};
use std::path::Path;

pub fn run(args: EvalArgs) -> Result<()> {
    let runs = args.checkpoint.runs()?;
    let ensemble = Ensemble::load(&runs, args.backend.backend, args.tta.views())?;
    let data = args.data.load(SYNTH_SEED, SYNTH_PER_CLASS)?;
    let data = match args.held_out {
        true => held_out(&ensemble, data)?,
        false => data,
    };
    let evaluation = infer::evaluate(&ensemble, &data)?;
    if ensemble.members.len() > 1 || args.tta.tta {
        println!("scoring {}", ensemble.describe());
    }
    let out = args
        .out
        .unwrap_or_else(|| RunDir::new(&runs[0]).eval_figures());
    save_figures(&evaluation, &out)?;
    if args.json {
        println!("{}", serde_json::to_string(&evaluation)?);
    } else {
        print!("{}", evaluation.report());
        println!(
            "\nwrote {0}/confusion.png and {0}/mistakes.png",
            out.display()
        );
    }
    Ok(())
}

/// `confusion.png` and `mistakes.png` in `out`.
fn save_figures(evaluation: &Evaluation, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    infer::save_png(&evaluation.confusion_png(), &out.join("confusion.png"))?;
    infer::save_png(&evaluation.mistakes_png(120), &out.join("mistakes.png"))
}

/// The validation images of the runs' split of `data`; every run must
/// have held out the same fraction, or the split would differ.
fn held_out(ensemble: &Ensemble, data: Hanzi12) -> Result<Hanzi12> {
    let ratio = ensemble.first().recipe.valid_ratio;
    if let Some(other) = ensemble
        .members
        .iter()
        .find(|m| m.recipe.valid_ratio != ratio)
    {
        bail!(
            "--held-out: the runs held out different fractions ({ratio} and {}); evaluate them separately",
            other.recipe.valid_ratio
        );
    }
    let (_, valid) = data.split(ratio);
    println!(
        "scoring the {} images held out for validation (valid ratio {ratio})",
        valid.len()
    );
    Ok(valid)
}
