//! The flags of the lab's subcommands, one file per subcommand.

mod bench;
mod scratch;
mod study;
mod sweep;

pub use bench::BenchArgs;
pub use scratch::ScratchArgs;
pub use study::StudyArgs;
pub use sweep::SweepArgs;
