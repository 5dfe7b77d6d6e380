//! What each subcommand does with its flags: builds the settings (see
//! `cli`), runs the code that does the work, prints the result.

use anyhow::{Context, Result, bail};
use burn::data::dataset::Dataset;
use dataset::Hanzi12;
use std::path::Path;

use crate::backend::Backend;
use crate::cli::{
    BenchArgs, EvalArgs, ExportArgs, ImportArgs, PredictArgs, ScratchArgs, SheetArgs, SynthArgs,
    TrainArgs, new_run_folder, views,
};
use crate::data::{self, SYNTH_SEED};
use crate::ensemble::Ensemble;
use crate::run_dir::RunDir;
use crate::{atomic, bench, infer, interop, scratch, stretch, train};

/// Synthetic images per class for `bench` when there is no real data.
const BENCH_SYNTH_PER_CLASS: usize = 100;

pub fn run_train(args: TrainArgs) -> Result<()> {
    let (config, run) = if args.resume {
        let dir = args
            .artifacts
            .as_deref()
            .expect("clap requires --artifacts with --resume");
        let run = RunDir::new(dir);
        (run.load_config()?, run)
    } else {
        let config = args.config()?;
        let run = RunDir::new(new_run_folder(args.artifacts.as_deref(), &config));
        if run.holds_a_run() {
            bail!(
                "--artifacts {}: already holds a run (use --resume to continue it, or another folder)",
                run.path().display()
            );
        }
        (config, run)
    };
    let interrupter =
        train::stop_on_ctrl_c("the finished epochs are saved (continue with --resume)")?;

    let launch = train::Launch {
        resume: args.resume,
        ..Default::default()
    };
    let outcome = train::train(&config, &run, launch, interrupter)?;
    if let Some(reason) = &outcome.stopped_early {
        println!("stopped before the last epoch: {reason}");
    }
    match &outcome.best {
        Some(best) => println!(
            "done: best validation accuracy {:.2}% (loss {:.4}) at epoch {}, {:.0} s, artifacts in {}",
            best.accuracy,
            best.loss,
            best.epoch,
            outcome.seconds,
            outcome.run.path().display()
        ),
        None => bail!(
            "no epoch finished with a finite validation loss; nothing to keep in {}",
            outcome.run.path().display()
        ),
    }
    Ok(())
}

pub fn run_predict(args: PredictArgs) -> Result<()> {
    let ensemble = Ensemble::load(&args.checkpoint, args.backend, views(args.tta))?;
    infer::predict(&ensemble, &args.paths, args.top_k, args.csv.as_deref())
}

