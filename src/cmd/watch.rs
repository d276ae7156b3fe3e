//! Watching verbs: `stats`, `top`, `port`, `system df`, `info`, `version`, with docker's
//! columns and units, so scripts and eyes trained on docker read them unchanged.
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Result, bail};
use berth_engine::api::{ContainerBackend, ContainerListOptions, StatsSample};
use berth_engine::human::{human_size, human_size_binary};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::cmd::template;
use crate::format::{Table, ago};

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output: "table", "json", or a Go-style template ({{.Name}} {{.CPUPerc}})
    #[arg(long)]
    pub format: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Options passed to the host's ps (docker's way)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ps OPTIONS")]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

#[derive(Args, Debug)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Format output using a Go-style template over the JSON fields ({{.Cpus}}, {{json .}})
    #[arg(short, long)]
    pub format: Option<String>,
}

/// docker stats' I/O sizes: decimal units, 3 significant digits (`HumanSizeWithPrecision(n, 3)`).
fn io_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let (mut v, mut i) = (bytes as f64, 0);
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let n = format!("{v:.decimals$}");
    let n = if n.contains('.') { n.trim_end_matches('0').trim_end_matches('.').to_string() } else { n };
    format!("{n}{}", UNITS[i])
}

const STATS_HEADER: [&str; 8] = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];

/// The fields `--format` sees, as docker names them.
fn stats_fields(s: &StatsSample, container: &str, no_trunc: bool) -> Value {
    let id = if no_trunc || s.id.len() < 12 { s.id.clone() } else { s.id[..12].to_string() };
    json!({
        "ID": id,
        "Name": s.name.trim_start_matches('/'),
        "Container": if container.is_empty() { id.clone() } else { container.to_string() },
        "CPUPerc": format!("{:.2}%", s.cpu_percent),
        "MemUsage": format!("{} / {}", human_size_binary(s.memory_usage), human_size_binary(s.memory_limit)),
        "MemPerc": format!("{:.2}%", s.memory_percent()),
        "NetIO": format!("{} / {}", io_size(s.net_rx), io_size(s.net_tx)),
        "BlockIO": format!("{} / {}", io_size(s.block_read), io_size(s.block_write)),
        "PIDs": s.pids.to_string(),
    })
}

fn stats_title(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID",
        "Name" => "NAME",
        "Container" => "CONTAINER",
        "CPUPerc" => "CPU %",
        "MemUsage" => "MEM USAGE / LIMIT",
        "MemPerc" => "MEM %",
        "NetIO" => "NET I/O",
        "BlockIO" => "BLOCK I/O",
        "PIDs" => "PIDS",
        f => return f.to_uppercase(),
    }
    .to_string()
}

/// How rows are printed.
enum Out {
    Table,
    Json,
    Template { tpl: String, header: Option<String> },
}

fn stats_out(format: Option<&str>) -> Result<Out> {
    let Some(f) = format else { return Ok(Out::Table) };
    if f == "json" {
        return Ok(Out::Json);
    }
    if f == "table" || f.is_empty() {
        return Ok(Out::Table);
    }
    let (table, tpl) = match f.strip_prefix("table") {
        Some(rest) => (true, rest.trim_start().to_string()),
        None => (false, f.to_string()),
    };
    let header = if table {
        let mut head = String::new();
        let mut rest = tpl.as_str();
        while let Some(i) = rest.find("{{") {
            head.push_str(&rest[..i]);
            let Some(j) = rest[i..].find("}}") else { bail!("template: unclosed action in {tpl:?}") };
            head.push_str(&stats_title(rest[i + 2..i + j].trim().trim_start_matches('.')));
            rest = &rest[i + j + 2..];
        }
        head.push_str(rest);
        Some(head)
    } else {
        None
    };
    // Validate once so a bad template fails before any output.
    template::render(&tpl, &stats_fields(&StatsSample::default(), "", false))?;
    Ok(Out::Template { tpl, header })
}

