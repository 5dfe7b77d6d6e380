//! The `trainer study` command line of a study, as the report quotes it
//! and as the Slurm jobs run it again.

use hanzi12::Backend;

use super::name::StudyName;
use crate::args::StudyArgs;

/// `study NAME` and the flags of `args` that decide what it trains.
pub fn study_words(name: StudyName, args: &StudyArgs) -> Vec<String> {
    let mut words = vec!["study".to_string(), name.folder().to_string()];
    if let Some(data) = &args.data.path {
        words.extend(["--data".to_string(), data.display().to_string()]);
    }
    if args.backend.backend != Backend::Flex {
        words.extend(["--backend".to_string(), args.backend.backend.to_string()]);
    }
    if args.quick {
        words.push("--quick".to_string());
    }
    for (flag, value) in [
        ("--seeds", args.seeds),
        ("--mlp-epochs", args.mlp_epochs),
        ("--cnn-epochs", args.cnn_epochs),
    ] {
        if let Some(v) = value {
            words.extend([flag.to_string(), v.to_string()]);
        }
    }
    words
}

/// The command that reproduces one study with these arguments, as the
/// report quotes it.
pub fn command_line(name: StudyName, args: &StudyArgs) -> String {
    format!(
        "cargo run -p trainer -- {}",
        study_words(name, args).join(" ")
    )
}
