//! The command line: the list of subcommands, each with the flags of the
//! crate that runs it (`hanzi12::args`, `lab::args`, `server::args`).

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use hanzi12::args::{
    DevicesArgs, EvalArgs, ExportArgs, Given, ImportArgs, PredictArgs, SheetArgs, SynthArgs,
    TrainArgs,
};
use lab::args::{BenchArgs, ScratchArgs, StudyArgs};
use server::args::{ServeArgs, ServeBenchArgs};

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
    Devices(DevicesArgs),
    Export(ExportArgs),
    Import(ImportArgs),
    Serve(ServeArgs),
    ServeBench(ServeBenchArgs),
}

impl Cli {
    /// The command this process was asked to run (training without a
    /// subcommand), with the training flags the command line gave marked.
    pub fn command() -> Command {
        let matches = <Cli as CommandFactory>::command().get_matches();
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        match cli.command {
            Some(Command::Train(args)) => {
                let train = matches.subcommand_matches("train").unwrap_or(&matches);
                Command::Train(with_given(args, train))
            }
            Some(other) => other,
            None => Command::Train(with_given(cli.train, &matches)),
        }
    }
}

/// `args` with the long names of the flags `matches` got from the command
/// line (not from defaults).
fn with_given(mut args: TrainArgs, matches: &ArgMatches) -> TrainArgs {
    let command = <Cli as CommandFactory>::command();
    let train = command
        .find_subcommand("train")
        .expect("a train subcommand");
    args.given = Given(
        train
            .get_arguments()
            .filter(|arg| {
                matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine)
            })
            .filter_map(|arg| arg.get_long().map(str::to_string))
            .collect(),
    );
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_are_consistent() {
        <Cli as CommandFactory>::command().debug_assert();
    }

    #[test]
    fn given_flags_are_the_ones_on_the_command_line() {
        let given = |argv: &[&str]| {
            let matches = <Cli as CommandFactory>::command()
                .try_get_matches_from(argv)
                .unwrap();
            let cli = Cli::from_arg_matches(&matches).unwrap();
            let (args, matches) = match cli.command {
                Some(Command::Train(args)) => {
                    (args, matches.subcommand_matches("train").unwrap().clone())
                }
                _ => (cli.train, matches),
            };
            with_given(args, &matches)
                .given
                .0
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(given(&["trainer"]), Vec::<String>::new());
        assert_eq!(
            given(&[
                "trainer",
                "--lr",
                "0.01",
                "--data",
                "d",
                "--resume",
                "--artifacts",
                "a"
            ]),
            ["artifacts", "data", "lr", "resume"]
        );
        assert_eq!(
            given(&["trainer", "train", "--backend", "wgpu"]),
            ["backend"]
        );
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
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        for study in [
            "trainer study all --out o",
            "trainer study all --quick --out o",
            "trainer study all --data some/train --seeds 2 --cnn-epochs 3 --out o",
            "trainer study all --quick --data some/train --backend ndarray --out o",
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
                let argv = run.argv().unwrap();
                let line = shlex::split(&run.command().unwrap()).unwrap();
                assert_eq!(line, argv, "the printed line splits back into its words");
                match (&run.job, parse(&argv)) {
                    (
                        Job::Train {
                            config,
                            keep_every_epoch,
                        },
                        Command::Train(train),
                    ) => {
                        let parsed = hanzi12::TrainConfig::try_from(&train).unwrap();
                        assert_eq!(parsed.to_string(), config.to_string(), "{argv:?}");
                        assert_eq!(train.keep_every_epoch, *keep_every_epoch);
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
