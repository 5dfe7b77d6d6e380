//! `trainer`: train, evaluate and use the Hanzi12 networks.

mod atomic;
mod backend;
mod bench;
mod cli;
mod commands;
mod config;
mod data;
mod ensemble;
mod infer;
mod interop;
mod metrics;
mod optim;
mod progress;
mod run_dir;
mod scratch;
mod serve;
mod stretch;
mod study;
mod train;

use clap::Parser;
use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Training allocates and frees tensors of tens of megabytes every step. The
/// system allocator hands such blocks back to the kernel and takes them
/// again, paying a page fault per 4 KB each time; mimalloc keeps them, once
/// told to (see [`keep_freed_memory`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3), which the sys crate
/// names the options around but not this one.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Stops mimalloc from returning freed memory to the kernel (by default after
/// a delay), which it then had to fault in and zero again step after step:
/// `trainer bench --model cnn_res` took 9,500 page faults without this and
/// 1,150 with it, and peaked at 284 MB instead of 269.
fn keep_freed_memory() {
    // SAFETY: setting an option is safe at any time; -1 means "never purge".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Treats subnormal floats as zero on every thread (see `kernels::subnormal`):
/// in a trained `cnn_res`, a quarter of Adam's moment values decay into the
/// subnormal range (the weights of inputs that are always zero), and each
/// step then ran them through the CPU's slow path. `HANZI12_KEEP_SUBNORMALS=1`
/// keeps IEEE arithmetic, to measure the difference (`bench --trained`).
/// Set on the main thread before any other thread exists, so every thread
/// (rayon's pool, the loaders, the Learner's) starts with it; no pool is
/// started here for commands that never compute.
fn flush_subnormals() {
    if std::env::var_os("HANZI12_KEEP_SUBNORMALS").is_none() {
        kernels::subnormal::set_on_this_thread(true);
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    flush_subnormals();
    kernels::pack_wide_blocks_only();
    report_panics_in_one_line();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Train(cli.train)) {
        Command::Train(args) => commands::run_train(args),
        Command::Predict(args) => commands::run_predict(args),
        Command::Eval(args) => commands::run_eval(args),
        Command::Synth(args) => commands::run_synth(args),
        Command::Sheet(args) => commands::run_sheet(args),
        Command::Bench(args) => commands::run_bench(args),
        Command::Scratch(args) => commands::run_scratch(args),
        Command::Study(args) => study::run(&args),
        Command::Devices => backend::report_adapters(),
        Command::Export(args) => commands::run_export(args),
        Command::Import(args) => commands::run_import(args),
        Command::Serve(args) => serve::run(&args),
        Command::ServeBench(args) => serve::bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A bug should still end in one line that says where, not a backtrace.
fn report_panics_in_one_line() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {}", message.replace('\n', " "));
    }));
}
