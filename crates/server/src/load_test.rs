//! `serve-bench`: drives a server on loopback with N concurrent clients and
//! prints requests per second and latency beside `bench`'s inference figures
//! for the same model. Figures only; nothing is asserted.

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hanzi12::infer::{Trained, inference_figures};

use crate::args::ServeBenchArgs;
use crate::server::runtime;
use crate::{ServeConfig, Server};

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

pub fn run(args: ServeBenchArgs) -> Result<()> {
    let config = ServeConfig::try_from(&args)?;
    // `bench`'s figures for these weights, measured before the server
    // starts and again after it stops: the better of each pair is the
    // baseline, so a slow moment of a shared machine cannot flatter the
    // percentages. Only the text report prints them.
    let (run, backend) = (config.run.clone(), config.backend);
    let bench_figures = || -> Result<(f64, f64)> {
        let trained = Trained::load(&run, backend)?;
        Ok(inference_figures(&trained.network, &trained.device))
    };
    let before = (!args.json).then(&bench_figures).transpose()?;
    let (network, loads) = serve_and_load(config, &args)?;
    let Some(before) = before else {
        for l in &loads {
            println!("{}", serde_json::to_string(l)?);
        }
        return Ok(());
    };
    let after = bench_figures()?;
    print_report(&args, &network, before, after, &loads);
    Ok(())
}

/// Starts the server, measures each client count in turn against it, and
/// stops it: the served network's name and the measurements.
fn serve_and_load(config: ServeConfig, args: &ServeBenchArgs) -> Result<(String, Vec<Load>)> {
    let bodies = images();
    let server = Server::start(config)?;
    let addr = server.addr()?;
    let network = server.model().network.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || -> Result<()> {
        runtime()?.block_on(server.run(async {
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
    Ok((network, measured?))
}

/// The text report: the baseline, then one line per client count.
fn print_report(
    args: &ServeBenchArgs,
    network: &str,
    before: (f64, f64),
    after: (f64, f64),
    loads: &[Load],
) {
    let (batch256, batch1) = (before.0.max(after.0), before.1.max(after.1));
    println!(
        "{network} on {}: bench inference {batch256:.0} img/s at batch 256, {batch1:.0} img/s at batch 1 ({:.2} ms); \
         the better of before ({:.0}, {:.0}) and after the load ({:.0}, {:.0})",
        args.backend.backend,
        1000.0 / batch1,
        before.0,
        before.1,
        after.0,
        after.1
    );
    for l in loads {
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
}

/// 28x28 BMP files as a program would send them: real ones where there are
/// (`data/train`, as every command's `--data` default), else synthetic;
/// shared by every client task.
fn images() -> Arc<[Bytes]> {
    let data = hanzi12::data::DataSource::resolve(None, 1, 10)
        .load()
        .unwrap_or_else(|_| hanzi12::data::synthetic(10, 1));
    data.items()
        .iter()
        .step_by(data.items().len().div_ceil(120).max(1))
        .map(|item| Bytes::from(dataset::encode_bmp_1bit(&item.image)))
        .collect()
}

/// `requests` requests from `clients` concurrent connections, after a
/// warm-up. One event-loop thread drives them all, as load generators such
/// as wrk do: the clients share the cores the server is measured on, and a
/// thread per client would spend them on waking 64 threads.
fn load(addr: SocketAddr, bodies: &Arc<[Bytes]>, clients: usize, requests: usize) -> Result<Load> {
    let per_client = requests.div_ceil(clients);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the load generator's runtime")?;
    let (results, seconds) = runtime.block_on(async {
        // Every client connects and warms up; then all start together, and
        // the clock runs from that start to the last answer.
        let mut connections = Vec::with_capacity(clients);
        for c in 0..clients {
            let mut connection = connect(addr).await?;
            for i in 0..5 {
                post(
                    &mut connection,
                    addr,
                    bodies[(c + i) % bodies.len()].clone(),
                )
                .await?;
            }
            connections.push(connection);
        }
        let started = Instant::now();
        let tasks: Vec<_> = connections
            .into_iter()
            .enumerate()
            .map(|(c, mut connection)| {
                let bodies = bodies.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let body = bodies[(c * 7 + i) % bodies.len()].clone();
                        let sent = Instant::now();
                        let batch = post(&mut connection, addr, body).await?;
                        samples.push((1000.0 * sent.elapsed().as_secs_f64(), batch));
                    }
                    anyhow::Ok(samples)
                })
            })
            .collect();
        let mut results = Vec::with_capacity(clients);
        for task in tasks {
            results.push(task.await.context("a client task failed")??);
        }
        anyhow::Ok((results, started.elapsed().as_secs_f64()))
    })?;
    let samples: Vec<(f64, f64)> = results.into_iter().flatten().collect();
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

/// One client's keep-alive HTTP/1.1 connection to the server.
type Connection = SendRequest<Full<Bytes>>;

/// How long a client waits for a connection or an answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

async fn connect(addr: SocketAddr) -> Result<Connection> {
    let connecting = async {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = handshake(TokioIo::new(stream)).await?;
        // Drives the connection until its sender is dropped.
        tokio::spawn(connection);
        anyhow::Ok(sender)
    };
    tokio::time::timeout(CLIENT_TIMEOUT, connecting)
        .await
        .with_context(|| format!("connecting to {addr}: no answer in {CLIENT_TIMEOUT:?}"))?
        .with_context(|| format!("cannot connect to {addr}"))
}

/// One prediction; the size of the pass that answered it.
async fn post(connection: &mut Connection, addr: SocketAddr, body: Bytes) -> Result<f64> {
    let exchange = async {
        connection.ready().await?;
        let request = Request::post("/api/predict")
            .header(HOST, addr.to_string())
            .header(CONTENT_TYPE, "image/bmp")
            .body(Full::new(body))?;
        let response = connection.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("{status}: {}", String::from_utf8_lossy(&body));
        }
        let answer: BatchOnly = serde_json::from_slice(&body).with_context(|| {
            format!("no batch in the answer: {}", String::from_utf8_lossy(&body))
        })?;
        anyhow::Ok(answer.batch as f64)
    };
    tokio::time::timeout(CLIENT_TIMEOUT, exchange)
        .await
        .with_context(|| format!("POST /api/predict: no answer in {CLIENT_TIMEOUT:?}"))?
        .context("POST /api/predict")
}

/// The one field of an answer the load test reads. Skipping the rest
/// instead of building a JSON tree keeps the client, which shares the CPU
/// with the server, out of the figures as far as it can be.
#[derive(serde::Deserialize)]
struct BatchOnly {
    batch: usize,
}
