//! Where runs go: the folder of a new run, the folder of a study's run
//! (named after its settings), and the newest run under a folder.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

use super::RunDir;
use crate::recipe::Recipe;

/// Where training puts runs unless told otherwise, and where `serve` looks
/// for the newest one.
pub const ARTIFACTS: &str = "artifacts";

impl RunDir {
    /// The folder of a new run: `chosen` (`--artifacts`), else
    /// `artifacts/<model>-<date>-<time>`.
    pub fn for_new_run(chosen: Option<&Path>, recipe: &Recipe) -> RunDir {
        RunDir::new(chosen.map(Path::to_path_buf).unwrap_or_else(|| {
            PathBuf::from(ARTIFACTS).join(format!(
                "{}-{}",
                recipe.model.name(),
                chrono::Local::now().format("%Y%m%d-%H%M%S")
            ))
        }))
    }

    /// The folder of one run of a study under `parent`: readable (the
    /// setting's label and the seed) and different whenever the settings
    /// are, so a changed study never mixes with (or overwrites) earlier
    /// results and a repeated one finds its runs again.
    pub fn for_setting(parent: &Path, label: &str, recipe: &Recipe) -> RunDir {
        let slug: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        // FNV-1a: stable across Rust versions, unlike std's hasher.
        let hash = recipe
            .to_json()
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            });
        RunDir::new(parent.join(format!("{slug}-seed{}-{:08x}", recipe.seed, hash as u32)))
    }

    /// The run folder under `root` whose weights were saved last.
    pub fn newest(root: &Path) -> Result<RunDir> {
        let newest = std::fs::read_dir(root)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let run = RunDir::new(entry.ok()?.path());
                let saved = std::fs::metadata(run.model()).ok()?.modified().ok()?;
                run.config().is_file().then_some((saved, run.dir))
            })
            .max();
        match newest {
            Some((_, dir)) => Ok(RunDir::new(dir)),
            None => bail!(
                "no trained run under {}/ (a folder with config.json and model.bpk): train one with `trainer --model cnn_res`, or pass --checkpoint RUN",
                root.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataSource;

    #[test]
    fn run_folders_of_a_study_follow_the_settings() {
        let recipe = |seed, lr| Recipe {
            seed,
            lr,
            ..Recipe::new(
                models::ModelConfig::from_name("mlp", &Default::default()).unwrap(),
                DataSource::Synthetic {
                    per_class: 10,
                    seed: 1,
                },
            )
        };
        let name = |recipe: &Recipe| {
            let run = RunDir::for_setting(Path::new("runs"), "mlp (256, 128)", recipe);
            run.path()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        let a = name(&recipe(1, 1e-3));
        assert!(a.starts_with("mlp--256--128--seed1-"), "{a}");
        assert_eq!(a, name(&recipe(1, 1e-3)));
        assert_ne!(a, name(&recipe(2, 1e-3)));
        assert_ne!(a, name(&recipe(1, 0.5)));
    }
}
