//! The batching queue: requests that arrive together are answered by one
//! forward pass, run on one thread that owns the network, so passes never
//! overlap and the model is loaded once.
//!
//! The thread takes the first waiting image, then everything else already
//! queued, up to `max_batch`. It waits longer (at most `max_wait` after the
//! first image) only while other requests have been received and are being
//! decoded, so a lone client never pays the wait and a crowd shares passes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use dataset::NUM_CLASSES;
use tokio::sync::oneshot;

/// Class probabilities of one image.
pub type Probabilities = [f32; NUM_CLASSES];

/// Whatever runs the forward pass: 28x28 inputs in, probabilities out, in order.
pub type Classifier = Box<dyn FnMut(Vec<Vec<f32>>) -> Vec<Probabilities>>;

/// Limits of the queue.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    /// Most images in one forward pass.
    pub max_batch: usize,
    /// Longest an image waits for others to join its pass.
    pub max_wait: Duration,
    /// Images that may wait at once; beyond it requests are refused as busy.
    pub capacity: usize,
}

/// One image's answer and the pass that gave it.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    pub probabilities: Probabilities,
    /// Images in the forward pass.
    pub batch: usize,
    /// Milliseconds of the forward pass.
    pub forward_ms: f64,
}

/// Why an image got no answer.
#[derive(Debug, PartialEq)]
pub enum QueueError {
    /// `capacity` images are already waiting.
    Busy,
    /// The forward pass failed (a bug: it panicked); the thread goes on.
    Failed(String),
    /// The inference thread has stopped.
    Stopped,
}

struct Job {
    image: Vec<f32>,
    reply: oneshot::Sender<Result<Answer, QueueError>>,
}

/// The sending side, shared by all request handlers.
#[derive(Clone)]
pub struct Queue {
    sender: SyncSender<Job>,
    /// Requests received and being decoded: they will join the queue soon.
    arriving: Arc<AtomicUsize>,
}

/// A request on its way to the queue, counted until it is queued or dropped.
pub struct Arrival(Arc<AtomicUsize>);

