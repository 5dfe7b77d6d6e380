//! A finished sine fit in a folder: `metrics.csv` (per epoch) and `fit.csv`
//! (the curve) to read, and `fit.json`, every figure exactly, which `study
//! sine` reads back; it is written last, so a folder holding it holds a
//! finished fit.

use anyhow::{Context, Result};
use hanzi12::atomic::write_atomic;
use std::path::{Path, PathBuf};

use super::SineFit;

fn record(dir: &Path) -> PathBuf {
    dir.join("fit.json")
}

impl SineFit {
    /// Writes the fit into `dir`, creating it.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        let mut metrics = String::from("epoch,train_mse,test_mae\n");
        for (i, (mse, mae)) in self.train_mse.iter().zip(&self.test_mae).enumerate() {
            metrics += &format!("{},{mse:.8},{mae:.8}\n", i + 1);
        }
        write_atomic(&dir.join("metrics.csv"), metrics.as_bytes())?;
        let mut curve = String::from("x,sin_x,prediction\n");
        for (x, p) in self.x.iter().zip(&self.prediction) {
            curve += &format!("{x:.6},{:.6},{p:.6}\n", x.sin());
        }
        write_atomic(&dir.join("fit.csv"), curve.as_bytes())?;
        write_atomic(&record(dir), serde_json::to_string(self)?.as_bytes())
    }

    /// Whether `dir` holds a finished fit.
    pub fn saved_in(dir: &Path) -> bool {
        record(dir).is_file()
    }

    /// The fit saved in `dir`, exactly as it was computed.
    pub fn load(dir: &Path) -> Result<SineFit> {
        let path = record(dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {} (is the fit finished?)", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a saved sine fit", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_fit_reads_back_exactly() {
        let fit = SineFit {
            train_mse: vec![0.1, 1.0 / 3.0],
            test_mae: vec![0.2, std::f64::consts::PI / 100.0],
            x: vec![-1.0, 0.123456789012345],
            prediction: vec![0.5, -0.25],
            max_error: 0.0625,
            seconds: 1.5,
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        assert!(!SineFit::saved_in(&dir));
        fit.save(&dir).unwrap();
        assert!(SineFit::saved_in(&dir));
        let back = SineFit::load(&dir).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&fit).unwrap()
        );
        assert_eq!(back.test_mae[1].to_bits(), fit.test_mae[1].to_bits());
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3);
    }
}
