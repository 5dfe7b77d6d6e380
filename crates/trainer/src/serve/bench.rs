//! `serve-bench`: drives a server on loopback with N concurrent clients and
//! prints requests per second and latency beside `bench`'s inference figures
//! for the same model. Figures only; nothing is asserted.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{ServeConfig, Server};
use crate::cli::ServeArgs;
use crate::cli::ServeBenchArgs;
use crate::infer::Trained;

/// One measurement.
#[derive(Debug, serde::Serialize)]
struct Load {
    clients: usize,
    requests: usize,
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Mean images per forward pass, as the server reported them.
    mean_batch: f64,
}

pub fn run(args: &ServeBenchArgs) -> Result<()> {
    if args.clients.contains(&0) || args.requests == 0 {
        bail!("--clients and --requests must be at least 1");
    }
    let config = ServeConfig::from_args(&ServeArgs {
        checkpoint: args.checkpoint.clone(),
        addr: "127.0.0.1:0".to_string(),
        backend: args.backend,
        max_batch: args.max_batch,
        max_wait_ms: args.max_wait_ms,
        timeout_s: 60.0,
    })?;
    // `bench`'s figures for these weights, measured before the server starts.
    let (batch256, batch1) = {
        let trained = Trained::load(&config.run, config.backend)?;
        let figures = crate::bench::inference_figures(&trained.network, &trained.device);
        (figures.0, figures.1)
    };
    let bodies = images();
    let server = Server::start(config)?;
    let addr = server.addr()?;
    let network = server.model().network.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || -> Result<()> {
        super::runtime()?.block_on(server.run(async {
            let _ = stopped.await;
        }))
    });
    let measured: Result<Vec<Load>> = args
        .clients
        .iter()
        .map(|&clients| load(addr, &bodies, clients, args.requests))
        .collect();
    let _ = stop.send(());
    serving
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    let loads = measured?;
    if args.json {
        for l in &loads {
            println!("{}", serde_json::to_string(l)?);
        }
        return Ok(());
    }
    println!(
        "{network} on {}: bench inference {batch256:.0} img/s at batch 256, {batch1:.0} img/s at batch 1 ({:.2} ms)",
        args.backend,
        1000.0 / batch1
    );
    for l in &loads {
        println!(
            "{:>3} clients: {:>6.0} requests/s ({:3.0} % of batch 256), p50 {:6.2} ms, p99 {:6.2} ms, {:5.1} images per pass ({} requests)",
            l.clients,
            l.requests_per_s,
            100.0 * l.requests_per_s / batch256,
            l.p50_ms,
            l.p99_ms,
            l.mean_batch,
            l.requests
        );
    }
    Ok(())
}

/// 28x28 BMP files as a program would send them: real ones where there are
/// (`data/train`, as every command's `--data` default), else synthetic.
fn images() -> Vec<Vec<u8>> {
    let data = crate::data::DataSource::resolve(None, 1, 10)
        .load()
        .unwrap_or_else(|_| crate::data::synthetic(10, 1));
    data.items()
        .iter()
        .step_by(data.items().len().div_ceil(120).max(1))
        .map(|item| dataset::encode_bmp_1bit(&item.image))
        .collect()
}

/// `requests` requests from `clients` threads, after a warm-up.
fn load(addr: SocketAddr, bodies: &[Vec<u8>], clients: usize, requests: usize) -> Result<Load> {
    let url = format!("http://{addr}/api/predict");
    let per_client = requests.div_ceil(clients);
    // Every client warms up, then all start together; the clock runs from
    // that start to the last answer.
    let start = std::sync::Barrier::new(clients + 1);
    let (results, seconds) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (url, start) = (&url, &start);
                scope.spawn(move || -> Result<Vec<(f64, f64)>> {
                    let agent = agent();
                    let warm_up = (0..5).try_for_each(|i| {
                        post(&agent, url, &bodies[(c + i) % bodies.len()]).map(|_| ())
                    });
                    start.wait();
                    warm_up?;
                    (0..per_client)
                        .map(|i| -> Result<(f64, f64)> {
                            let started = Instant::now();
                            let batch = post(&agent, url, &bodies[(c * 7 + i) % bodies.len()])?;
                            Ok((1000.0 * started.elapsed().as_secs_f64(), batch))
                        })
                        .collect()
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        let results: Vec<Result<Vec<(f64, f64)>>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| bail!("a client thread panicked"))
            })
            .collect();
        (results, started.elapsed().as_secs_f64())
    });
    let mut samples = Vec::new();
    for r in results {
        samples.extend(r?);
    }
    let mut latencies: Vec<f64> = samples.iter().map(|s| s.0).collect();
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok(Load {
        clients,
        requests: samples.len(),
        requests_per_s: samples.len() as f64 / seconds,
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        mean_batch: samples.iter().map(|s| s.1).sum::<f64>() / samples.len() as f64,
    })
}

/// A client with a limit on each read, write and connect. Not a global or
/// per-call limit: with one of those ureq resolves the address on a new
/// thread for every request (to time the lookup out), a thread per request
/// on the cores the server is measured on.
fn agent() -> ureq::Agent {
    let limit = Some(Duration::from_secs(60));
    ureq::Agent::config_builder()
        .timeout_connect(limit)
        .timeout_per_read(limit)
        .timeout_per_write(limit)
        .build()
        .into()
}

/// One prediction; the size of the pass that answered it.
fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<f64> {
    let mut response = agent
        .post(url)
        .header("Content-Type", "image/bmp")
        .send(body)
        .with_context(|| format!("POST {url}"))?;
    let body = response.body_mut().read_to_vec()?;
    let answer: BatchOnly = serde_json::from_slice(&body)
        .with_context(|| format!("no batch in the answer: {}", String::from_utf8_lossy(&body)))?;
    Ok(answer.batch as f64)
}

/// The one field of an answer the load test reads. Skipping the rest
/// instead of building a JSON tree keeps the client, which shares the CPU
/// with the server, out of the figures as far as it can be.
#[derive(serde::Deserialize)]
struct BatchOnly {
    batch: usize,
}
