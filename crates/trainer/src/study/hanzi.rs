//! Studies 2–8: the report's experiments on the 12 characters, trained with
//! the main job's `train` (Burn's `Learner`).

use anyhow::Result;
use burn::data::dataset::Dataset;
use burn::train::Interrupter;
use dataset::{AugmentConfig, AugmentScheme, Hanzi12, PixelConvention};
use models::{Activation, ModelConfig, ModelOptions};
use std::path::Path;

use super::grid::{self, Difference, Outcome, Variant, mean_sd, pm};
use super::plot::{self, Chart, Line, Panel};
use super::shift::{self, PROBE_IMAGES, Shift};
use super::{Budget, Section, StudyName, recipe};
use crate::config::{OptimizerKind, Schedule, TrainConfig};
use crate::train::Launch;
use plotters::prelude::SeriesLabelPosition;

/// A hanzi12 study: what it varies and what the report claimed.
struct Design {
    title: &'static str,
    variants: Vec<Variant>,
    claim: &'static str,
    compare: fn(&[Outcome]) -> String,
}

/// The report's BP network as a Burn MLP: 784 → hidden → 12, trained like
/// the report's numpy code with plain mini-batch SGD at a fixed rate on the
/// four augmented views of every image.
fn mlp(budget: &Budget, hidden: &[usize], activation: Activation, dropout: f64) -> TrainConfig {
    let options = ModelOptions {
        hidden: Some(hidden.to_vec()),
        activation: Some(activation),
        dropout: Some(dropout),
    };
    let model = ModelConfig::from_name("mlp", &options).expect("the studies' MLPs are valid");
    TrainConfig::new(model, budget.data.clone())
        .with_backend(budget.backend)
        .with_epochs(budget.mlp_epochs)
        .with_batch_size(64)
        .with_optimizer(OptimizerKind::Sgd)
        .with_momentum(0.0)
        .with_lr(0.05)
        .with_schedule(Schedule::Constant)
        .with_augment(AugmentConfig::new().with_scheme(AugmentScheme::Views4))
}

/// The baseline every MLP study changes one thing of.
fn base_mlp(budget: &Budget) -> TrainConfig {
    mlp(budget, &[256, 128], Activation::LeakyRelu, 0.0)
}

/// A CNN of the report, trained as the main job trains (Adam, cosine decay)
/// with one random augmented view of each image per epoch.
fn cnn(budget: &Budget, name: &str) -> TrainConfig {
    let model = ModelConfig::from_name(name, &ModelOptions::default()).expect("a known CNN");
    TrainConfig::new(model, budget.data.clone())
        .with_backend(budget.backend)
        .with_epochs(budget.cnn_epochs)
        .with_augment(AugmentConfig::new().with_scheme(AugmentScheme::Random))
}

