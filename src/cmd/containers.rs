//! Container verbs that need no terminal, with docker's flags, output and exit codes:
//! `stop`, `kill`, `rm`, `pause`, `unpause`, `restart`, `rename`, `ps`, `logs`, `wait`,
//! `events`, `inspect` (the ones that attach are in `run.rs`).
use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Result, bail};
use berth_engine::api::{ContainerBackend, ContainerListOptions, EngineError, LogLine, LogOptions};
use clap::Args;
use futures_util::StreamExt;

use crate::format::{Table, ago};
use crate::template::{CONTAINERS, Row, format_list};

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short, long, alias = "time")]
    pub timeout: Option<u32>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last")]
    pub last: Option<usize>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided (status=, name=, label=, ancestor=, exited=, id=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go-style template ({{.ID}} {{.Names}} {{.Status}}); "table ..." adds headers
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs ("all")
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

/// docker's `--since`/`--until` values: RFC 3339, unix seconds (with fraction), or a
/// duration before now (`90s`, `42m`, `2h`). Unix nanoseconds.
fn parse_time_arg(s: &str) -> Result<i64> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_nanos_opt().unwrap_or(0));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok((f * 1e9) as i64);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().map_err(|_| anyhow::anyhow!("invalid time {s:?}: use RFC 3339, unix seconds or a duration like 10m"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "ms" => n / 1000.0,
        _ => bail!("invalid time {s:?}: use RFC 3339, unix seconds or a duration like 10m"),
    };
    Ok(now - (secs * 1e9) as i64)
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Show all events created since timestamp (RFC 3339, unix seconds or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided (event=, container=, type=, label is not kept)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go-style template ({{json .}})
    #[arg(long)]
    pub format: Option<String>,
}

/// docker's event object, for --format.
fn event_json(e: &berth_engine::api::EngineEvent) -> serde_json::Value {
    serde_json::json!({
        "status": e.action,
        "id": e.actor,
        "from": e.attributes.get("image").cloned().unwrap_or_default(),
        "Type": e.kind,
        "Action": e.action,
        "Actor": { "ID": e.actor, "Attributes": e.attributes },
        "scope": "local",
        "time": e.time / 1_000_000_000,
        "timeNano": e.time,
    })
}

/// `events` on either backend: past events with --since, live ones until --until; one
/// line per event as docker prints it, or --format (`json` = one JSON object a line).
pub async fn events(engine: &dyn ContainerBackend, a: &EventsArgs) -> Result<u8> {
    let since = a.since.as_deref().map(parse_time_arg).transpose()?;
    let until = a.until.as_deref().map(parse_time_arg).transpose()?;
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &a.filter {
        let Some((k, v)) = f.split_once('=') else { bail!("bad format of filter (expected name=value): {f:?}") };
        filters.entry(k.to_string()).or_default().push(v.to_string());
    }
    let format = a.format.as_deref().map(|f| if f == "json" { "{{json .}}" } else { f });
    let mut stream = engine.events(berth_engine::api::EventOptions { since, until, filters });
    while let Some(e) = stream.next().await {
        let e = e?;
        match format {
            Some(f) => println!("{}", crate::cmd::template::render(f, &event_json(&e))?),
            None => {
                let t = chrono::DateTime::from_timestamp(e.time.div_euclid(1_000_000_000), e.time.rem_euclid(1_000_000_000) as u32)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
                    .unwrap_or_default();
                let attrs: Vec<String> = e.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("{t} {} {} {} ({})", e.kind, e.action, e.actor, attrs.join(", "));
            }
        }
        std::io::stdout().flush()?;
    }
    Ok(0)
}

fn print_lines(lines: &mut Vec<LogLine>, timestamps: bool) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for l in lines.drain(..) {
        let w: &mut dyn Write = if l.stream == "stderr" { &mut err } else { &mut out };
        if timestamps {
            write!(w, "{} ", l.time)?;
        }
        w.write_all(l.line.as_bytes())?;
    }
    out.flush()?;
    err.flush()?;
    Ok(())
}

