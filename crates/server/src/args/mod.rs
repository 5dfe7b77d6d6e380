//! The flags of the server's subcommands, one file per subcommand.

mod batching;
mod serve;
mod serve_bench;

pub use batching::BatchingArgs;
pub use serve::ServeArgs;
pub use serve_bench::ServeBenchArgs;
