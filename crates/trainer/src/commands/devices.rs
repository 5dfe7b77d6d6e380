//! `trainer devices`.

use anyhow::Result;
use hanzi12::args::DevicesArgs;

pub fn run(_args: DevicesArgs) -> Result<()> {
    hanzi12::backend::report_adapters()
}
