//! `load`, `save`, `import`: the CLI side of image archives.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use berth_engine::api::{ByteReader, ContainerBackend};
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

pub async fn load(engine: &dyn ContainerBackend, a: &LoadArgs) -> Result<u8> {
    let input: ByteReader = match &a.input {
        Some(p) => Box::pin(tokio::fs::File::open(p).await.with_context(|| format!("open {}", p.display()))?),
        None => {
            if std::io::stdin().is_terminal() {
                bail!("requested load from stdin, but stdin is empty");
            }
            Box::pin(tokio::io::stdin())
        }
    };
    for name in engine.load_images(input).await? {
        if name.starts_with("sha256:") {
            println!("Loaded image ID: {name}");
        } else {
            println!("Loaded image: {name}");
        }
    }
    Ok(0)
}

pub async fn save(engine: &dyn ContainerBackend, a: &SaveArgs) -> Result<u8> {
    let Some(path) = &a.output else {
        if std::io::stdout().is_terminal() {
            bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        engine.save_images(&a.images, Box::pin(tokio::io::stdout())).await?;
        return Ok(0);
    };
    // Write beside the target and rename at the end: an error never leaves half a file.
    let file_name = path.file_name().with_context(|| format!("invalid output file {}", path.display()))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.berth-save-{}", file_name.to_string_lossy(), std::process::id()));
    let file = tokio::fs::File::create(&tmp).await.with_context(|| format!("failed to save image: open {}", path.display()))?;
    let result = engine.save_images(&a.images, Box::pin(file)).await;
    let result = match result {
        Ok(()) => std::fs::rename(&tmp, path).with_context(|| format!("failed to save image: rename to {}", path.display())),
        Err(e) => Err(e.into()),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| 0)
}

pub async fn import(engine: &dyn ContainerBackend, a: &ImportArgs) -> Result<u8> {
    if a.file.starts_with("http://") || a.file.starts_with("https://") {
        bail!("importing from a URL is not supported: download the tarball and import the file");
    }
    let input: ByteReader = if a.file == "-" {
        if std::io::stdin().is_terminal() {
            bail!("requested import from stdin, but stdin is a terminal: pipe a tarball in or give a file");
        }
        Box::pin(tokio::io::stdin())
    } else {
        Box::pin(tokio::fs::File::open(&a.file).await.with_context(|| format!("open {}", a.file))?)
    };
    let id = engine.import_image(input, a.reference.clone(), a.change.clone(), a.message.clone()).await?;
    println!("{id}");
    Ok(0)
}