fn render_stats(out: &Out, rows: &[(StatsSample, String)], no_trunc: bool) -> Result<String> {
    let fields: Vec<Value> = rows.iter().map(|(s, c)| stats_fields(s, c, no_trunc)).collect();
    let f = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    Ok(match out {
        Out::Json => fields.iter().map(|v| format!("{v}\n")).collect(),
        Out::Table => {
            let mut t = Table::new(&STATS_HEADER);
            for v in &fields {
                t.row(["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"].iter().map(|k| f(v, k)).collect());
            }
            t.render()
        }
        Out::Template { tpl, header: None } => {
            let mut s = String::new();
            for v in &fields {
                s.push_str(&template::render(tpl, v)?);
                s.push('\n');
            }
            s
        }
        Out::Template { tpl, header: Some(h) } => {
            let h = h.replace("\\t", "\t");
            let mut t = Table::new(&h.split('\t').collect::<Vec<_>>());
            for v in &fields {
                t.row(template::render(tpl, v)?.split('\t').map(String::from).collect());
            }
            t.render()
        }
    })
}

pub async fn stats(engine: &dyn ContainerBackend, a: &StatsArgs) -> Result<u8> {
    let out = stats_out(a.format.as_deref())?;
    // Named containers must exist: one clear error before anything is printed.
    let mut wanted: Vec<(String, String)> = Vec::new();
    for c in &a.containers {
        let i = engine.inspect_container(c).await?;
        wanted.push((i.id, c.clone()));
    }
    let ids: Vec<String> = wanted.iter().map(|(id, _)| id.clone()).collect();
    let mut stream = engine.stats(ids, Duration::from_secs(1));
    let tty = std::io::stdout().is_terminal();
    if a.no_stream {
        // Two readings a second apart, so CPU % is a rate (docker does the same).
        let _ = stream.next().await.transpose()?;
    }
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let rows = with_stopped(engine, a, &wanted, batch).await?;
        let text = render_stats(&out, &rows, a.no_trunc)?;
        let mut so = std::io::stdout().lock();
        if tty && !a.no_stream {
            // Home, draw, clear what the previous (longer) table left below.
            write!(so, "\x1b[H\x1b[2J{text}")?;
        } else {
            write!(so, "{text}")?;
        }
        so.flush()?;
        if a.no_stream {
            break;
        }
    }
    Ok(0)
}

/// Rows in a stable order; with `--all` or named stopped containers, zero rows for those
/// not running (docker shows them with 0 %).
async fn with_stopped(
    engine: &dyn ContainerBackend,
    a: &StatsArgs,
    wanted: &[(String, String)],
    batch: Vec<StatsSample>,
) -> Result<Vec<(StatsSample, String)>> {
    let mut by_id: BTreeMap<String, StatsSample> = batch.into_iter().map(|s| (s.id.clone(), s)).collect();
    if !wanted.is_empty() {
        return Ok(wanted
            .iter()
            .map(|(id, typed)| {
                let s = by_id.remove(id).unwrap_or_else(|| StatsSample { id: id.clone(), ..Default::default() });
                (s, typed.clone())
            })
            .collect());
    }
    let list = engine.list_containers(&ContainerListOptions { all: a.all }).await?;
    let mut rows = Vec::new();
    for c in list {
        match by_id.remove(&c.id) {
            Some(s) => rows.push((s, String::new())),
            None if a.all => rows.push((StatsSample { id: c.id.clone(), name: c.name.clone(), ..Default::default() }, String::new())),
            None => {}
        }
    }
    // Started after the list was read: still show them.
    rows.extend(by_id.into_values().map(|s| (s, String::new())));
    Ok(rows)
}

pub async fn top(engine: &dyn ContainerBackend, a: &TopArgs) -> Result<u8> {
    let t = engine.top(&a.container, a.ps_args.clone()).await?;
    let mut table = Table::new(&t.titles.iter().map(String::as_str).collect::<Vec<_>>());
    for p in t.processes {
        table.row(p);
    }
    print!("{}", table.render());
    Ok(0)
}

