//! One module per group of verbs; `run` dispatches.
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use berth_engine::api::ContainerBackend;
use berth_engine::docker::DockerBackend;
use berth_engine::local::LocalEngine;
use berth_engine::multi::{EndpointSpec, MultiBackend, Target};

use crate::{Cli, Command, ContainerCommand, ImageCommand, SystemCommand};

pub mod archive;
pub mod boot;
pub mod containers;
pub mod ctrfs;
pub mod images;
pub mod networks;
pub mod registry;
pub mod run;
pub mod template;
pub mod volumes;
pub mod watch;

/// Open the embedded engine on the state root.
pub fn local_engine(cli: &Cli) -> Result<LocalEngine> {
    LocalEngine::open(&cli.root).with_context(|| format!("cannot open the state root {}", cli.root.display()))
}

/// The embedded engine's endpoint name.
const EMBEDDED: &str = berth_ui::config::EMBEDDED_NAME;

/// A name for an unnamed `-H` endpoint: the host of tcp/ssh addresses, "docker" for sockets.
fn endpoint_name(host: &str) -> String {
    let rest = host.split_once("://").map(|(_, r)| r).unwrap_or(host);
    let name: String = if host.starts_with("unix://") {
        "docker".into()
    } else {
        rest.split('/').next().unwrap_or("").rsplit('@').next().unwrap_or("").split(':').next().unwrap_or("").into()
    };
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.+-".contains(c) { c } else { '-' }).collect();
    if berth_engine::multi::valid_name(&name) { name } else { "docker".into() }
}

/// The endpoints the flags name (empty when none: then the config file decides).
fn flag_endpoints(cli: &Cli) -> Result<Vec<EndpointSpec>> {
    let mut out: Vec<EndpointSpec> = Vec::new();
    // Derived names are made unique with -2, -3...
    let mut add = |name: String, target: Target| {
        let mut n = name.clone();
        let mut i = 2;
        while out.iter().any(|e| e.name == n) {
            n = format!("{name}-{i}");
            i += 1;
        }
        out.push(EndpointSpec { name: n, target });
    };
    if cli.embedded {
        add(EMBEDDED.into(), Target::Embedded(cli.root.clone()));
    }
    for h in &cli.host {
        add(endpoint_name(h), Target::Docker(h.clone()));
    }
    if cli.docker && cli.host.is_empty() {
        let h = berth_engine::docker::resolve_host(None);
        add(endpoint_name(&h), Target::Docker(h));
    }
    for e in &cli.endpoint {
        let Some((name, host)) = e.split_once('=').filter(|(n, h)| !n.is_empty() && !h.is_empty()) else {
            bail!("--endpoint {e:?}: expected NAME=HOST (e.g. local-docker=unix:///run/docker.sock)");
        };
        if !berth_engine::multi::valid_name(name) {
            bail!("--endpoint {e:?}: the name takes letters, digits and _.+- only, starting with a letter or digit");
        }
        if out.iter().any(|x| x.name == name) {
            bail!("--endpoint {e:?}: two endpoints are named {name:?}");
        }
        out.push(EndpointSpec { name: name.into(), target: Target::Docker(docker_host(name, host)?) });
    }
    Ok(out)
}

/// An endpoint's HOST: an address (with a scheme) as is, else the docker context so named.
fn docker_host(endpoint: &str, host: &str) -> Result<String> {
    if host.contains("://") {
        return Ok(host.to_string());
    }
    berth_engine::docker::context_endpoint(host)
        .with_context(|| format!("endpoint {endpoint}: no docker context named {host:?} (and no scheme: unix://, tcp://, ssh://...)"))
}

/// One endpoint's backend, connected now (a single endpoint fails at once, clearly).
async fn connect(cli: &Cli, target: &Target) -> Result<Arc<dyn ContainerBackend>> {
    Ok(match target {
        Target::Docker(host) => Arc::new(DockerBackend::connect(host).await?.with_detach_keys(session_detach_keys(cli))),
        Target::Embedded(_) => Arc::new(local_engine(cli)?),
    })
}

/// The detach keys of this command (its flag, config.json, or docker's default), for the
/// daemon to use in attach/exec sessions; an invalid value is reported by the verb itself.
fn session_detach_keys(cli: &Cli) -> String {
    use crate::cmd::run::{AttachArgs, ExecArgs, RunArgs, StartArgs};
    let flag = match &cli.command {
        Some(Command::Run(RunArgs { detach_keys, .. }) | Command::Container(ContainerCommand::Run(RunArgs { detach_keys, .. })))
        | Some(
            Command::Start(StartArgs { detach_keys, .. }) | Command::Container(ContainerCommand::Start(StartArgs { detach_keys, .. })),
        )
        | Some(
            Command::Attach(AttachArgs { detach_keys, .. }) | Command::Container(ContainerCommand::Attach(AttachArgs { detach_keys, .. })),
        )
        | Some(Command::Exec(ExecArgs { detach_keys, .. }) | Command::Container(ContainerCommand::Exec(ExecArgs { detach_keys, .. }))) => {
            detach_keys.as_deref()
        }
        _ => None,
    };
    berth_engine::detach_keys::resolve(flag).unwrap_or_default().to_string()
}

