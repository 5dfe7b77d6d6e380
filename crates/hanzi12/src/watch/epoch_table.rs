//! One row per split and epoch: `metrics.csv`, rewritten after each, and a
//! printed line per epoch where there is no dashboard.

use burn::train::Interrupter;
use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split as BurnSplit};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use super::divergence::{Divergence, DivergenceSlot};
use crate::atomic::write_atomic;
use crate::metrics::{EpochRow, Split, to_csv};

/// A Burn metric logger that turns the per-batch updates into one row per
/// split and epoch, rewrites `metrics.csv` atomically after each, and prints
/// a line per epoch when `print` is set.
pub struct EpochTable {
    path: PathBuf,
    rows: Vec<EpochRow>,
    names: HashMap<MetricId, String>,
    /// Latest running (epoch-average) value of each metric of the current split.
    current: HashMap<String, f64>,
    started: Option<Instant>,
    items: [usize; 2],
    total_epochs: usize,
    print: bool,
    /// Training steps seen in the current split.
    steps: usize,
    interrupter: Interrupter,
    diverged: DivergenceSlot,
}

impl EpochTable {
    /// `rows` are those of earlier epochs (when resuming); `items` the
    /// number of images in an epoch of the train and valid splits.
    /// `interrupter` stops the run when the loss stops being finite, and
    /// `diverged` then says where.
    pub fn new(
        path: PathBuf,
        rows: Vec<EpochRow>,
        items: [usize; 2],
        total_epochs: usize,
        print: bool,
        interrupter: Interrupter,
        diverged: DivergenceSlot,
    ) -> Self {
        EpochTable {
            steps: 0,
            interrupter,
            diverged,
            path,
            rows,
            names: HashMap::new(),
            current: HashMap::new(),
            started: None,
            items,
            total_epochs,
            print,
        }
    }

    fn save(&self) {
        if let Err(e) = write_atomic(&self.path, to_csv(&self.rows).as_bytes()) {
            eprintln!("warning: {e:#}");
        }
    }

    fn print_epoch(&self, epoch: usize) {
        let find = |split: Split| {
            self.rows
                .iter()
                .rev()
                .find(|r| r.epoch == epoch && r.split == split)
        };
        let (Some(train), Some(valid)) = (find(Split::Train), find(Split::Valid)) else {
            return;
        };
        println!(
            "epoch {epoch:>3}/{}  train loss {:.4} acc {:6.2}%  valid loss {:.4} acc {:6.2}%  lr {}  {:.0} s  {:.0} img/s",
            self.total_epochs,
            train.loss,
            train.accuracy,
            valid.loss,
            valid.accuracy,
            train
                .lr
                .map(|v| format!("{v:.2e}"))
                .unwrap_or_else(|| "-".into()),
            train.seconds + valid.seconds,
            train.images_per_second
        );
    }
}

fn value(entry: &NumericEntry) -> f64 {
    match entry {
        NumericEntry::Value(v) | NumericEntry::Final(v) => *v,
        NumericEntry::Aggregated {
            aggregated_value, ..
        } => *aggregated_value,
    }
}

impl MetricLogger for EpochTable {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &BurnSplit) {
        self.started.get_or_insert_with(Instant::now);
        self.steps += 1;
        for numeric in update.entries_numeric {
            let Some(name) = self.names.get(&numeric.entry.metric_id) else {
                continue;
            };
            // A non-finite loss never comes back: stop before the next
            // checkpoint so the last good one stays the newest.
            if let Some(batch_loss) = numeric.numeric_entry.as_ref().map(value)
                && name.to_lowercase().contains("loss")
                && !batch_loss.is_finite()
                && *split == BurnSplit::Train
                && !self.interrupter.should_stop()
            {
                let divergence = Divergence {
                    loss: batch_loss,
                    epoch,
                    step: self.steps,
                };
                self.interrupter.stop(Some(&divergence.to_string()));
                let _ = self.diverged.set(divergence);
            }
            let latest = match (&numeric.numeric_entry, &numeric.running_entry) {
                (Some(NumericEntry::Final(v)), _) => Some(*v),
                (_, Some(running)) => Some(value(running)),
                (Some(entry), None) => Some(value(entry)),
                (None, None) => None,
            };
            if let Some(v) = latest {
                self.current.insert(name.clone(), v);
            }
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        _epoch: usize,
        _split: &BurnSplit,
    ) -> Result<Vec<NumericEntry>, String> {
        // Burn's own file logger answers these queries.
        Err(format!("EpochTable keeps no per-batch history of {name}"))
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let (split, items) = match summary.split {
            BurnSplit::Train => (Split::Train, self.items[0]),
            BurnSplit::Valid => (Split::Valid, self.items[1]),
            BurnSplit::Test(_) => return,
        };
        let seconds = self
            .started
            .take()
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let metric = |key: &str| {
            self.current
                .iter()
                .find(|(name, _)| name.to_lowercase().contains(key))
                .map(|(_, v)| *v)
        };
        let row = EpochRow {
            epoch: summary.epoch_number,
            split,
            loss: metric("loss").unwrap_or(f64::NAN),
            accuracy: metric("accuracy").unwrap_or(f64::NAN),
            lr: metric("learning rate"),
            seconds,
            images_per_second: items as f64 / seconds.max(1e-9),
        };
        self.current.clear();
        self.steps = 0;
        self.rows.push(row);
        self.save();
        if self.print && split == Split::Valid {
            self.print_epoch(summary.epoch_number);
        }
    }
}
