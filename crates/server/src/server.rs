//! A loaded model behind a bound socket, serving until told to stop; the
//! runtime it runs on and the signal that stops it.

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::api::BODY_LIMIT;
use crate::config::ServeConfig;
use crate::connections;
use crate::model::{ModelInfo, load};
use crate::queue::Queue;
use crate::routes::{self, App};

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
        connections::serve(listener, router, self.config.connections, shutdown).await;
        Ok(())
    }
}

/// A runtime for the server: a few threads for I/O and decoding; the
/// forward passes run on the inference thread.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("serve")
        .enable_all()
        .build()
        .context("cannot start the server's runtime")
}

/// Completes on Ctrl-C (or SIGTERM), saying what happens next.
pub async fn stop_signal() {
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
