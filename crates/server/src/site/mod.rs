//! `trainer export --web`: a trained run as a static site. The page of
//! `trainer serve`, with `reader.js` and the WebAssembly reader
//! (`crates/web`) in place of the server, the run's weights and a manifest;
//! any static file server (or none but the first load) serves it.

mod wasm;

use anyhow::{Context, Result, bail};
use hanzi12::infer::Trained;
use hanzi12::{Backend, RunDir};
use std::path::{Path, PathBuf};
use web::{MANIFEST_VERSION, Manifest};

use crate::model::ModelInfo;
use crate::page;

pub use wasm::WasmModule;

/// What the page's model line says reads the drawings.
const READ_BY: &str = "WebAssembly (Burn flex) in this browser";

/// The script that loads the reader goes before `app.js`: module scripts and
/// deferred ones run in document order, so `window.hanzi12Reader` is set
/// when `app.js` starts.
const READER_TAG: &str = "<script type=\"module\" src=\"reader.js\"></script>\n";

/// A static host sends no policy of its own: the page brings the server's,
/// plus the one permission a WebAssembly module needs.
const POLICY_TAG: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'\">\n";

/// One file of an exported site, and its size.
pub struct SiteFile {
    pub name: &'static str,
    pub bytes: u64,
}

/// Writes the site of `run` to `out`, with the WebAssembly reader
/// `module`. `out` is replaced whole, and only if it is empty or an earlier
/// site: the new site is written beside it and renamed into place, so a
/// failure or a kill never leaves a half-written site under its name.
pub fn export(run: &Path, out: &Path, module: &WasmModule) -> Result<Vec<SiteFile>> {
    check_out(out)?;
    let trained = Trained::load(run, Backend::Flex)?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        network: trained.recipe.model.clone(),
        convention: trained.recipe.convention,
        normalise: trained.recipe.normalise,
        model: serde_json::to_value(ModelInfo::of(run, &trained, READ_BY.to_string()))?,
    };
    let weights = RunDir::new(run).model();
    let weights =
        std::fs::read(&weights).with_context(|| format!("cannot read {}", weights.display()))?;
    let files: [(&'static str, Vec<u8>); 8] = [
        ("index.html", index_html()?.into_bytes()),
        ("app.js", page::SCRIPT.as_bytes().to_vec()),
        ("style.css", page::STYLE.as_bytes().to_vec()),
        ("reader.js", page::READER.as_bytes().to_vec()),
        ("hanzi12_web.js", module.glue.clone()),
        ("hanzi12_web_bg.wasm", module.wasm.clone()),
        ("manifest.json", serde_json::to_vec_pretty(&manifest)?),
        ("model.bpk", weights),
    ];
    let staging = sibling(out, "new");
    let written = write_all(&staging, files).and_then(|written| {
        replace_dir(&staging, out)?;
        Ok(written)
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Writes `files` into a new folder `dir`.
fn write_all(dir: &Path, files: [(&'static str, Vec<u8>); 8]) -> Result<Vec<SiteFile>> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(SiteFile {
            name,
            bytes: bytes.len() as u64,
        });
    }
    Ok(written)
}

/// `out` may be replaced: absent, an empty folder, or a site this command wrote.
fn check_out(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {}: exists and is not a folder", out.display());
    }
    let empty = std::fs::read_dir(out)
        .with_context(|| format!("cannot read --out {}", out.display()))?
        .next()
        .is_none();
    if !empty && !out.join("manifest.json").is_file() {
        bail!(
            "--out {}: holds files and is not a site written by `trainer export --web`; name a new or empty folder",
            out.display()
        );
    }
    Ok(())
}

/// The page, with the reader's script and the site's policy.
fn index_html() -> Result<String> {
    let app = "<script src=\"app.js\" defer></script>";
    if !page::INDEX.contains(app) {
        bail!("the page's index.html no longer loads app.js as expected (a bug)");
    }
    Ok(page::INDEX.replacen(app, &format!("{POLICY_TAG}{READER_TAG}{app}"), 1))
}

/// `dir` with `suffix` added to its name, in the same parent folder.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}{}", std::process::id()));
    dir.with_file_name(name)
}

/// Puts `staging` where `out` is: the old site moves aside, the new one
/// takes its name, the old one goes.
fn replace_dir(staging: &Path, out: &Path) -> Result<()> {
    let old = sibling(out, "old");
    if out.exists() {
        std::fs::rename(out, &old)
            .with_context(|| format!("cannot move the old {} aside", out.display()))?;
    }
    std::fs::rename(staging, out)
        .with_context(|| format!("cannot move the new site to {}", out.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
