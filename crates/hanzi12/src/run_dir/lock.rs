//! One writer per run folder. Two processes training into one folder (a
//! `--resume` started while the first run still goes) would both write the
//! same checkpoints and read each other's half-replaced files; the second
//! is refused instead, with the first one's process id.
//!
//! The lock is the operating system's advisory lock on the folder's `lock`
//! file (`flock` on Unix, `LockFileEx` on Windows): it belongs to the open
//! file, so the OS releases it when the process ends however it ends, and a
//! `kill -9` leaves no stale lock behind. The file itself stays: deleting
//! it on exit would let a process that opened the old file and one that
//! creates a new one both hold "the" lock.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The run folder's lock, held until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Locks `path` (created if missing) for the run folder `dir`, and
    /// writes this process's id into it for whoever is refused next.
    pub fn acquire(path: &Path, dir: &Path) -> Result<RunLock> {
        // Not truncated on open: the holder's id must survive a refused open.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot open the run folder's lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                let id = format!("{}\n", std::process::id());
                file.set_len(0)
                    .and_then(|()| file.write_all(id.as_bytes()))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(RunLock { _file: file })
            }
            Err(TryLockError::WouldBlock) => bail!(
                "{}: another process ({}) is writing this run folder; wait for it to finish or stop it",
                dir.display(),
                holder(path)
            ),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

/// "pid N" of the process holding the lock at `path`. It writes its id
/// just after taking the lock, so an empty file is read again briefly.
fn holder(path: &Path) -> String {
    for _ in 0..20 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Ok(pid) = text.trim().parse::<u32>() {
            return format!("pid {pid}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    "pid unknown".to_string()
}