pub fn run_eval(args: EvalArgs) -> Result<()> {
    let ensemble = Ensemble::load(&args.checkpoint, args.backend, views(args.tta))?;
    let data = args.data.load(SYNTH_SEED, data::SYNTH_PER_CLASS)?;
    let data = if args.held_out {
        held_out(&ensemble, data)?
    } else {
        data
    };
    let evaluation = infer::evaluate(&ensemble, &data)?;
    if ensemble.members.len() > 1 || args.tta {
        println!("scoring {}", ensemble.describe());
    }
    let out = args
        .out
        .unwrap_or_else(|| RunDir::new(&args.checkpoint[0]).eval_figures());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    infer::save_png(&evaluation.confusion_png(), &out.join("confusion.png"))?;
    infer::save_png(&evaluation.mistakes_png(120), &out.join("mistakes.png"))?;
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

pub fn run_export(args: ExportArgs) -> Result<()> {
    interop::check_out(&args.out)?;
    let trained = infer::Trained::load(&args.checkpoint, Backend::Flex)?;
    let tensors = interop::export(&trained, &args.checkpoint, &args.out)?;
    println!(
        "wrote {tensors} tensors to {} (load with bench/pytorch_reference.py --load)",
        args.out.display()
    );
    if let Some(csv) = &args.logits {
        let n = interop::write_logits(&trained, &args.images, csv)?;
        println!("wrote the logits of {n} images to {}", csv.display());
    }
    Ok(())
}

pub fn run_import(args: ImportArgs) -> Result<()> {
    let model = args.model()?;
    let convention = args.convention.map(|c| c.convention());
    let normalise = args.normalise.map(|n| n.config());
    let imported = interop::load(&args.file, model, convention, normalise)?;
    interop::write_run(&imported, &args.out)?;
    let config = &imported.config;
    println!(
        "imported {} tensors of a {} ({} pixels, normalisation: {}) from {} into {}",
        imported.tensors,
        config.model.describe(),
        interop::convention_name(config.convention),
        interop::normalise_name(config.normalise.as_ref()),
        args.file.display(),
        args.out.display()
    );
    Ok(())
}

/// The validation images of the runs' split of `data`; every run must
/// have held out the same fraction, or the split would differ.
fn held_out(ensemble: &Ensemble, data: Hanzi12) -> Result<Hanzi12> {
    let ratio = ensemble.first().config.valid_ratio;
    if let Some(other) = ensemble
        .members
        .iter()
        .find(|m| m.config.valid_ratio != ratio)
    {
        bail!(
            "--held-out: the runs held out different fractions ({ratio} and {}); evaluate them separately",
            other.config.valid_ratio
        );
    }
    let (_, valid) = data.split(ratio);
    println!(
        "scoring the {} images held out for validation (valid ratio {ratio})",
        valid.len()
    );
    Ok(valid)
}

pub fn run_synth(args: SynthArgs) -> Result<()> {
    let data = data::synthetic(args.per_class, args.seed);
    write_course_layout(&data, &args.out, args.per_class)?;
    println!(
        "wrote {} synthetic images to {}/<k>/<n>.bmp",
        data.len(),
        args.out.display()
    );
    Ok(())
}

/// Writes items (in class order, `per_class` each) as `<out>/<k>/<n>.bmp`.
fn write_course_layout(data: &Hanzi12, out: &Path, per_class: usize) -> Result<()> {
    for (i, item) in data.items().iter().enumerate() {
        let dir = out.join((item.label + 1).to_string());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.bmp", i % per_class + 1));
        atomic::write_atomic(&path, &dataset::bmp::encode_bmp_1bit(&item.image))?;
    }
    Ok(())
}

pub fn run_sheet(args: SheetArgs) -> Result<()> {
    let real = args.data.load_real()?;
    let synth = dataset::synth::SyntheticHanzi12::new(
        dataset::synth::SynthConfig::new(),
        args.per_class,
        args.seed,
    );
    let sheet = dataset::sheet::contact_sheet(
        real.as_ref()
            .map(|r| r as &dyn Dataset<dataset::Hanzi12Item>),
        &synth,
        args.per_class,
    );
    infer::save_png(&sheet, &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}

pub fn run_bench(args: BenchArgs) -> Result<()> {
    args.check()?;
    if args.layers {
        for f in bench::layers(args.backend, args.batch, args.steps)? {
            if args.json {
                println!("{}", serde_json::to_string(&f)?);
            } else {
                println!(
                    "{:<26} batch {}: forward {:7.2} ms, forward + backward {:7.2} ms",
                    f.layer, f.batch, f.forward_ms, f.forward_backward_ms
                );
            }
        }
        return Ok(());
    }
    let data = args.data.load(SYNTH_SEED, BENCH_SYNTH_PER_CLASS)?;
    if let Some(run) = &args.trained {
        return run_trained_stretch(&args, run, &data);
    }
    for f in bench::bench(&args.model, args.backend, args.batch, args.steps, &data)? {
        if args.json {
            println!("{}", serde_json::to_string(&f)?);
        } else {
            println!(
                "{} on {}: train {:.0} img/s (batch {}; per step forward {:.1} ms, backward {:.1} ms, optimizer {:.1} ms), inference {:.0} img/s (batch {}), {:.0} img/s at batch 1 ({:.2} ms), data pipeline {:.0} img/s, decode {:.0} img/s, peak RSS {:.0} MB",
                f.model,
                f.backend,
                f.train_img_per_s,
                f.batch,
                f.forward_ms,
                f.backward_ms,
                f.optimizer_ms,
                f.infer_img_per_s,
                f.infer_batch,
                f.infer_batch1_img_per_s,
                f.latency_ms,
                f.data_img_per_s,
                f.decode_img_per_s,
                f.peak_rss_mb
            );
        }
    }
    Ok(())
}

pub fn run_scratch(args: ScratchArgs) -> Result<()> {
    scratch::run(&args.scratch()?, args.f64)
}

/// `bench --trained RUN`.
fn run_trained_stretch(args: &BenchArgs, run: &Path, data: &Hanzi12) -> Result<()> {
    let f = stretch::trained_stretch(run, args.backend, data, args.batch, args.steps, args.rounds)?;
    if args.json {
        println!("{}", serde_json::to_string(&f)?);
    } else {
        println!(
            "{} on {}: train img/s at batch {}: fresh weights {:.0} (subnormals flushed: {:.0}), weights and Adam state of epoch {} {:.0} (flushed: {:.0}); subnormal: {:.3} % of its gradients, {:.3} % of Adam's moments",
            f.model,
            args.backend,
            f.batch,
            f.fresh_img_per_s,
            f.fresh_flushed_img_per_s,
            f.epoch,
            f.trained_img_per_s,
            f.trained_flushed_img_per_s,
            100.0 * f.trained_subnormal_gradients,
            100.0 * f.trained_subnormal_moments
        );
    }
    Ok(())
}
