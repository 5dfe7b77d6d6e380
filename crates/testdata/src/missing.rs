//! What a test needs from the machine and may not find: a wgpu adapter, a
//! browser, a Slurm cluster, the course data. Away from CI a test without
//! one says so in one line and passes; under CI (`CI=true` or `CI=1`, as CI
//! services set it) the same line is a failure, because `.ci/run` installs
//! or provides each of them and a test that skips there proves nothing.

/// No wgpu adapter (the GPU tests).
pub const NO_WGPU: &str = "no wgpu adapter (on Linux without a GPU: Mesa's lavapipe, \
                           apt-get install mesa-vulkan-drivers libvulkan1, as .ci/run does)";
/// No browser to drive (the serve page's browser tests).
pub const NO_BROWSER: &str = "no /usr/bin/chromium and /usr/bin/chromedriver \
                              (apt-get install chromium chromium-driver, as .ci/run does)";
/// No way to build and serve the WebAssembly reader (the exported site's test).
pub const NO_WASM: &str = "no wasm32-unknown-unknown target, wasm-bindgen or python3 \
                           (rustup target add wasm32-unknown-unknown; cargo install \
                           wasm-bindgen-cli at Cargo.lock's version, as .ci/run does)";
/// No Slurm cluster (the `study --slurm` test).
pub const NO_SLURM: &str =
    "no Slurm cluster answers sinfo (.ci/slurm-up installs and starts a one-node one, as root)";
/// No course data (the tests of real handwriting).
pub const NO_COURSE_DATA: &str = "no course data (set HANZI12_DATA to its class-folder root, \
                                  or put it at ../shared/hanzi12/train beside the workspace, \
                                  where CI reads it)";

/// Whether this process runs under CI: `CI` is `true` or `1`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A test that stops for want of `what` (one of the `NO_*` lines, or
/// another that names the thing and how to get it): `skipped: {what}` on
/// stderr, or, under CI, a panic saying so.
pub fn missing(what: &str) {
    missing_instead(what, "skipped");
}

/// [`missing`] for a test that goes on without `what`, doing `instead`
/// (`testing on synthetic handwriting`): `{instead}: {what}` on stderr, or,
/// under CI, a panic.
pub fn missing_instead(what: &str, instead: &str) {
    if under_ci() {
        panic!("under CI, and {what}: this test would be {instead}");
    }
    eprintln!("{instead}: {what}");
}