fn design(name: StudyName, budget: &Budget) -> Design {
    let b = budget;
    let leaky = Activation::LeakyRelu;
    match name {
        StudyName::Activation => Design {
            title: "Activation: sigmoid vs LeakyReLU (MLP)",
            variants: vec![
                Variant::new("sigmoid", mlp(b, &[256, 128], Activation::Sigmoid, 0.0)),
                Variant::new("LeakyReLU", base_mlp(b)),
            ],
            claim: "With LeakyReLU accuracy rises faster and converges higher than with sigmoid, \
                    whose small derivative away from zero slows learning.",
            compare: compare_activation,
        },
        StudyName::Width => Design {
            title: "Width and depth (MLP)",
            variants: vec![
                Variant::new("(256, 128)", base_mlp(b)),
                Variant::new("(128, 128)", mlp(b, &[128, 128], leaky, 0.0)),
                Variant::new("(512, 128)", mlp(b, &[512, 128], leaky, 0.0)),
                Variant::new("(256)", mlp(b, &[256], leaky, 0.0)),
            ],
            claim: "Wider networks converge faster and the narrow one fluctuates late, but all three \
                    two-layer networks end well; one hidden layer of 256 converges smoothly and faster \
                    than two layers.",
            compare: compare_width,
        },
        StudyName::Batch => Design {
            title: "Batch size 64 vs 256 (MLP)",
            variants: vec![
                Variant::new("batch 64", base_mlp(b)),
                Variant::new("batch 256", base_mlp(b).with_batch_size(256)),
            ],
            claim: "Batch 256 trains less efficiently than 64 and its accuracy fluctuates more.",
            compare: compare_batch,
        },
        StudyName::Dropout => Design {
            title: "Dropout 0 vs 0.1 (MLP)",
            variants: vec![
                Variant::new("no dropout", base_mlp(b)),
                Variant::new("dropout 0.1", mlp(b, &[256, 128], leaky, 0.1)),
            ],
            claim: "With dropout 0.1 training fluctuates, but accuracy rises faster and ends higher.",
            compare: compare_dropout,
        },
        StudyName::Invert => Design {
            title: "Input convention: ink = 1 vs white = 1 (MLP)",
            variants: vec![
                Variant::new("ink = 1", base_mlp(b)),
                Variant::new(
                    "white = 1 (raw)",
                    base_mlp(b).with_convention(PixelConvention::Raw),
                ),
            ],
            claim: "Inverting the input so that ink is 1 and paper 0 trains much better: the network \
                    should attend to the strokes, not to the background.",
            compare: compare_invert,
        },
        StudyName::Cnn => Design {
            title: "Plain vs residual CNN",
            variants: vec![
                Variant::new("cnn", cnn(b, "cnn")),
                Variant::new("cnn_res", cnn(b, "cnn_res")),
            ],
            claim: "The residual CNN (a 1x1 shortcut with BatchNorm around the two convolutions) \
                    performs better than the plain CNN.",
            compare: compare_cnn,
        },
        StudyName::Regularise => Design {
            title: "BatchNorm, dropout, and both (variance shift)",
            variants: vec![
                Variant::new("cnn_bn", cnn(b, "cnn_bn")),
                Variant::new("cnn_dropout", cnn(b, "cnn_dropout")),
                Variant::new("cnn_bn_dropout", cnn(b, "cnn_bn_dropout")),
            ],
            claim: "BatchNorm and dropout each help, but together the network does worse. Li et al. \
                    (CVPR 2019) explain it: dropout changes the variance of what the next BatchNorm \
                    sees between training and evaluation, while evaluation normalises with the variance \
                    stored in training, and the shift grows as training goes on.",
            compare: compare_regularise,
        },
        StudyName::Recipe => Design {
            title: "The recipe: normalisation, augmentation, label smoothing, test-time shifts, ensembles (cnn_res)",
            variants: recipe::variants(b),
            claim: recipe::CLAIM,
            compare: recipe::compare,
        },
        StudyName::Sine | StudyName::All => unreachable!("not a hanzi12 study"),
    }
}

pub fn run(
    name: StudyName,
    dir: &Path,
    budget: &Budget,
    interrupter: &Interrupter,
) -> Result<Section> {
    let design = design(name, budget);
    let regularise = name == StudyName::Regularise;
    let launch = Launch {
        keep_every_epoch: regularise,
        ..Launch::default()
    };
    let outcomes = grid::run_all(dir, &design.variants, &budget.seeds, launch, interrupter)?;
    grid::accuracy_figure(&dir.join("accuracy.png"), &outcomes)?;
    let mut figures = vec![(
        "training (red) and validation (blue) accuracy per epoch; pale: each seed, bold: their mean".to_string(),
        "accuracy.png".to_string(),
    )];
    let mut table = grid::table(&outcomes);
    let mut comparison = (design.compare)(&outcomes);
    // Every setting of a study trains on the same data and split.
    let first = &outcomes[0].runs[0].config;
    let (train, valid) = first.data.load()?.split(first.valid_ratio);
    if regularise {
        let shifts = variance_shifts(&outcomes, &valid, budget)?;
        draw_shifts(&dir.join("variance_shift.png"), &outcomes, &shifts)?;
        figures.push((
            "variance shift per epoch at the second BatchNorm's input (mean of seeds)".to_string(),
            "variance_shift.png".to_string(),
        ));
        table += &shift_table(&outcomes, &shifts);
        comparison += &compare_shifts(&outcomes, &shifts);
    }
    if name == StudyName::Recipe {
        table += &recipe::inference_table(&outcomes, &valid, budget)?;
    }
    let seconds: Vec<f64> = outcomes.iter().flat_map(Outcome::seconds).collect();
    Ok(Section {
        runs: seconds.len(),
        train_seconds: seconds.iter().sum(),
        name: name.folder(),
        title: design.title.to_string(),
        setup: setup(first, &design.variants, [train.len(), valid.len()], budget),
        table,
        figures,
        claim: design.claim.to_string(),
        comparison,
    })
}

