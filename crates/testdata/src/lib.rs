//! What tests read. Real handwriting: `$HANZI12_DATA` if set, else
//! `../shared/hanzi12/train` beside the workspace, if either exists. The
//! data has no license, so it is read from there and never copied into the
//! repository. Only tests depend on this crate: the path it compiles in
//! never reaches a library or the `trainer` binary. And crafted hostile
//! inputs ([`hostile`]); random draws from a seed, one test at a time
//! ([`seeded`]); and the one line, or under CI the failure, of a test that
//! lacks what it needs ([`missing`]).

pub mod hostile;
mod missing;
mod seeded;

pub use missing::{
    NO_BROWSER, NO_COURSE_DATA, NO_SLURM, NO_WASM, NO_WGPU, missing, missing_instead, under_ci,
};
pub use seeded::{seeded, seeded_module};

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

/// Copies the first `per_class` images (by number) of each class of the
/// course data into `to/<k>/`, in the course layout; `false`, copying
/// nothing, where this machine has no course data.
pub fn copy_course_sample(to: &std::path::Path, per_class: usize) -> bool {
    let Some(real) = real_data_root() else {
        return false;
    };
    for k in 1..=12 {
        let class = to.join(k.to_string());
        std::fs::create_dir_all(&class).expect("a writable test folder");
        let mut files: Vec<PathBuf> = std::fs::read_dir(real.join(k.to_string()))
            .expect("a class folder of the course data")
            .map(|e| e.expect("a readable folder entry").path())
            .collect();
        files.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        });
        for file in files.iter().take(per_class) {
            std::fs::copy(file, class.join(file.file_name().expect("a file name")))
                .expect("a copied course image");
        }
    }
    true
}

/// `picture` as the bytes of a PNG file, as a test sends or decodes one.
pub fn png(picture: impl Into<image::DynamicImage>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .into()
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("a picture encodes as PNG");
    out.into_inner()
}