pub async fn port(engine: &dyn ContainerBackend, a: &PortArgs) -> Result<u8> {
    let c = engine.inspect_container(&a.container).await?;
    let want = a.port.as_ref().map(|p| if p.contains('/') { p.clone() } else { format!("{p}/tcp") });
    let mut found = false;
    // docker lists them by port number, then protocol.
    let mut ports: Vec<_> = c.network_settings.ports.iter().collect();
    ports.sort_by_key(|(k, _)| {
        let (n, proto) = k.split_once('/').unwrap_or((k.as_str(), ""));
        (n.parse::<u32>().unwrap_or(0), proto.to_string())
    });
    for (port, bindings) in ports {
        if want.as_ref().is_some_and(|w| w != port) {
            continue;
        }
        for b in bindings.iter().flatten() {
            found = true;
            let ip = match b.host_ip.as_str() {
                "" => "0.0.0.0".to_string(),
                v6 if v6.contains(':') => format!("[{v6}]"),
                v4 => v4.to_string(),
            };
            if want.is_some() {
                println!("{ip}:{}", b.host_port);
            } else {
                println!("{port} -> {ip}:{}", b.host_port);
            }
        }
    }
    if let Some(w) = want
        && !found
    {
        bail!("No public port '{w}' published for {}", a.container);
    }
    Ok(0)
}

fn pct(part: u64, total: u64) -> String {
    match (part * 100).checked_div(total) {
        Some(p) => format!("{} ({p}%)", human_size(part)),
        None => "0B".to_string(),
    }
}

pub async fn df(engine: &dyn ContainerBackend, a: &DfArgs) -> Result<u8> {
    let d = engine.disk_usage().await?;
    let active_images = d.images.iter().filter(|i| i.containers > 0).count();
    let used: u64 = d.images.iter().filter(|i| i.containers > 0).map(|i| i.size.saturating_sub(i.shared_size)).sum::<u64>()
        + if active_images > 0 { d.images.iter().filter(|i| i.containers > 0).map(|i| i.shared_size).max().unwrap_or(0) } else { 0 };
    let img_reclaim = d.layers_size.saturating_sub(used);
    let running = |s: &str| s == "running" || s == "paused";
    let c_size: u64 = d.containers.iter().map(|c| c.size_rw).sum();
    let c_reclaim: u64 = d.containers.iter().filter(|c| !running(&c.state)).map(|c| c.size_rw).sum();
    if !a.verbose {
        let mut t = Table::new(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
        t.row(vec![
            "Images".into(),
            d.images.len().to_string(),
            active_images.to_string(),
            human_size(d.layers_size),
            pct(img_reclaim, d.layers_size),
        ]);
        t.row(vec![
            "Containers".into(),
            d.containers.len().to_string(),
            d.containers.iter().filter(|c| running(&c.state)).count().to_string(),
            human_size(c_size),
            pct(c_reclaim, c_size),
        ]);
        t.row(vec!["Local Volumes".into(), "0".into(), "0".into(), "0B".into(), "0B".into()]);
        t.row(vec!["Build Cache".into(), "0".into(), "0".into(), "0B".into(), "0B".into()]);
        print!("{}", t.render());
        return Ok(0);
    }
    println!("Images space usage:\n");
    let mut t = Table::new(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]);
    for i in &d.images {
        let short = i.id.trim_start_matches("sha256:").chars().take(12).collect::<String>();
        let tags = if i.repo_tags.is_empty() { vec!["<none>:<none>".to_string()] } else { i.repo_tags.clone() };
        for tag in tags {
            let (repo, tg) = tag.rsplit_once(':').unwrap_or((&tag, "<none>"));
            t.row(vec![
                repo.into(),
                tg.into(),
                short.clone(),
                ago(i.created),
                human_size(i.size),
                human_size(i.shared_size),
                human_size(i.size.saturating_sub(i.shared_size)),
                i.containers.to_string(),
            ]);
        }
    }
    print!("{}", t.render());
    println!("\nContainers space usage:\n");
    let mut t = Table::new(&["CONTAINER ID", "IMAGE", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]);
    for c in &d.containers {
        t.row(vec![
            c.id.chars().take(12).collect(),
            c.image.clone(),
            "0".into(),
            human_size(c.size_rw),
            ago(c.created),
            c.status.clone(),
            c.name.clone(),
        ]);
    }
    print!("{}", t.render());
    println!("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n\nBuild cache usage: 0B");
    Ok(0)
}