/// The settings shared by the study, in words.
fn setup(
    config: &TrainConfig,
    variants: &[Variant],
    [train, valid]: [usize; 2],
    budget: &Budget,
) -> Vec<String> {
    let optimizer = match config.optimizer {
        OptimizerKind::Sgd if config.momentum == 0.0 => "plain SGD".to_string(),
        OptimizerKind::Sgd => format!("SGD, momentum {}", config.momentum),
        OptimizerKind::Adam => "Adam".to_string(),
    };
    let schedule = match config.schedule {
        Schedule::Constant => "constant",
        Schedule::Cosine => "cosine decay to 0",
    };
    // Settings that differ only in training share a network: named once.
    let mut networks: Vec<String> = Vec::new();
    for variant in variants {
        let network = format!("`{}`", variant.config.model.describe());
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    let networks = match networks.len() {
        1 => format!("network (every setting): {}", networks[0]),
        _ => format!("networks: {}", networks.join("; ")),
    };
    vec![
        networks,
        format!(
            "data: {} — {} training / {} validation images (the last files of each class); \
             augmentation `{}`; backend {}",
            config.data.describe(),
            train,
            valid,
            format!("{:?}", config.augment.scheme).to_lowercase(),
            config.backend
        ),
        format!(
            "{optimizer}, lr {} ({schedule}), batch {} unless the setting says otherwise, {} epochs, \
             seeds {:?} (mean ± standard deviation over seeds)",
            config.lr, config.batch_size, config.epochs, budget.seeds
        ),
    ]
}

/// "agrees", "leans the same way" or "disagrees", for a claim that `d > 0`.
pub(super) fn verdict(d: &Difference) -> &'static str {
    match (d.diff > 0.0, d.clear()) {
        _ if d.seeds < 2 => "cannot tell with one seed",
        (true, true) => "agrees",
        (true, false) => "leans the same way, but the seeds do not resolve it",
        (false, true) => "disagrees",
        (false, false) => "is not seen here (within the seeds' spread)",
    }
}

fn by_label<'a>(outcomes: &'a [Outcome], label: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.variant.label == label)
        .expect("a setting of this study")
}

fn compare_activation(o: &[Outcome]) -> String {
    let (sigmoid, leaky) = (by_label(o, "sigmoid"), by_label(o, "LeakyReLU"));
    let (start, end) = Difference::start_and_end(leaky, sigmoid);
    format!(
        "On validation, LeakyReLU is {} after one epoch and {} at the end. \
         On converging higher the run {}; on rising faster it {}.",
        start.describe("points"),
        end.describe("points"),
        verdict(&end),
        verdict(&start)
    )
}

fn compare_width(o: &[Outcome]) -> String {
    let base = by_label(o, "(256, 128)");
    let (narrow, wide, single) = (
        by_label(o, "(128, 128)"),
        by_label(o, "(512, 128)"),
        by_label(o, "(256)"),
    );
    let wide_start = Difference::of(&wide.first_valid(), &narrow.first_valid());
    let finals: Vec<f64> = o.iter().map(|x| mean_sd(&x.final_valid()).0).collect();
    let range = finals.iter().cloned().fold(f64::MIN, f64::max)
        - finals.iter().cloned().fold(f64::MAX, f64::min);
    let jitter = Difference::of(&narrow.late_jitter(), &wide.late_jitter());
    let single_start = Difference::of(&single.first_valid(), &base.first_valid());
    let single_jitter = Difference::of(&base.late_jitter(), &single.late_jitter());
    format!(
        "After one epoch (512, 128) is {} than (128, 128): on wider networks converging faster the run {}. \
         The final validation accuracies of all four lie within {range:.2} points of each other{}. The late jitter of (128, 128) is {} than that of (512, 128): on the narrow network \
         fluctuating more the run {}. One hidden layer of 256 is {} than (256, 128) after one epoch (on it \
         converging faster the run {}), and the late jitter of (256, 128) is {} than that of (256) (on one \
         layer converging more smoothly the run {}).",
        wide_start.describe("points"),
        verdict(&wide_start),
        if range < 2.0 {
            ": all end well, as the report says"
        } else {
            ": they do not all end equally well"
        },
        jitter.describe("points"),
        verdict(&jitter),
        single_start.describe("points"),
        verdict(&single_start),
        single_jitter.describe("points"),
        verdict(&single_jitter),
    )
}

