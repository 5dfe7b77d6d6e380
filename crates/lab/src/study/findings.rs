//! What each study found, against what the course report claimed, with its
//! numbers: one function per study.

use super::difference::Difference;
use super::outcome::{Outcome, mean_sd, pm};

/// "agrees", "leans the same way" or "disagrees", for a claim that `d > 0`.
pub fn verdict(d: &Difference) -> &'static str {
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

pub fn activation(o: &[Outcome]) -> String {
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

pub fn width(o: &[Outcome]) -> String {
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

pub fn batch(o: &[Outcome]) -> String {
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

pub fn dropout(o: &[Outcome]) -> String {
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

pub fn invert(o: &[Outcome]) -> String {
    let (ink, raw) = (by_label(o, "ink = 1"), by_label(o, "white = 1 (raw)"));
    let (start, end) = Difference::start_and_end(ink, raw);
    format!(
        "Ink = 1 is {} after one epoch and {} at the end: on ink = 1 training better the run {}.",
        start.describe("points"),
        end.describe("points"),
        verdict(&end)
    )
}

pub fn cnn(o: &[Outcome]) -> String {
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

pub fn regularise(o: &[Outcome]) -> String {
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