async fn each(names: &[String], f: impl AsyncFn(&str) -> berth_engine::api::Result<()>) -> Result<u8> {
    let mut code = 0;
    for n in names {
        match f(n).await {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

pub async fn pause(engine: &dyn ContainerBackend, a: &PauseArgs, on: bool) -> Result<u8> {
    each(&a.containers, async |c| if on { engine.pause_container(c).await } else { engine.unpause_container(c).await }).await
}

pub async fn restart(engine: &dyn ContainerBackend, a: &StopArgs) -> Result<u8> {
    each(&a.containers, async |c| engine.restart_container(c, a.timeout).await).await
}

pub async fn rename(engine: &dyn ContainerBackend, a: &RenameArgs) -> Result<u8> {
    engine.rename_container(&a.container, &a.new_name).await?;
    Ok(0)
}

pub async fn stop(engine: &dyn ContainerBackend, a: &StopArgs) -> Result<u8> {
    each(&a.containers, async |c| engine.stop_container(c, a.timeout).await).await
}

pub async fn kill(engine: &dyn ContainerBackend, a: &KillArgs) -> Result<u8> {
    each(&a.containers, async |c| engine.kill_container(c, &a.signal).await).await
}

pub async fn rm(engine: &dyn ContainerBackend, a: &RmArgs) -> Result<u8> {
    each(&a.containers, async |c| {
        if a.volumes { engine.remove_container_and_volumes(c, a.force).await } else { engine.remove_container(c, a.force).await }
    })
    .await
}

pub async fn wait(engine: &dyn ContainerBackend, a: &WaitArgs) -> Result<u8> {
    let mut code = 0;
    for c in &a.containers {
        match engine.wait_container(c).await {
            Ok(x) => println!("{x}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// docker's COMMAND cell: quoted, truncated to 20 characters with an ellipsis.
fn command_cell(cmd: &str, no_trunc: bool) -> String {
    let c: String = if !no_trunc && cmd.chars().count() > 20 { cmd.chars().take(19).chain(['…']).collect() } else { cmd.to_string() };
    format!("\"{c}\"")
}

/// `ps --filter`: the same key ORs, different keys AND (docker's rule).
struct PsFilter(BTreeMap<String, Vec<String>>);

impl PsFilter {
    fn parse(filters: &[String]) -> Result<Self> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in filters {
            let Some((k, v)) = f.split_once('=') else { bail!("bad format of filter (expected name=value): {f:?}") };
            match k {
                "status" => {
                    if !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(&v) {
                        bail!("invalid filter 'status={v}'");
                    }
                }
                "exited" => {
                    v.parse::<i64>().map_err(|_| anyhow::anyhow!("invalid filter 'exited={v}'"))?;
                }
                "name" | "label" | "ancestor" | "id" => {}
                _ => bail!("invalid filter {k:?}"),
            }
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        Ok(Self(m))
    }

    /// Filters on status or exit code look at stopped containers too.
    fn needs_all(&self) -> bool {
        self.0.contains_key("status") || self.0.contains_key("exited")
    }

    fn matches(&self, c: &berth_engine::api::ContainerSummary) -> bool {
        self.0.iter().all(|(k, vs)| {
            vs.iter().any(|v| match k.as_str() {
                "status" => c.state == *v,
                "exited" => c.state == "exited" && v.parse::<i64>().ok() == Some(c.exit_code),
                "name" => c.name.contains(v.trim_start_matches('/')),
                "id" => c.id.starts_with(v.as_str()),
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
                    None => c.labels.contains_key(v.as_str()),
                },
                "ancestor" => {
                    let short = c.image_id.trim_start_matches("sha256:");
                    c.image == *v
                        || c.image.split(':').next() == Some(v.as_str()) && !v.contains(':')
                        || (v.len() >= 4 && short.starts_with(v.trim_start_matches("sha256:")))
                }
                _ => false,
            })
        })
    }
}

/// A container as `ps --format` sees it: docker's keys, in its (sorted) order. berth's
/// list does not carry mounts, networks or sizes: those keys have docker's empty values.
fn ps_fields(c: &berth_engine::api::ContainerSummary, no_trunc: bool) -> serde_json::Value {
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    serde_json::json!({
        "Command": command_cell(&c.command, no_trunc),
        "CreatedAt": chrono::DateTime::from_timestamp(c.created, 0).map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()).unwrap_or_default(),
        "ID": if no_trunc { c.id.clone() } else { c.id[..12].to_string() },
        "Image": c.image,
        "Labels": labels.join(","),
        "LocalVolumes": "0",
        "Mounts": "",
        "Names": c.name,
        "Networks": "",
        "Platform": null,
        "Ports": berth_engine::api::format_ports(&c.ports),
        "RunningFor": ago(c.created),
        "Size": "0B",
        "State": c.state,
        "Status": c.status,
    })
}

pub async fn ps(engine: &dyn ContainerBackend, a: &PsArgs) -> Result<u8> {
    let filter = PsFilter::parse(&a.filter)?;
    let all = a.all || a.latest || a.last.is_some() || filter.needs_all();
    let mut v = engine.list_containers(&ContainerListOptions { all }).await?;
    v.retain(|c| filter.matches(c));
    let limit = if a.latest { Some(1) } else { a.last };
    if let Some(n) = limit {
        v.truncate(n);
    }
    if a.quiet {
        for c in &v {
            println!("{}", if a.no_trunc { &c.id[..] } else { &c.id[..12] });
        }
        return Ok(0);
    }
    if let Some(f) = &a.format {
        let fields: Vec<serde_json::Value> = v.iter().map(|c| ps_fields(c, a.no_trunc)).collect();
        let rows: Vec<Row> = fields.iter().zip(&v).map(|(f, c)| Row::new(f, Some(&c.labels))).collect();
        print!("{}", format_list(Some(f), &CONTAINERS, &rows)?);
        return Ok(0);
    }
    let mut t = Table::new(&["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]);
    for c in &v {
        t.row(vec![
            if a.no_trunc { c.id.clone() } else { c.id[..12].to_string() },
            c.image.clone(),
            command_cell(&c.command, a.no_trunc),
            ago(c.created),
            c.status.clone(),
            berth_engine::api::format_ports(&c.ports),
            c.name.clone(),
        ]);
    }
    print!("{}", t.render());
    Ok(0)
}

pub async fn logs(engine: &dyn ContainerBackend, a: &LogsArgs) -> Result<u8> {
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse::<usize>().map_err(|_| anyhow::anyhow!("invalid value for --tail: {n:?}"))?),
    };
    let since = a.since.as_deref().map(parse_time_arg).transpose()?;
    let until = a.until.as_deref().map(parse_time_arg).transpose()?;
    let mut s = engine.container_logs(&a.container, &LogOptions { follow: a.follow, tail }).await?;
    while let Some(l) = s.next().await {
        let l = l?;
        if since.is_some() || until.is_some() {
            let t = chrono::DateTime::parse_from_rfc3339(&l.time).ok().and_then(|t| t.timestamp_nanos_opt()).unwrap_or(0);
            if since.is_some_and(|s| t < s) {
                continue;
            }
            if until.is_some_and(|u| t > u) {
                break;
            }
        }
        print_lines(&mut vec![l], a.timestamps)?;
    }
    Ok(0)
}

/// `inspect`: containers first, then images (as docker resolves an untyped name).
pub async fn inspect(engine: &dyn ContainerBackend, a: &crate::cmd::images::InspectArgs) -> Result<u8> {
    let kind = a.kind.as_deref();
    if let Some(k) = kind
        && k != "container"
        && k != "image"
        && k != "volume"
    {
        bail!("unsupported --type {k:?} (container, image or volume)");
    }
    let mut out = Vec::new();
    let mut code = 0;
    for n in &a.names {
        let mut found = None;
        if kind.is_none() || kind == Some("container") {
            match engine.inspect_container(n).await {
                Ok(c) => found = Some(serde_json::to_value(c)?),
                Err(EngineError::ContainerNotFound(_)) => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            }
        }
        if found.is_none() && (kind.is_none() || kind == Some("image")) {
            match engine.inspect_image(n).await {
                Ok(i) => found = Some(serde_json::to_value(i)?),
                Err(EngineError::ImageNotFound(_)) => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            }
        }
        // Volumes last, as docker resolves an untyped name.
        if found.is_none() && (kind.is_none() || kind == Some("volume")) {
            match engine.inspect_volume(n).await {
                Ok(v) => found = Some(serde_json::to_value(v)?),
                Err(EngineError::VolumeNotFound(_) | EngineError::Unsupported(_) | EngineError::InvalidArgument(_)) => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            }
        }
        match found {
            Some(v) => out.push(v),
            None => {
                eprintln!("Error: No such object: {n}");
                code = 1;
            }
        }
    }
    crate::format::print_inspected(&out, a.format.as_deref())?;
    Ok(code)
}
