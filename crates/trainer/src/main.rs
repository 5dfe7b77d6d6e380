//! `trainer`: train, evaluate and use the Hanzi12 networks, serve them, and
//! run the lab. This file sets up the process and hands each subcommand to
//! the `run` of the crate that owns it.

mod cli;
mod commands;

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
/// a delay), which it then had to fault in and zero again step after step
/// (page faults and peak memory: docs/performance.md).
fn keep_freed_memory() {
    // SAFETY: setting an option is safe at any time; -1 means "never purge".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Treats subnormal floats as zero on every thread (see `kernels::subnormal`):
/// in a trained network many of Adam's moment values decay into the
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
    // SAFETY: the first thing the process does; no other thread exists yet.
    unsafe { hanzi12::backend::prepare_environment() };
    keep_freed_memory();
    flush_subnormals();
    kernels::pack_wide_blocks_only();
    report_panics_in_one_line();
    let result = match Cli::command() {
        Command::Train(args) => commands::train::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::Sheet(args) => commands::sheet::run(args),
        Command::Devices(args) => commands::devices::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Import(args) => commands::import::run(args),
        Command::Bench(args) => lab::bench::run(args),
        Command::Scratch(args) => lab::scratch::run(args),
        Command::Study(args) => lab::study::run(args),
        Command::Sweep(args) => lab::sweep::run(args),
        Command::Serve(args) => server::run(args),
        Command::ServeBench(args) => server::load_test::run(args),
        Command::Board(args) => server::board::run(args),
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
