//! The command line: the list of subcommands, each with the flags of the
//! crate that runs it (`hanzi12::args`, `lab::args`, `server::args`).

use clap::{Parser, Subcommand};
use hanzi12::args::{
    DevicesArgs, EvalArgs, ExportArgs, ImportArgs, PredictArgs, SheetArgs, SynthArgs, TrainArgs,
};
use lab::args::{BenchArgs, ScratchArgs, StudyArgs, SweepArgs};
use server::args::{BoardArgs, ServeArgs, ServeBenchArgs};

const EXAMPLES: &str = "Examples:
  trainer --model cnn_res --data ../shared/hanzi12/train     train (on flex, the CPU backend)
  trainer --model cnn_res --backend wgpu                     train on a GPU
  trainer devices                                            the GPU adapter --backend wgpu uses
  trainer predict --checkpoint artifacts/cnn_res-<time> some/image.bmp
  trainer eval --checkpoint artifacts/cnn_res-<time> --data ../shared/hanzi12/train
  trainer serve --checkpoint artifacts/cnn_res-<time>       a page to write on, and an HTTP API
  trainer export --checkpoint artifacts/cnn_res-<time> --out cnn_res.safetensors
  trainer import model.pt --model cnn_res --out artifacts/from-pytorch
  trainer synth --out /tmp/synth --per-class 620
  trainer study all --data ../shared/hanzi12/train           the course report's studies";

/// Train, evaluate and use networks that read 12 handwritten Chinese
/// characters (博学笃志切问近思自由无用). Without a subcommand it trains.
#[derive(Parser, Debug)]
#[command(version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Every subcommand; each one's help is its flags' doc comment.
#[derive(Subcommand, Debug)]
pub enum Command {
    Train(TrainArgs),
    Predict(PredictArgs),
    Eval(EvalArgs),
    Synth(SynthArgs),
    Sheet(SheetArgs),
    Bench(BenchArgs),
    Scratch(ScratchArgs),
    Study(StudyArgs),
    Sweep(SweepArgs),
    Devices(DevicesArgs),
    Export(ExportArgs),
    Import(ImportArgs),
    Serve(ServeArgs),
    ServeBench(ServeBenchArgs),
    Board(BoardArgs),
}

impl Cli {
    /// The command this process was asked to run (training without a
    /// subcommand).
    pub fn command() -> Command {
        let cli = Cli::parse();
        cli.command.unwrap_or(Command::Train(cli.train))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_are_consistent() {
        use clap::CommandFactory;
        <Cli as CommandFactory>::command().debug_assert();
    }

    /// What `trainer ARGV` parses to.
    fn parse(argv: &[String]) -> Command {
        let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        cli.command.expect("a subcommand")
    }

    /// Every run of every study's plan (quick and full, on a data folder
    /// and on synthetic data), printed as a command and parsed back by this
    /// command line, trains exactly what the study planned, in its own
    /// folder: the commands cannot drift from the studies.
    #[test]
    fn every_planned_command_parses_back_to_its_run() {
        use lab::scratch::Scratch;
        use lab::study::{Budget, Job, plans};
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("o");
        let words = |s: &str| {
            let s = s.replace("OUT", out.to_str().unwrap());
            s.split_whitespace().map(String::from).collect::<Vec<_>>()
        };
        for study in [
            "trainer study all --out OUT",
            "trainer study all --quick --out OUT",
            "trainer study all --data some/train --seeds 2 --cnn-epochs 3 --out OUT",
            "trainer study all --quick --data some/train --backend ndarray --out OUT",
        ] {
            let Command::Study(args) = parse(&words(study)) else {
                panic!("a study");
            };
            let budget = Budget::from_args(&args).unwrap();
            let plans = plans(args.name, args.out.as_deref().unwrap(), &budget);
            let runs: Vec<_> = plans.iter().flat_map(|(_, plan)| plan).collect();
            let mut dirs: Vec<_> = runs.iter().map(|run| run.dir.clone()).collect();
            dirs.sort();
            dirs.dedup();
            assert_eq!(dirs.len(), runs.len(), "{study}: a folder planned twice");
            for run in runs {
                run.write_recipe().unwrap();
                let argv = run.argv();
                let line = shlex::split(&run.command()).unwrap();
                assert_eq!(line, argv, "the printed line splits back into its words");
                match (&run.job, parse(&argv)) {
                    (Job::Train { settings, .. }, Command::Train(train)) => {
                        let parsed = train.settings().unwrap();
                        let differences = parsed.recipe.differences(&settings.recipe);
                        assert!(differences.is_empty(), "{argv:?}: {differences:?}");
                        assert_eq!(parsed.execution, settings.execution, "{argv:?}");
                        assert_eq!(train.artifacts.as_ref(), Some(&run.dir));
                        assert!(!train.resume, "nothing has started yet");
                    }
                    (Job::Sine(config), Command::Scratch(scratch)) => {
                        let Scratch::Sine(parsed) = Scratch::try_from(&scratch).unwrap() else {
                            panic!("{argv:?}: not a sine fit");
                        };
                        assert_eq!(&parsed, config, "{argv:?}");
                        assert_eq!(scratch.out.as_ref(), Some(&run.dir));
                    }
                    _ => panic!("{argv:?}: another command than planned"),
                }
            }
        }
    }
}
