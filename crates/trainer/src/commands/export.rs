//! `trainer export`.

use anyhow::Result;
use hanzi12::args::ExportArgs;
use hanzi12::infer::Trained;
use hanzi12::{Backend, interop};

pub fn run(args: ExportArgs) -> Result<()> {
    interop::check_out(&args.out)?;
    let checkpoint = args.checkpoint.one()?;
    let trained = Trained::load(&checkpoint, Backend::Flex)?;
    let tensors = interop::export(&trained, &checkpoint, &args.out)?;
    println!(
        "wrote {tensors} tensors to {} (load with bench/pytorch_reference.py --load)",
        args.out.display()
    );
    if let Some(csv) = &args.logits {
        let n = interop::write_logits(&trained, &args.images, csv)?;
        println!("wrote the logits of {n} images to {}", csv.display());
    }
    Ok(())
}
