use std::path::PathBuf;

/// Everything that can be wrong with a data folder. Each message names the
/// path and what was expected there, so the CLI can print it as one line.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data folder {0} does not exist (expected a folder with class sub-folders 1..12)")]
    MissingRoot(PathBuf),
    #[error("{0} is not a folder (expected a folder with class sub-folders 1..12)")]
    NotAFolder(PathBuf),
    #[error("{0} has no class folders (expected sub-folders named 1..12 holding <n>.bmp images)")]
    NoClassFolders(PathBuf),
    #[error("class folder {0} holds no images (expected .bmp or .png files)")]
    EmptyClass(PathBuf),
    #[error("{0} is not a class folder (expected a number from 1 to 12)")]
    NotAClass(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decode image {path}: {reason} (expected a 28x28 BMP or PNG)")]
    Decode { path: PathBuf, reason: String },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
