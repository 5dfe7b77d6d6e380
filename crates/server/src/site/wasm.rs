//! The WebAssembly reader a site carries: built from this checkout's
//! `crates/web` with tools from the registries, each added the first time
//! it is missing and said so (`rustup target add wasm32-unknown-unknown`,
//! `cargo install wasm-bindgen-cli` at the `Cargo.lock` version; Debian's
//! `binaryen` shrinks the module where it is installed), or taken
//! ready-built from a folder (`--wasm DIR`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-unknown-unknown";
const GLUE: &str = "hanzi12_web.js";
const MODULE: &str = "hanzi12_web_bg.wasm";

/// The reader's module and its JavaScript glue, as `wasm-bindgen --target
/// web` writes them.
pub struct WasmModule {
    pub glue: Vec<u8>,
    pub wasm: Vec<u8>,
    /// Where it came from, for people.
    pub from: String,
}

impl WasmModule {
    /// The module in `dir` (the two files an earlier build or site holds).
    pub fn from_dir(dir: &Path) -> Result<WasmModule> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).with_context(|| {
                format!(
                    "--wasm {}: cannot read {name} (expected {GLUE} and {MODULE}, as wasm-bindgen --target web writes them)",
                    dir.display()
                )
            })
        };
        Ok(WasmModule {
            glue: read(GLUE)?,
            wasm: read(MODULE)?,
            from: dir.display().to_string(),
        })
    }

    /// Builds the module from the checkout this trainer was built from.
    pub fn build() -> Result<WasmModule> {
        let root = checkout()?;
        check_target()?;
        let bindgen = check_bindgen(&root)?;
        let wasm = cargo_build(&root)?;
        let out = std::env::temp_dir().join(format!("hanzi12-web-{}", std::process::id()));
        let result = std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create {}", out.display()))
            .and_then(|()| {
                let (input, shrunk) = shrink(&wasm, &out.join("shrunk.wasm"));
                bind(&bindgen, &input, &out)?;
                let mut module = WasmModule::from_dir(&out)?;
                module.from = format!("{}{shrunk}", wasm.display());
                Ok(module)
            });
        let _ = std::fs::remove_dir_all(&out);
        result
    }
}

/// The workspace this binary was built from.
fn checkout() -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !root.join("crates/web/Cargo.toml").is_file() {
        bail!(
            "cannot build the WebAssembly reader: {} (where this trainer was built) has no crates/web; pass --wasm DIR with {GLUE} and {MODULE}",
            root.display()
        );
    }
    Ok(root)
}

/// The wasm32 target's standard library, added with rustup if missing.
fn check_target() -> Result<()> {
    if target_installed() {
        return Ok(());
    }
    let add = format!("rustup target add {TARGET}");
    eprintln!("the {TARGET} target is not installed: running `{add}`");
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !added || !target_installed() {
        bail!("the {TARGET} target is not installed and `{add}` failed: run it by hand");
    }
    Ok(())
}

fn target_installed() -> bool {
    let Ok(sysroot) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
}

/// The `wasm-bindgen` command, at the version `Cargo.lock` pins (its output
/// fits only the library of the same version), installed from crates.io
/// if it is missing or another version.
fn check_bindgen(root: &Path) -> Result<String> {
    let wanted = locked_version(root, "wasm-bindgen")?;
    let install = format!("cargo install wasm-bindgen-cli --version {wanted}");
    let found = bindgen_version();
    if found.as_deref() == Some(wanted.as_str()) {
        return Ok("wasm-bindgen".to_string());
    }
    match &found {
        None => {
            eprintln!("wasm-bindgen is not installed: running `{install}` (a few minutes, once)")
        }
        Some(v) => eprintln!(
            "wasm-bindgen is version {v}, Cargo.lock has {wanted}: running `{install}` (a few minutes, once)"
        ),
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let installed = Command::new(cargo)
        .args(["install", "wasm-bindgen-cli", "--version", &wanted])
        .status()
        .is_ok_and(|s| s.success());
    if !installed || bindgen_version().as_deref() != Some(wanted.as_str()) {
        bail!("wasm-bindgen {wanted} is needed and `{install}` failed: run it by hand");
    }
    Ok("wasm-bindgen".to_string())
}

/// The version of the `wasm-bindgen` on the PATH, if there is one.
fn bindgen_version() -> Option<String> {
    let out = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1).map(String::from)
}

/// The version of `package` in `root`'s `Cargo.lock`.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let path = root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let entry = format!("name = \"{package}\"\nversion = \"");
    let Some(at) = lock.find(&entry) else {
        bail!("{}: no {package} entry", path.display());
    };
    let rest = &lock[at + entry.len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_string())
}

/// `cargo build` of the reader for the browser; the path of its `.wasm`.
fn cargo_build(root: &Path) -> Result<PathBuf> {
    eprintln!("building the WebAssembly reader (crates/web, {TARGET}) ...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", "hanzi12-web", "--target", TARGET])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("cargo build -p hanzi12-web --target {TARGET} failed (its messages are above)");
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "hanzi12_web")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .context("cargo built no hanzi12_web.wasm (a bug)")
}

/// `wasm-bindgen --target web`: the module and its glue, into `out`.
fn bind(bindgen: &str, wasm: &Path, out: &Path) -> Result<()> {
    let status = Command::new(bindgen)
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "hanzi12_web",
        ])
        .arg("--out-dir")
        .arg(out)
        .arg(wasm)
        .status()
        .with_context(|| format!("cannot run {bindgen}"))?;
    if !status.success() {
        bail!(
            "{bindgen} failed on {} (its messages are above)",
            wasm.display()
        );
    }
    Ok(())
}

/// Shrinks the module with binaryen's `wasm-opt` where it is installed,
/// into `shrunk`: the module to bind, and what was done, for people.
///
/// Before `wasm-bindgen`, not after: binaryen 108 (Debian 12) rewrites the
/// table of JavaScript references that wasm-bindgen's glue fills, and the
/// browser then refuses the module. The features named are those Rust's
/// wasm32 target enables by default.
fn shrink(module: &Path, shrunk: &Path) -> (PathBuf, String) {
    let status = Command::new("wasm-opt")
        .args(["-Oz", "--strip-debug"])
        .args([
            "--enable-bulk-memory",
            "--enable-mutable-globals",
            "--enable-sign-ext",
        ])
        .args(["--enable-nontrapping-float-to-int", "--enable-multivalue"])
        .arg("--enable-reference-types")
        .arg(module)
        .arg("-o")
        .arg(shrunk)
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => (shrunk.to_path_buf(), ", shrunk by wasm-opt -Oz".to_string()),
        Ok(_) => (
            module.to_path_buf(),
            ", wasm-opt failed: not shrunk".to_string(),
        ),
        Err(_) => (
            module.to_path_buf(),
            ", not shrunk (install binaryen for wasm-opt)".to_string(),
        ),
    }
}
