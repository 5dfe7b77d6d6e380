//! The Hanzi12 library: everything the product's commands are made of.
//!
//! A run is a folder ([`run_dir`]) holding its settings ([`recipe`]: what it trains, and where), its
//! per-epoch figures ([`metrics`]) and its checkpoints; [`train`] fills one
//! with Burn's `Learner` on the images of a [`data`] source, on the device a
//! [`backend`] names, shown while it trains by [`watch`], stepping with
//! `models::Adam` (all parameters in one call); [`infer`] loads runs (one, or several as an
//! ensemble) to predict and evaluate; [`interop`] moves weights to and from
//! PyTorch. [`args`] holds the flags of the product's subcommands, and
//! [`atomic`] the one way every file is written.

pub mod args;
pub mod atomic;
pub mod backend;
pub mod data;
pub mod infer;
pub mod interop;
pub mod metrics;
pub mod recipe;
pub mod run_dir;
pub mod train;
pub mod watch;

pub use backend::Backend;
pub use recipe::{Execution, Recipe, RunSettings};
pub use run_dir::RunDir;
