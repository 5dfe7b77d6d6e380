//! How much each study trains, on what: seeds, epochs, data and backend.

use anyhow::Result;
use hanzi12::Backend;
use hanzi12::data::{DataSource, SYNTH_PER_CLASS, SYNTH_SEED};

use crate::args::StudyArgs;

/// How much each study trains, on what.
pub struct Budget {
    pub seeds: Vec<u64>,
    pub mlp_epochs: usize,
    pub cnn_epochs: usize,
    pub data: DataSource,
    pub backend: Backend,
    pub quick: bool,
}

/// Images per class in `--quick` runs.
const QUICK_PER_CLASS: usize = 24;

impl Budget {
    pub fn from_args(args: &StudyArgs) -> Result<Budget> {
        let quick = args.quick;
        let seeds = args.seeds.unwrap_or(if quick { 1 } else { 3 });
        let mlp_epochs = args.mlp_epochs.unwrap_or(if quick { 2 } else { 30 });
        let cnn_epochs = args.cnn_epochs.unwrap_or(if quick { 1 } else { 10 });
        for (flag, value) in [
            ("--seeds", seeds),
            ("--mlp-epochs", mlp_epochs),
            ("--cnn-epochs", cnn_epochs),
        ] {
            anyhow::ensure!(value > 0, "{flag} 0: expected at least 1");
        }
        // The data is fixed across seeds: seeds vary the weights, order and augmentation.
        let synthetic_per_class = if quick {
            QUICK_PER_CLASS
        } else {
            SYNTH_PER_CLASS
        };
        let mut data = args.data.source(SYNTH_SEED, synthetic_per_class);
        if let (true, DataSource::Folder { per_class, .. }) = (quick, &mut data) {
            *per_class = Some(QUICK_PER_CLASS);
        }
        Ok(Budget {
            seeds: (1..=seeds as u64).collect(),
            mlp_epochs,
            cnn_epochs,
            data,
            backend: args.backend.backend,
            quick,
        })
    }
}
