//! A server's settings, and how the flags of `serve` and `serve-bench`
//! become them.

use anyhow::{Result, bail};
use hanzi12::Backend;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::args::{BatchingArgs, ServeArgs, ServeBenchArgs};
use crate::connections::ConnectionLimits;
use crate::queue::BatchConfig;

/// Every setting of a server.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub run: PathBuf,
    pub addr: SocketAddr,
    pub backend: Backend,
    pub batch: BatchConfig,
    /// How long a request may take once its headers are in, its body included.
    pub timeout: Duration,
    pub connections: ConnectionLimits,
}

impl TryFrom<&ServeArgs> for ServeConfig {
    type Error = anyhow::Error;

    /// The flags checked, each refusal naming its flag.
    fn try_from(args: &ServeArgs) -> Result<ServeConfig> {
        let addr: SocketAddr = args.addr.parse().map_err(|_| {
            anyhow::anyhow!(
                "--addr {}: expected an IP address and port such as 127.0.0.1:8080",
                args.addr
            )
        })?;
        Ok(ServeConfig {
            run: args.checkpoint.one()?,
            addr,
            backend: args.backend.backend,
            batch: batching(&args.batching)?,
            timeout: seconds("--timeout-s", args.timeout_s)?,
            connections: ConnectionLimits {
                header_timeout: seconds("--header-timeout-s", args.header_timeout_s)?,
                max_connections: max_connections(args.max_connections)?,
            },
        })
    }
}

impl TryFrom<&ServeBenchArgs> for ServeConfig {
    type Error = anyhow::Error;

    /// The server `serve-bench` loads: on a free loopback port, with a
    /// deadline no load on this machine reaches.
    fn try_from(args: &ServeBenchArgs) -> Result<ServeConfig> {
        if args.clients.contains(&0) || args.requests == 0 {
            bail!("--clients and --requests must be at least 1");
        }
        Ok(ServeConfig {
            run: args.checkpoint.one()?,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            backend: args.backend.backend,
            batch: batching(&args.batching)?,
            timeout: Duration::from_secs(60),
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(60),
                max_connections: 4096,
            },
        })
    }
}

/// A time limit in seconds, checked.
fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if !(value > 0.0 && value <= 3600.0) {
        bail!("{flag} {value}: expected more than 0, at most 3600");
    }
    Ok(Duration::from_secs_f64(value))
}

/// The cap on open connections, checked.
fn max_connections(value: usize) -> Result<usize> {
    if !(1..=100_000).contains(&value) {
        bail!("--max-connections {value}: expected 1 to 100000");
    }
    Ok(value)
}

/// The batching limits, checked.
fn batching(args: &BatchingArgs) -> Result<BatchConfig> {
    if !(1..=4096).contains(&args.max_batch) {
        bail!("--max-batch {}: expected 1 to 4096", args.max_batch);
    }
    if !(0.0..=1000.0).contains(&args.max_wait_ms) {
        bail!("--max-wait-ms {}: expected 0 to 1000", args.max_wait_ms);
    }
    Ok(BatchConfig {
        max_batch: args.max_batch,
        max_wait: Duration::from_secs_f64(args.max_wait_ms / 1000.0),
        capacity: 16 * args.max_batch.max(64),
    })
}
