//! `trainer synth`: the built-in synthetic handwriting as course files.

use anyhow::{Context, Result};
use burn::data::dataset::Dataset;
use dataset::Hanzi12;
use hanzi12::args::SynthArgs;
use hanzi12::atomic::write_atomic;
use hanzi12::data;
use std::path::Path;

pub fn run(args: SynthArgs) -> Result<()> {
    let data = data::synthetic(args.per_class, args.seed);
    write_course_layout(&data, &args.out, args.per_class)?;
    println!(
        "wrote {} synthetic images to {}/<k>/<n>.bmp",
        data.len(),
        args.out.display()
    );
    Ok(())
}

/// Writes items (in class order, `per_class` each) as `<out>/<k>/<n>.bmp`.
fn write_course_layout(data: &Hanzi12, out: &Path, per_class: usize) -> Result<()> {
    for (i, item) in data.items().iter().enumerate() {
        let dir = out.join((item.label + 1).to_string());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.bmp", i % per_class + 1));
        write_atomic(&path, &dataset::bmp::encode_bmp_1bit(&item.image))?;
    }
    Ok(())
}