pub async fn info(engine: &dyn ContainerBackend, a: &InfoArgs) -> Result<u8> {
    let s = engine.system_info().await?;
    if let Some(f) = &a.format {
        println!("{}", template::render(f, &serde_json::to_value(&s)?)?);
        return Ok(0);
    }
    println!("Client:");
    println!(" Version:    {}", env!("CARGO_PKG_VERSION"));
    println!(" Context:    {}", engine.describe());
    println!();
    println!("Server:");
    println!(" Containers: {}", s.containers);
    println!("  Running: {}", s.containers_running);
    println!("  Paused: {}", s.containers_paused);
    println!("  Stopped: {}", s.containers_stopped);
    println!(" Images: {}", s.images);
    println!(" Server Version: {}", s.server_version);
    println!(" Storage Driver: {}", s.storage_driver);
    println!(" Cgroup Driver: {}", s.cgroup_driver);
    println!(" Cgroup Version: {}", s.cgroup_version);
    println!(" Runtimes: {}", s.runtime);
    println!(" Default Runtime: {}", s.runtime);
    println!(" Kernel Version: {}", s.kernel_version);
    println!(" Operating System: {}", s.operating_system);
    println!(" OSType: linux");
    println!(" Architecture: {}", s.architecture);
    println!(" CPUs: {}", s.cpus);
    println!(" Total Memory: {}", human_size_binary(s.memory_total));
    println!(" Name: {}", s.hostname);
    println!(" Root Dir: {}", s.root_dir);
    Ok(0)
}

/// Docker's GOARCH names.
fn go_arch(a: &str) -> &str {
    match a {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

pub async fn version(engine: &dyn ContainerBackend) -> Result<u8> {
    println!("Client:");
    println!(" Version:     {}", env!("CARGO_PKG_VERSION"));
    println!(" OS/Arch:     linux/{}", go_arch(std::env::consts::ARCH));
    println!();
    let s = engine.system_info().await?;
    println!("Server: {} ({})", s.engine, engine.describe());
    println!(" Engine:");
    println!("  Version:    {}", s.server_version);
    println!("  OS/Arch:    linux/{}", go_arch(&s.architecture));
    println!("  Kernel:     {}", s.kernel_version);
    println!("  Runtime:    {}", s.runtime);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_row_in_docker_units() {
        let s = StatsSample {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            cpu_percent: 99.5,
            memory_usage: 64 << 20,
            memory_limit: 100 << 20,
            net_rx: 1500,
            net_tx: 2_000_000,
            block_read: 0,
            block_write: 4096,
            pids: 3,
            ..Default::default()
        };
        let v = stats_fields(&s, "", false);
        assert_eq!(v["ID"], "0123456789ab");
        assert_eq!(v["CPUPerc"], "99.50%");
        assert_eq!(v["MemUsage"], "64MiB / 100MiB");
        assert_eq!(v["MemPerc"], "64.00%");
        assert_eq!(v["NetIO"], "1.5kB / 2MB");
        assert_eq!(v["BlockIO"], "0B / 4.1kB");
        assert_eq!(v["PIDs"], "3");
        assert_eq!(
            (io_size(0), io_size(999), io_size(10_340), io_size(1_982_000)),
            ("0B".into(), "999B".into(), "10.3kB".into(), "1.98MB".into())
        );
        let t = render_stats(&stats_out(Some("table {{.Name}}\t{{.PIDs}}")).unwrap(), &[(s, String::new())], false).unwrap();
        assert_eq!(t, "NAME   PIDS\nweb    3\n");
        assert!(stats_out(Some("{{.Nope")).is_err());
    }
}
