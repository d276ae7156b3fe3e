//! The builder front end's one error type: every variant names the file and line, the
//! pattern or the path it is about, so `berth build` prints one clear line.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// A syntax or semantic error in the Dockerfile, at a line (0: the file as a whole).
    #[error("{}", dockerfile_message(*line, msg))]
    Dockerfile { line: usize, msg: String },
    /// `--target` names no stage.
    #[error("target stage {0:?} could not be found")]
    TargetNotFound(String),
    /// A `--build-arg` or `--platform` option the build cannot take.
    #[error("{0}")]
    Option(String),
    /// A pattern of a `.dockerignore` file that Docker would refuse too.
    #[error("{file}: {pattern:?}: {msg}")]
    IgnorePattern { file: String, pattern: String, msg: String },
    /// The build context (directory, tar or stdin) cannot be read or is unsafe.
    #[error("build context {path}: {msg}")]
    Context { path: PathBuf, msg: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn dockerfile_message(line: usize, msg: &str) -> String {
    if line == 0 { format!("Dockerfile: {msg}") } else { format!("Dockerfile:{line}: {msg}") }
}

impl BuildError {
    pub(crate) fn at(line: usize, msg: impl Into<String>) -> Self {
        BuildError::Dockerfile { line, msg: msg.into() }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BuildError::Io { path: path.into(), source }
    }

    pub(crate) fn context(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        BuildError::Context { path: path.into(), msg: msg.into() }
    }
}

pub(crate) type Result<T> = std::result::Result<T, BuildError>;
