//! `trainer export`.

use anyhow::Result;
use hanzi12::args::ExportArgs;
use hanzi12::infer::Trained;
use hanzi12::{Backend, interop};
use server::site::{self, WasmModule};

pub fn run(args: ExportArgs) -> Result<()> {
    if args.web {
        return web(&args);
    }
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

/// `trainer export --web`.
fn web(args: &ExportArgs) -> Result<()> {
    let checkpoint = args.checkpoint.one()?;
    let module = match &args.wasm {
        Some(dir) => WasmModule::from_dir(dir)?,
        None => WasmModule::build()?,
    };
    let files = site::export(&checkpoint, &args.out, &module)?;
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    println!(
        "wrote the site of {} to {} ({} files, {:.2} MB; reader from {})",
        checkpoint.display(),
        args.out.display(),
        files.len(),
        total as f64 / 1e6,
        module.from
    );
    for f in &files {
        println!("  {:<20} {:>10} bytes", f.name, f.bytes);
    }
    println!(
        "serve it with any static file server, e.g. `python3 -m http.server -d {}`, and open http://localhost:8000/",
        args.out.display()
    );
    Ok(())
}
