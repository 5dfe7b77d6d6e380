//! The product's subcommands, one file each, every one entered as
//! `run(args)`: it builds the settings from the flags, runs the library
//! code that does the work, and prints the result. The lab's and the
//! server's subcommands are entered the same way from their own crates.

pub mod devices;
pub mod eval;
pub mod export;
pub mod import;
pub mod predict;
pub mod sheet;
pub mod synth;
pub mod train;
