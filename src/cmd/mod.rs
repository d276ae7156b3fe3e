//! One module per group of verbs; `run` dispatches.
use std::sync::Arc;

use anyhow::{Context, Result};
use berth_engine::api::ContainerBackend;
use berth_engine::docker::DockerBackend;
use berth_engine::local::LocalEngine;

use crate::{Cli, Command, ContainerCommand, ImageCommand, SystemCommand};

pub mod archive;
pub mod containers;
pub mod images;
pub mod registry;
pub mod remote;
pub mod template;
pub mod watch;

/// Open the embedded engine on the state root.
pub fn local_engine(cli: &Cli) -> Result<LocalEngine> {
    LocalEngine::open(&cli.root).with_context(|| format!("cannot open the state root {}", cli.root.display()))
}

/// The backend the flags ask for: Docker with `-H`/`--docker`, else the embedded engine.
pub async fn backend(cli: &Cli) -> Result<Arc<dyn ContainerBackend>> {
    if cli.host.is_some() || cli.docker {
        let host = berth_engine::docker::resolve_host(cli.host.as_deref());
        return Ok(Arc::new(DockerBackend::connect(&host).await?));
    }
    Ok(Arc::new(local_engine(cli)?))
}

pub async fn run(cli: Cli) -> Result<u8> {
    let Some(command) = &cli.command else {
        return dashboard(&cli).await;
    };
    let remote = cli.host.is_some() || cli.docker;
    let engine = backend(&cli).await?;
    let engine = engine.as_ref();
    match command {
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => registry::pull(engine, a).await,
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => registry::push(engine, a).await,
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => images::tag(engine, a).await,
        Command::Login(a) => registry::login(engine, a).await,
        Command::Logout(a) => registry::logout(a).await,
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::images(engine, a).await,
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => images::rmi(engine, a).await,
        Command::History(a) | Command::Image(ImageCommand::History(a)) => images::history(engine, a).await,
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => archive::load(engine, a).await,
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => archive::save(engine, a).await,
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => archive::import(engine, a).await,
        Command::Inspect(a) => containers::inspect(engine, a).await,
        Command::Image(ImageCommand::Inspect(a)) => images::inspect(engine, a).await,
        Command::Container(ContainerCommand::Inspect(a)) => {
            let mut a = a.clone();
            a.kind = Some("container".into());
            containers::inspect(engine, &a).await
        }
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => {
            if remote {
                remote::run(engine, a).await
            } else {
                containers::run(&local_engine(&cli)?, a).await
            }
        }
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            if remote {
                remote::create(engine, a).await
            } else {
                containers::create(&local_engine(&cli)?, a).await
            }
        }
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            if remote {
                remote::start(engine, a).await
            } else {
                containers::start(&local_engine(&cli)?, a).await
            }
        }
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => containers::stop(engine, a).await,
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => containers::kill(engine, a).await,
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => containers::rm(engine, a).await,
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => containers::ps(engine, a).await,
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => containers::logs(engine, a).await,
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => containers::wait(engine, a).await,
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            if remote {
                remote::attach(engine, a).await
            } else {
                containers::attach(&local_engine(&cli)?, a).await
            }
        }
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
            if remote {
                remote::pause(engine, a, true).await
            } else {
                containers::pause(&local_engine(&cli)?, a, true).await
            }
        }
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            if remote {
                remote::pause(engine, a, false).await
            } else {
                containers::pause(&local_engine(&cli)?, a, false).await
            }
        }
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            if remote {
                remote::restart(engine, a).await
            } else {
                containers::restart(&local_engine(&cli)?, a).await
            }
        }
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
            if remote {
                remote::rename(engine, a).await
            } else {
                containers::rename(&local_engine(&cli)?, a).await
            }
        }
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => {
            if remote {
                remote::exec(engine, a).await
            } else {
                containers::exec(&local_engine(&cli)?, &cli.root, a).await
            }
        }
        Command::Events(a) => containers::events(engine, a).await,
        Command::Image(ImageCommand::Prune(a)) => images::prune(engine, a).await,
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => watch::stats(engine, a).await,
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => watch::top(engine, a).await,
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => watch::port(engine, a).await,
        Command::System(SystemCommand::Df(a)) => watch::df(engine, a).await,
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => watch::info(engine, a).await,
        Command::Version => watch::version(engine).await,
    }
}

/// `berth` with no arguments: the dashboard on the embedded engine.
async fn dashboard(cli: &Cli) -> Result<u8> {
    let cfg = berth_ui::Config::load(berth_ui::Config::default_path().as_deref())?;
    berth_ui::run(backend(cli).await?, cfg).await?;
    Ok(0)
}
