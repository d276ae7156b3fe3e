//! `load`, `save`, `import`: the CLI side of image archives.
use std::path::PathBuf;

use anyhow::{Result, bail};
use berth_engine::api::ContainerBackend;
use clap::Args;

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Tarball path, URL not supported; "-" for stdin
    pub file: String,
    pub reference: Option<String>,
}

pub async fn load(_engine: &dyn ContainerBackend, _a: &LoadArgs) -> Result<u8> {
    bail!("load is being written")
}

pub async fn save(_engine: &dyn ContainerBackend, _a: &SaveArgs) -> Result<u8> {
    bail!("save is being written")
}

pub async fn import(_engine: &dyn ContainerBackend, _a: &ImportArgs) -> Result<u8> {
    bail!("import is being written")
}
