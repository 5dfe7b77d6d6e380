//! The flags of the server's subcommands, one file per subcommand.

mod batching;
mod board;
mod serve;
mod serve_bench;

pub use batching::BatchingArgs;
pub use board::BoardArgs;
pub use serve::ServeArgs;
pub use serve_bench::ServeBenchArgs;
