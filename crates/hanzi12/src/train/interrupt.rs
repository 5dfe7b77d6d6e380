//! Stopping a run cleanly on Ctrl-C.

use anyhow::{Context, Result};
use burn::train::Interrupter;

/// An interrupter that Ctrl-C trips: training stops at the end of the
/// current step, after printing `how_to_continue`.
pub fn stop_on_ctrl_c(how_to_continue: &'static str) -> Result<Interrupter> {
    let interrupter = Interrupter::new();
    let on_ctrl_c = interrupter.clone();
    ctrlc::set_handler(move || {
        eprintln!("Ctrl-C: stopping at the end of this step; {how_to_continue}");
        on_ctrl_c.stop(Some("interrupted by Ctrl-C"));
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(interrupter)
}
