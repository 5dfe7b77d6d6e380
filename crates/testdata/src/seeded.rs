//! Random draws in tests, each from a seed of its own.
//!
//! Burn 0.22.1 seeds a backend, not a device: `Device::seed` replaces one
//! process-wide generator per backend (flex's, cubecl's, ndarray's), and
//! every draw on that backend advances it. `cargo test` runs a binary's tests
//! on parallel threads, so a test that seeds and then draws would take
//! whatever numbers another test's draws left it. [`seeded`] makes the seed
//! and the draws after it one turn, taken by one test at a time.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

/// The turn to draw: held from a seed to the end of its draws.
static DRAWING: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread holds [`DRAWING`] (so a nested `seeded` does not
    /// wait for itself).
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// This thread's turn to draw, released when dropped (also by a panic).
struct Turn(Option<MutexGuard<'static, ()>>);

impl Turn {
    fn take() -> Turn {
        if HOLDING.with(Cell::get) {
            return Turn(None);
        }
        // A test that panicked in its turn poisons the lock; the turn is
        // still free.
        let guard = DRAWING.lock().unwrap_or_else(|e| e.into_inner());
        HOLDING.with(|h| h.set(true));
        Turn(Some(guard))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDING.with(|h| h.set(false));
        }
    }
}

/// `draw()` with `device`'s backend seeded with `seed`, while no other
/// `seeded` call of this process draws: the same numbers on every run
/// whatever else the test binary runs beside it. Every random draw of a
/// test (a network's initial weights, `Tensor::random`, dropout in a
/// training forward) belongs inside one, or it disturbs the tests that are.
///
/// Burn draws a network's weights when a parameter is first read, not when
/// the network is built: read them inside (a forward, or
/// [`seeded_module`]). The device is synchronised before the turn ends,
/// so a backend that queues operations (kernel fusion on wgpu) has drawn
/// what it queued. Calls nest (the inner one reseeds); threads that `draw`
/// starts draw in its turn but must not call `seeded` themselves.
pub fn seeded<T>(device: &Device, seed: u64, draw: impl FnOnce() -> T) -> T {
    let _turn = Turn::take();
    device.seed(seed);
    let out = draw();
    device
        .sync()
        .expect("the device runs the operations of a seeded draw");
    out
}

/// A module built by `init` with its initial weights drawn from `seed` (see
/// [`seeded`]): every float parameter is read, so none is left to be drawn
/// later, outside the turn.
pub fn seeded_module<M: Module>(device: &Device, seed: u64, init: impl FnOnce() -> M) -> M {
    seeded(device, seed, || {
        let module = init();
        module.visit(&mut DrawAll);
        module
    })
}

/// Reads every float parameter, which draws the ones not drawn yet.
struct DrawAll;

impl ModuleVisitor for DrawAll {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}
