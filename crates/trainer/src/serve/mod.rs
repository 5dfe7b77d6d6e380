//! `serve`: a trained run behind an HTTP API and a web page where a person
//! writes a character and sees what the network reads.
//!
//! One thread owns the network and answers queued images in batches
//! ([`queue`]); axum on tokio serves the page and the API ([`routes`]);
//! everything a client sends is checked ([`picture`]) and every refusal is
//! JSON ([`error`]).

pub mod bench;
mod error;
mod page;
mod picture;
mod queue;
mod routes;

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::cli::ServeArgs;
use crate::infer::{Trained, unlabelled};
use crate::metrics::best_valid;
use crate::run_dir::RunDir;
use queue::{BatchConfig, Classifier, Queue};
use routes::{App, ClassInfo, ModelInfo};

/// Largest request body: a drawing as PNG is a few kilobytes.
pub const BODY_LIMIT: usize = 2_000_000;

/// `2 MB` for 2,000,000.
pub fn describe_bytes(bytes: usize) -> String {
    format!("{} MB", bytes as f64 / 1e6)
}

/// Where training puts runs, and where `serve` looks without `--checkpoint`.
const ARTIFACTS: &str = "artifacts";

/// Every setting of a server.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub run: PathBuf,
    pub addr: SocketAddr,
    pub backend: Backend,
    pub batch: BatchConfig,
    pub timeout: Duration,
}

impl ServeConfig {
    /// The flags checked, each refusal naming its flag.
    pub fn from_args(args: &ServeArgs) -> Result<ServeConfig> {
        let addr: SocketAddr = args.addr.parse().map_err(|_| {
            anyhow::anyhow!(
                "--addr {}: expected an IP address and port such as 127.0.0.1:8080",
                args.addr
            )
        })?;
        if !(1..=4096).contains(&args.max_batch) {
            bail!("--max-batch {}: expected 1 to 4096", args.max_batch);
        }
        if !(0.0..=1000.0).contains(&args.max_wait_ms) {
            bail!("--max-wait-ms {}: expected 0 to 1000", args.max_wait_ms);
        }
        if !(args.timeout_s > 0.0 && args.timeout_s <= 3600.0) {
            bail!(
                "--timeout-s {}: expected more than 0, at most 3600",
                args.timeout_s
            );
        }
        let run = match &args.checkpoint {
            Some(run) => run.clone(),
            None => newest_run(Path::new(ARTIFACTS))?,
        };
        Ok(ServeConfig {
            run,
            addr,
            backend: args.backend,
            batch: BatchConfig {
                max_batch: args.max_batch,
                max_wait: Duration::from_secs_f64(args.max_wait_ms / 1000.0),
                capacity: 16 * args.max_batch.max(64),
            },
            timeout: Duration::from_secs_f64(args.timeout_s),
        })
    }
}

/// The run folder under `root` whose weights were saved last.
fn newest_run(root: &Path) -> Result<PathBuf> {
    let newest = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let dir = entry.ok()?.path();
            let saved = std::fs::metadata(dir.join("model.bpk"))
                .ok()?
                .modified()
                .ok()?;
            dir.join("config.json").is_file().then_some((saved, dir))
        })
        .max();
    match newest {
        Some((_, dir)) => Ok(dir),
        None => bail!(
            "no trained run under {}/ (a folder with config.json and model.bpk): train one with `trainer --model cnn_res`, or pass --checkpoint RUN",
            root.display()
        ),
    }
}

/// A loaded model and a bound socket, ready to serve.
pub struct Server {
    listener: std::net::TcpListener,
    app: App,
    config: ServeConfig,
}

impl Server {
    /// Loads the run on the inference thread and binds the address; any
    /// failure is reported before a request can arrive.
    pub fn start(config: ServeConfig) -> Result<Server> {
        let (run, backend) = (config.run.clone(), config.backend);
        let (queue, model) = Queue::start(config.batch, move || load(&run, backend))?;
        let listener = std::net::TcpListener::bind(config.addr)
            .with_context(|| format!("--addr {}: cannot listen there", config.addr))?;
        listener.set_nonblocking(true)?;
        let app = App {
            queue,
            model: Arc::new(model),
        };
        Ok(Server {
            listener,
            app,
            config,
        })
    }

    pub fn addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn model(&self) -> &ModelInfo {
        &self.app.model
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let router = routes::router(self.app, BODY_LIMIT, self.config.timeout);
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the server stopped")
    }
}

/// The run's network as a classifier, and what `/api/model` says about it.
fn load(run: &Path, backend: Backend) -> Result<(Classifier, ModelInfo)> {
    let trained = Trained::load(run, backend)?;
    // The epoch whose weights training kept: the lowest validation loss.
    let rows = RunDir::new(run).rows();
    let best = best_valid(&rows);
    let info = ModelInfo {
        network: trained.config.model.name().to_string(),
        description: trained.config.model.describe(),
        parameters: trained.network.num_trainable_params(),
        training_data: trained.config.data.describe(),
        validation_accuracy: best.as_ref().map(|r| r.accuracy),
        epoch: best.as_ref().map(|r| r.epoch),
        backend: backend.to_string(),
        run: run.display().to_string(),
        normalise: trained.config.normalise,
        classes: ClassInfo::all(),
    };
    let classifier: Classifier = Box::new(move |images: Vec<Vec<f32>>| {
        let items: Vec<_> = images
            .into_iter()
            .map(|image| unlabelled(image, String::new()))
            .collect();
        trained.probabilities(&items)
    });
    Ok((classifier, info))
}

/// A runtime for the server: a few threads for I/O and decoding; the
/// forward passes run on the inference thread.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("serve")
        .enable_all()
        .build()
        .context("cannot start the server's runtime")
}

/// Completes on Ctrl-C (or SIGTERM), saying what happens next.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("stopping: finishing the requests in flight");
}

/// `trainer serve`.
pub fn run(args: &ServeArgs) -> Result<()> {
    let config = ServeConfig::from_args(args)?;
    let server = Server::start(config)?;
    let addr = server.addr()?;
    let model = server.model();
    let accuracy = match (model.validation_accuracy, model.epoch) {
        (Some(a), Some(e)) => format!("validation accuracy {a:.2} % at epoch {e}"),
        _ => "no validation metrics in the run".to_string(),
    };
    println!(
        "serving {} ({accuracy}; {} parameters) from {} on {}",
        model.network, model.parameters, model.run, model.backend
    );
    println!(
        "open http://{addr}/ (API: POST /api/predict, GET /api/model, GET /api/health); Ctrl-C stops"
    );
    runtime()?.block_on(server.run(stop_signal()))?;
    println!("stopped");
    Ok(())
}