fn compare_batch(o: &[Outcome]) -> String {
    let (small, large) = (by_label(o, "batch 64"), by_label(o, "batch 256"));
    let (start, end) = Difference::start_and_end(small, large);
    let jitter = Difference::of(&large.late_jitter(), &small.late_jitter());
    format!(
        "With the same number of epochs batch 256 takes a quarter of the steps. Batch 64 is {} after one \
         epoch and {} at the end: on 256 training less efficiently the run {}. Batch 256's late jitter is {} \
         than batch 64's: on it fluctuating more the run {}.",
        start.describe("points"),
        end.describe("points"),
        verdict(&end),
        jitter.describe("points"),
        verdict(&jitter)
    )
}

fn compare_dropout(o: &[Outcome]) -> String {
    let (plain, dropout) = (by_label(o, "no dropout"), by_label(o, "dropout 0.1"));
    let (start, end) = Difference::start_and_end(dropout, plain);
    let gap = |x: &Outcome| {
        let train = mean_sd(&x.final_train()).0;
        train - mean_sd(&x.final_valid()).0
    };
    format!(
        "With dropout 0.1 validation accuracy is {} after one epoch and {} at the end; the gap between \
         training and validation accuracy is {:.2} points with dropout and {:.2} without. On ending higher \
         the run {}; on rising faster it {}.",
        start.describe("points"),
        end.describe("points"),
        gap(dropout),
        gap(plain),
        verdict(&end),
        verdict(&start)
    )
}

fn compare_invert(o: &[Outcome]) -> String {
    let (ink, raw) = (by_label(o, "ink = 1"), by_label(o, "white = 1 (raw)"));
    let (start, end) = Difference::start_and_end(ink, raw);
    format!(
        "Ink = 1 is {} after one epoch and {} at the end: on ink = 1 training better the run {}.",
        start.describe("points"),
        end.describe("points"),
        verdict(&end)
    )
}

fn compare_cnn(o: &[Outcome]) -> String {
    let (plain, res) = (by_label(o, "cnn"), by_label(o, "cnn_res"));
    let (start, end) = Difference::start_and_end(res, plain);
    let loss = |x: &Outcome| pm(&x.final_valid_loss(), 4);
    format!(
        "With the same epochs, cnn_res is {} after one epoch and {} at the end (validation loss {} vs {}). \
         On the residual network performing better the run {}.",
        start.describe("points"),
        end.describe("points"),
        loss(res),
        loss(plain),
        verdict(&end)
    )
}

fn compare_regularise(o: &[Outcome]) -> String {
    let both = by_label(o, "cnn_bn_dropout");
    let best_single = o
        .iter()
        .filter(|x| x.variant.label != "cnn_bn_dropout")
        .max_by(|a, b| {
            mean_sd(&a.final_valid())
                .0
                .total_cmp(&mean_sd(&b.final_valid()).0)
        })
        .expect("two single-regulariser settings");
    let d = Difference::of(&best_single.final_valid(), &both.final_valid());
    format!(
        "The better of BatchNorm or dropout alone ({}) is {} than both together: on the combination \
         doing worse the run {}. ",
        best_single.variant.label,
        d.describe("points"),
        verdict(&d)
    )
}

/// The shift of every run of every setting, per epoch.
fn variance_shifts(
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
                .map(|run| shift::measure(run, &probe, &device))
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

fn draw_shifts(path: &Path, outcomes: &[Outcome], shifts: &[Vec<Vec<Shift>>]) -> Result<()> {
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

fn shift_table(outcomes: &[Outcome], shifts: &[Vec<Vec<Shift>>]) -> String {
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

fn compare_shifts(outcomes: &[Outcome], shifts: &[Vec<Vec<Shift>>]) -> String {
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
