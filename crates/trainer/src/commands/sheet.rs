//! `trainer sheet`: real and synthetic samples of each class side by side.

use anyhow::Result;
use burn::data::dataset::Dataset;
use dataset::synth::{SynthConfig, SyntheticHanzi12};
use hanzi12::args::SheetArgs;
use hanzi12::infer::save_png;

pub fn run(args: SheetArgs) -> Result<()> {
    let real = args.data.load_real()?;
    let synth = SyntheticHanzi12::new(SynthConfig::new(), args.per_class, args.seed);
    let sheet = dataset::sheet::contact_sheet(
        real.as_ref()
            .map(|r| r as &dyn Dataset<dataset::Hanzi12Item>),
        &synth,
        args.per_class,
    );
    save_png(&sheet, &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
