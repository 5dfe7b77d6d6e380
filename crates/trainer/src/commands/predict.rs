//! `trainer predict`.

use anyhow::Result;
use hanzi12::args::PredictArgs;
use hanzi12::infer::{self, Ensemble};

pub fn run(args: PredictArgs) -> Result<()> {
    let runs = args.checkpoint.runs()?;
    let ensemble = Ensemble::load(&runs, args.backend.backend, args.tta.views())?;
    infer::predict(&ensemble, &args.paths, args.top_k, args.csv.as_deref())
}
