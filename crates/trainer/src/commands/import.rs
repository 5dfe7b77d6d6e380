//! `trainer import`.

use anyhow::Result;
use hanzi12::args::ImportArgs;
use hanzi12::interop;

pub fn run(args: ImportArgs) -> Result<()> {
    let model = args.model.config()?;
    let convention = args.convention.map(|c| c.convention());
    let normalise = args.normalise.map(|n| n.config());
    let imported = interop::load(&args.file, model, convention, normalise)?;
    interop::write_run(&imported, &args.out)?;
    let recipe = &imported.settings.recipe;
    println!(
        "imported {} tensors of a {} ({} pixels, normalisation: {}) from {} into {}",
        imported.tensors,
        recipe.model.describe(),
        interop::convention_name(recipe.convention),
        interop::normalise_name(recipe.normalise.as_ref()),
        args.file.display(),
        args.out.display()
    );
    Ok(())
}
