//! A planned run as the `trainer` command line that trains it: a training
//! run is `trainer train --recipe FILE` with its execution spelt out, so the
//! command means the same whatever the defaults become.

use hanzi12::Execution;
use std::path::Path;

use super::plan::{Job, PlannedRun};
use crate::scratch::SineConfig;

/// The program every planned command starts with.
pub const PROGRAM: &str = "trainer";

impl PlannedRun {
    /// The command's words, program first; a run whose folder already
    /// holds one continues it (`--resume`).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![PROGRAM.to_string()];
        match &self.job {
            Job::Train {
                settings,
                recipe_file,
            } => {
                argv.extend(words(&["train", "--artifacts"]));
                argv.push(path(&self.dir));
                if self.started() {
                    argv.push("--resume".into());
                }
                argv.extend(["--recipe".to_string(), path(recipe_file)]);
                argv.extend(execution_flags(&settings.execution));
            }
            Job::Sine(config) => {
                argv.extend(sine_flags(config));
                argv.extend(["--out".to_string(), path(&self.dir)]);
            }
        }
        argv
    }

    /// The command as one line for a POSIX shell.
    pub fn command(&self) -> String {
        shell_line(&self.argv())
    }
}

/// `argv` quoted for a POSIX shell where a word needs it.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|word| shlex::try_quote(word).map_or_else(|_| word.clone(), |q| q.into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// `trainer train`'s flags for where and how the run executes, spelt out:
/// the recipe itself is in its file.
fn execution_flags(execution: &Execution) -> Vec<String> {
    let mut flags = vec![
        "--backend".to_string(),
        execution.backend.to_string(),
        "--devices".to_string(),
        execution.devices.to_string(),
        "--workers".to_string(),
        execution.workers.to_string(),
    ];
    if execution.keep_every_epoch {
        flags.push("--keep-every-epoch".into());
    }
    flags
}

/// `trainer scratch --task sine`'s flags for every setting of `config`.
fn sine_flags(config: &SineConfig) -> Vec<String> {
    let t = &config.training;
    let layers: Vec<String> = config.layers.iter().map(usize::to_string).collect();
    let mut flags = words(&["scratch", "--task", "sine"]);
    for (flag, v) in [
        ("--epochs", t.epochs.to_string()),
        ("--lr", t.lr.to_string()),
        ("--momentum", t.momentum.to_string()),
        ("--batch-size", t.batch_size.to_string()),
        ("--activation", t.activation.to_string()),
        ("--layers", layers.join(",")),
        ("--dropout", config.dropout.to_string()),
        ("--sine-points", config.points.to_string()),
        ("--seed", t.seed.to_string()),
    ] {
        flags.extend([flag.to_string(), v]);
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_that_need_it_are_quoted() {
        let argv = words(&["trainer", "--data", "my data/train", "--lr", "0.05"]);
        assert_eq!(
            shell_line(&argv),
            "trainer --data 'my data/train' --lr 0.05"
        );
        assert_eq!(shlex::split(&shell_line(&argv)).unwrap(), argv);
    }
}
