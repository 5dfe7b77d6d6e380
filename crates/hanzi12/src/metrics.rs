//! `metrics.csv`: one row of figures per split and epoch, as training writes
//! it and as resuming, the studies and the final report read it back.

use std::path::Path;

/// Which half of the data a row's figures come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Split {
    #[default]
    Train,
    Valid,
}

impl Split {
    /// The name in `metrics.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
        }
    }

    fn parse(name: &str) -> Option<Split> {
        match name {
            "train" => Some(Split::Train),
            "valid" => Some(Split::Valid),
            _ => None,
        }
    }
}

/// The figures of one split in one epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochRow {
    pub epoch: usize,
    pub split: Split,
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
            self.split.as_str(),
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
            split: Split::parse(f[1])?,
            loss: f[2].parse().ok()?,
            accuracy: f[3].parse().ok()?,
            lr: f[4].parse().ok(),
            seconds: f[5].parse().ok()?,
            images_per_second: f[6].parse().ok()?,
        })
    }
}

/// The whole file's text for `rows`.
pub fn to_csv(rows: &[EpochRow]) -> String {
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for row in rows {
        text.push_str(&row.to_csv());
        text.push('\n');
    }
    text
}

/// Reads the rows of a `metrics.csv`; a missing file has none.
pub fn read_metrics(path: &Path) -> Vec<EpochRow> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(EpochRow::from_csv)
                .collect()
        })
        .unwrap_or_default()
}

/// The validation row with the lowest finite loss: the epoch whose model is kept.
pub fn best_valid(rows: &[EpochRow]) -> Option<&EpochRow> {
    rows.iter()
        .filter(|r| r.split == Split::Valid && r.loss.is_finite())
        .min_by(|a, b| a.loss.total_cmp(&b.loss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_csv() {
        let rows = vec![
            EpochRow {
                epoch: 1,
                split: Split::Train,
                loss: 0.5,
                accuracy: 80.0,
                lr: Some(1e-3),
                seconds: 2.0,
                images_per_second: 100.0,
            },
            EpochRow {
                epoch: 1,
                split: Split::Valid,
                loss: 0.25,
                accuracy: 90.0,
                lr: None,
                seconds: 1.0,
                images_per_second: 50.0,
            },
        ];
        let text = to_csv(&rows);
        assert!(text.starts_with(CSV_HEADER));
        let back: Vec<EpochRow> = text
            .lines()
            .skip(1)
            .filter_map(EpochRow::from_csv)
            .collect();
        assert_eq!(back, rows);
        assert_eq!(best_valid(&back), Some(&rows[1]));
        assert_eq!(EpochRow::from_csv("1,test,0.1,1,,1,1"), None);
    }
}
