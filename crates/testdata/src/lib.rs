//! Real handwriting for tests: `$HANZI12_DATA` if set, else
//! `../shared/hanzi12/train` beside the workspace, if either exists. The
//! data has no license, so it is read from there and never copied into the
//! repository. Only tests depend on this crate: the path it compiles in
//! never reaches a library or the `trainer` binary.

use std::path::PathBuf;

/// The course data's class-folder root, if there is one on this machine.
pub fn real_data_root() -> Option<PathBuf> {
    let from_env = std::env::var_os("HANZI12_DATA").map(PathBuf::from);
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/hanzi12/train");
    [from_env, Some(beside)]
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
}
