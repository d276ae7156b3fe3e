//! `pull`, `push`, `login`, `logout`: the CLI side of registry transfers.
use anyhow::{Result, bail};
use berth_engine::api::ContainerBackend;
use clap::Args;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Download all tagged images in the repository
    #[arg(short, long)]
    pub all_tags: bool,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    pub server: Option<String>,
}

pub async fn pull(_engine: &dyn ContainerBackend, _a: &PullArgs) -> Result<u8> {
    bail!("pull is being written")
}

pub async fn push(_engine: &dyn ContainerBackend, _a: &PushArgs) -> Result<u8> {
    bail!("push is being written")
}

pub async fn login(_engine: &dyn ContainerBackend, _a: &LoginArgs) -> Result<u8> {
    bail!("login is being written")
}

pub async fn logout(_a: &LogoutArgs) -> Result<u8> {
    bail!("logout is being written")
}