impl Drop for Arrival {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Queue {
    /// Starts the inference thread. `make` builds the classifier on that
    /// thread (a network need not move between threads) and returns what the
    /// caller wants to know about it, or why it could not be built.
    pub fn start<T, F>(config: BatchConfig, make: F) -> anyhow::Result<(Queue, T)>
    where
        T: Send + 'static,
        F: FnOnce() -> anyhow::Result<(Classifier, T)> + Send + 'static,
    {
        let (sender, receiver) = sync_channel::<Job>(config.capacity.max(1));
        let arriving = Arc::new(AtomicUsize::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let counter = arriving.clone();
        std::thread::Builder::new()
            .name("inference".to_string())
            .spawn(move || match make() {
                Ok((classifier, info)) => {
                    let _ = ready_tx.send(Ok(info));
                    serve_batches(classifier, &receiver, &counter, config);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })?;
        let info = ready_rx.recv().map_err(|_| {
            anyhow::anyhow!("the inference thread stopped while loading the model")
        })??;
        Ok((Queue { sender, arriving }, info))
    }

    /// Counts a request that is about to be decoded and queued.
    pub fn arrival(&self) -> Arrival {
        self.arriving.fetch_add(1, Ordering::AcqRel);
        Arrival(self.arriving.clone())
    }

    /// Queues one 28x28 input and waits for its answer.
    pub async fn classify(&self, arrival: Arrival, image: Vec<f32>) -> Result<Answer, QueueError> {
        let (reply, answer) = oneshot::channel();
        let sent = self.sender.try_send(Job { image, reply });
        drop(arrival);
        match sent {
            Ok(()) => answer.await.unwrap_or(Err(QueueError::Stopped)),
            Err(TrySendError::Full(_)) => Err(QueueError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(QueueError::Stopped),
        }
    }
}

/// The inference thread's loop: until every sender is gone.
fn serve_batches(
    mut classify: Classifier,
    receiver: &Receiver<Job>,
    arriving: &AtomicUsize,
    config: BatchConfig,
) {
    while let Ok(first) = receiver.recv() {
        let jobs = gather(first, receiver, arriving, config);
        let batch = jobs.len();
        let (images, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.image, j.reply)).unzip();
        let started = Instant::now();
        // A panic in the pass is a bug; it fails this batch, not the server.
        let outcome = catch_unwind(AssertUnwindSafe(|| classify(images)));
        let forward_ms = 1000.0 * started.elapsed().as_secs_f64();
        match outcome {
            Ok(probabilities) if probabilities.len() == batch => {
                for (reply, probabilities) in replies.into_iter().zip(probabilities) {
                    let _ = reply.send(Ok(Answer {
                        probabilities,
                        batch,
                        forward_ms,
                    }));
                }
            }
            outcome => {
                let reason = match outcome {
                    Ok(p) => format!("{} answers for {batch} images", p.len()),
                    Err(panic) => panic_message(panic.as_ref()),
                };
                for reply in replies {
                    let _ = reply.send(Err(QueueError::Failed(reason.clone())));
                }
            }
        }
    }
}

/// The first job and those that join it (see the module's doc).
fn gather(
    first: Job,
    receiver: &Receiver<Job>,
    arriving: &AtomicUsize,
    config: BatchConfig,
) -> Vec<Job> {
    let deadline = Instant::now() + config.max_wait;
    let mut jobs = vec![first];
    while jobs.len() < config.max_batch {
        if let Ok(job) = receiver.try_recv() {
            jobs.push(job);
            continue;
        }
        let now = Instant::now();
        if arriving.load(Ordering::Acquire) == 0 || now >= deadline {
            break;
        }
        // Short slices: the count may drop to zero (a request refused while
        // decoding) without anything arriving.
        match receiver.recv_timeout((deadline - now).min(Duration::from_micros(200))) {
            Ok(job) => jobs.push(job),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    jobs
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn config(max_batch: usize, max_wait_ms: u64) -> BatchConfig {
        BatchConfig {
            max_batch,
            max_wait: Duration::from_millis(max_wait_ms),
            capacity: 64,
        }
    }

    /// A classifier that answers each image's first pixel as class 0's
    /// probability, records its batch sizes, and panics on a NaN.
    fn recording(sizes: Arc<Mutex<Vec<usize>>>) -> Classifier {
        Box::new(move |images: Vec<Vec<f32>>| {
            sizes.lock().unwrap().push(images.len());
            images
                .iter()
                .map(|image| {
                    assert!(!image[0].is_nan(), "a NaN pixel");
                    let mut p = [0.0; NUM_CLASSES];
                    p[0] = image[0];
                    p
                })
                .collect()
        })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn requests_arriving_together_share_a_pass_and_get_their_own_answers() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let recorder = sizes.clone();
        let (queue, ()) =
            Queue::start(config(8, 5000), move || Ok((recording(recorder), ()))).unwrap();
        // Ten requests announced before any is queued: 8 fill a pass at once.
        let arrivals: Vec<Arrival> = (0..10).map(|_| queue.arrival()).collect();
        let answers = runtime().block_on(async {
            let handles: Vec<_> = arrivals
                .into_iter()
                .enumerate()
                .map(|(i, arrival)| {
                    let queue = queue.clone();
                    tokio::spawn(async move { queue.classify(arrival, vec![i as f32; 784]).await })
                })
                .collect();
            let mut out = Vec::new();
            for handle in handles {
                out.push(handle.await.unwrap());
            }
            out
        });
        for (i, answer) in answers.into_iter().enumerate() {
            assert_eq!(answer.unwrap().probabilities[0], i as f32);
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 10);
        assert_eq!(sizes[0], 8, "{sizes:?}");
    }

    #[test]
    fn a_lone_request_does_not_wait_for_company() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let recorder = sizes.clone();
        let (queue, ()) =
            Queue::start(config(64, 10_000), move || Ok((recording(recorder), ()))).unwrap();
        let started = Instant::now();
        let answer = runtime()
            .block_on(queue.classify(queue.arrival(), vec![0.5; 784]))
            .unwrap();
        assert_eq!((answer.batch, answer.probabilities[0]), (1, 0.5));
        // Ten seconds of max_wait would show; no timing is asserted beyond it.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_panicking_pass_fails_its_batch_and_the_next_is_served() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let recorder = sizes.clone();
        let (queue, ()) =
            Queue::start(config(1, 0), move || Ok((recording(recorder), ()))).unwrap();
        let rt = runtime();
        let failed = rt.block_on(queue.classify(queue.arrival(), vec![f32::NAN; 784]));
        assert_eq!(
            failed.unwrap_err(),
            QueueError::Failed("a NaN pixel".into())
        );
        let next = rt.block_on(queue.classify(queue.arrival(), vec![0.25; 784]));
        assert_eq!(next.unwrap().probabilities[0], 0.25);
    }

    #[test]
    fn a_classifier_that_cannot_be_built_is_an_error() {
        let err = Queue::start(config(1, 0), || -> anyhow::Result<(Classifier, ())> {
            anyhow::bail!("no model here")
        })
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "no model here");
    }
}