/// The backend the flags ask for: Docker with `-H`/`--endpoint`/`--docker`, else the
/// embedded engine. A command drives one endpoint; several are for the dashboard.
pub async fn backend(cli: &Cli) -> Result<Arc<dyn ContainerBackend>> {
    let eps = flag_endpoints(cli)?;
    match &eps[..] {
        [] => Ok(Arc::new(local_engine(cli)?)),
        [one] => connect(cli, &one.target).await,
        _ => bail!(
            "{} endpoints given ({}): a command drives one; several are for the dashboard (`berth` alone)",
            eps.len(),
            eps.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub async fn run(cli: Cli) -> Result<u8> {
    let Some(command) = &cli.command else {
        return dashboard(&cli).await;
    };
    match command {
        Command::System(SystemCommand::Boot) if flag_endpoints(&cli)?.iter().any(|e| matches!(e.target, Target::Docker(_))) => {
            bail!("system boot works on the embedded engine (no -H)")
        }
        Command::System(SystemCommand::Boot) => return boot::boot(&local_engine(&cli)?).await,
        Command::System(SystemCommand::InstallBootUnit(a)) => return boot::install_unit(a),
        _ => {}
    }
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
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => run::run(engine, a).await,
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => run::create(engine, a).await,
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => run::start(engine, a).await,
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => containers::stop(engine, a).await,
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => containers::kill(engine, a).await,
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => containers::rm(engine, a).await,
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => containers::ps(engine, a).await,
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => containers::logs(engine, a).await,
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => containers::wait(engine, a).await,
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => run::attach(engine, a).await,
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => containers::pause(engine, a, true).await,
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => containers::pause(engine, a, false).await,
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => containers::restart(engine, a).await,
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => containers::rename(engine, a).await,
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => run::exec(engine, a).await,
        Command::Events(a) => containers::events(engine, a).await,
        Command::Volume(c) => volumes::run(engine, c).await,
        Command::Network(c) => networks::run(engine, c).await,
        Command::Image(ImageCommand::Prune(a)) => images::prune(engine, a).await,
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => watch::stats(engine, a).await,
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => watch::top(engine, a).await,
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => watch::port(engine, a).await,
        Command::System(SystemCommand::Df(a)) => watch::df(engine, a).await,
        // Handled before a backend is opened.
        Command::System(SystemCommand::Boot | SystemCommand::InstallBootUnit(_)) => Ok(0),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => watch::info(engine, a).await,
        Command::Version => watch::version(engine).await,
        Command::Cp(a) | Command::Container(ContainerCommand::Cp(a)) => ctrfs::cp(engine, a).await,
        Command::Diff(a) | Command::Container(ContainerCommand::Diff(a)) => ctrfs::diff(engine, a).await,
        Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => ctrfs::export(engine, a).await,
        Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => ctrfs::commit(engine, a).await,
    }
}

/// `berth` with no arguments: the dashboard. The endpoints come from the flags, else the
/// config file (the embedded engine unless `embedded = false`, plus `[[endpoints]]`). One
/// endpoint is driven directly; several go through [`MultiBackend`], which connects in the
/// background so an unreachable one never holds the others up.
async fn dashboard(cli: &Cli) -> Result<u8> {
    let cfg = berth_ui::Config::load(berth_ui::Config::default_path().as_deref())?;
    let mut eps = flag_endpoints(cli)?;
    if eps.is_empty() {
        if cfg.embedded {
            eps.push(EndpointSpec { name: EMBEDDED.into(), target: Target::Embedded(cli.root.clone()) });
        }
        for e in &cfg.endpoints {
            eps.push(EndpointSpec { name: e.name.clone(), target: Target::Docker(docker_host(&e.name, &e.host)?) });
        }
    }
    if let [one] = &eps[..] {
        berth_ui::run(connect(cli, &one.target).await?, cfg).await?;
        return Ok(0);
    }
    let multi = Arc::new(MultiBackend::new(eps)?);
    // The first frame shows what answers quickly; slower endpoints join as they connect.
    multi.settle(std::time::Duration::from_millis(500)).await;
    berth_ui::run_multi(multi, cfg).await?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::endpoint_name;

    #[test]
    fn unnamed_endpoints_are_named_after_their_host() {
        assert_eq!(endpoint_name("unix:///run/docker.sock"), "docker");
        assert_eq!(endpoint_name("tcp://10.0.0.2:2375"), "10.0.0.2");
        assert_eq!(endpoint_name("ssh://me@build-box"), "build-box");
        assert_eq!(endpoint_name("https://docker.example.com:2376/"), "docker.example.com");
        assert_eq!(endpoint_name("tcp://[::1]:2375"), "docker", "no valid name from it: the generic one");
    }
}
