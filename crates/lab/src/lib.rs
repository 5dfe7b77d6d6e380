//! The Hanzi12 lab: what the course studied and how fast it runs.
//!
//! [`study`] reproduces the course report's studies (training with the
//! main job's `train`, plotting with [`plot`], writing REPORT.md);
//! [`scratch`] trains with the hand-written backpropagation of the
//! `backprop` crate; [`sweep`] searches a recipe (TPE, pruning, a shared
//! journal); [`bench`] measures speed and memory. [`args`] holds
//! their flags; each is entered as `run(args)`.

pub mod args;
pub mod bench;
pub mod plot;
pub mod scratch;
pub mod study;
pub mod sweep;
