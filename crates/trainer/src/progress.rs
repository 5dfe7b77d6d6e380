//! What the user sees during training, and `metrics.csv`.
//!
//! Burn's TUI dashboard is used when stdout is a terminal. Elsewhere (CI,
//! pipes) Burn's own text renderer prints a line per batch, which buries the
//! figures, so a quiet renderer replaces it and [`EpochTable`] prints one line
//! per epoch instead. `EpochTable` also keeps `metrics.csv` in every case.

use burn::train::Interrupter;
use burn::train::logger::{EvaluationProgressLogger, MetricLogger, TrainingProgressLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::atomic::write_atomic;

/// The figures of one split in one epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochRow {
    pub epoch: usize,
    pub split: String,
    pub loss: f64,
    /// Percent.
    pub accuracy: f64,
    pub lr: Option<f64>,
    pub seconds: f64,
    pub images_per_second: f64,
}

pub const CSV_HEADER: &str = "epoch,split,loss,accuracy,lr,seconds,images_per_second";

impl EpochRow {
    pub fn to_csv(&self) -> String {
        format!(
            "{},{},{:.6},{:.4},{},{:.2},{:.1}",
            self.epoch,
            self.split,
            self.loss,
            self.accuracy,
            self.lr.map(|v| format!("{v:.3e}")).unwrap_or_default(),
            self.seconds,
            self.images_per_second
        )
    }

    pub fn from_csv(line: &str) -> Option<EpochRow> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 7 {
            return None;
        }
        Some(EpochRow {
            epoch: f[0].parse().ok()?,
            split: f[1].to_string(),
            loss: f[2].parse().ok()?,
            accuracy: f[3].parse().ok()?,
            lr: f[4].parse().ok(),
            seconds: f[5].parse().ok()?,
            images_per_second: f[6].parse().ok()?,
        })
    }
}

/// Reads the rows of a `metrics.csv`; a missing file has none.
pub fn read_metrics(path: &std::path::Path) -> Vec<EpochRow> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(EpochRow::from_csv)
                .collect()
        })
        .unwrap_or_default()
}

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
}

/// How a stop for a non-finite loss begins its reason.
pub const DIVERGED: &str = "diverged";

impl EpochTable {
    /// `rows` are those of earlier epochs (when resuming); `items` the
    /// number of images in an epoch of the train and valid splits.
    /// `interrupter` stops the run when the loss stops being finite.
    pub fn new(
        path: PathBuf,
        rows: Vec<EpochRow>,
        items: [usize; 2],
        total_epochs: usize,
        print: bool,
        interrupter: Interrupter,
    ) -> Self {
        EpochTable {
            steps: 0,
            interrupter,
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
        let mut text = String::from(CSV_HEADER);
        text.push('\n');
        for row in &self.rows {
            text.push_str(&row.to_csv());
            text.push('\n');
        }
        if let Err(e) = write_atomic(&self.path, text.as_bytes()) {
            eprintln!("warning: {e:#}");
        }
    }

    fn print_epoch(&self, epoch: usize) {
        let find = |split: &str| {
            self.rows
                .iter()
                .rev()
                .find(|r| r.epoch == epoch && r.split == split)
        };
        let (Some(train), Some(valid)) = (find("train"), find("valid")) else {
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
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
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
                && *split == Split::Train
                && !self.interrupter.should_stop()
            {
                self.interrupter.stop(Some(&format!(
                    "{DIVERGED}: the training loss became {batch_loss} at epoch {epoch}, step {}",
                    self.steps
                )));
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
        _split: &Split,
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
            Split::Train => ("train", self.items[0]),
            Split::Valid => ("valid", self.items[1]),
            Split::Test(_) => return,
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
            split: split.to_string(),
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
        if self.print && split == "valid" {
            self.print_epoch(summary.epoch_number);
        }
    }
}

/// A renderer that shows nothing: [`EpochTable`] prints the epoch lines.
pub struct QuietRenderer;

impl MetricsRendererTraining for QuietRenderer {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
    fn on_train_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for QuietRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for QuietRenderer {
    fn start(
        &mut self,
        _total_epochs: usize,
        _starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
    }
    fn update_epoch(&mut self, _epoch: usize) {}
    fn start_split(&mut self, _split: &str, _total_items: usize) {}
    fn update_split(&mut self, _items_processed: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for QuietRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for QuietRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}
