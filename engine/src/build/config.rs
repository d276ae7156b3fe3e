//! The image config a build writes (Docker's `container.Config`, the `config` object of an
//! image config) and the effect of each metadata instruction on it, as pure functions.
//!
//! `image::config::ContainerConfig` only reads what running a container needs; a build must
//! carry Healthcheck, OnBuild, Shell and ArgsEscaped from the base image to the result, so
//! this struct reads and writes the whole object. Build it from a base image's config JSON
//! with [`RunConfig::from_image_config`].
//!
//! History lines (`created_by`) follow the legacy builder exactly (checked against dockerd
//! 20.10 with `DOCKER_BUILDKIT=0`): `/bin/sh -c #(nop)  ENV a=b` for metadata, the shell
//! form of the command for RUN, prefixed `|N K=V …` with the build args in scope. Go's
//! `%q`/`%v` renderings of slices and of the healthcheck struct are reproduced here.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dockerfile::CommandForm;

/// Docker's default `SHELL`.
pub(crate) const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub(crate) struct RunConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// Docker's `HealthConfig` (durations in nanoseconds; 0 = the runtime default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub(crate) struct Healthcheck {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl RunConfig {
    /// The `config` object of an image config (OCI or Docker JSON); nulls and unknown
    /// fields are tolerated, a missing object is an empty config (`FROM scratch`).
    pub(crate) fn from_image_config(image_config: &serde_json::Value) -> Self {
        image_config.get("config").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default()
    }

    pub(crate) fn env_list(&self) -> &[String] {
        self.env.as_deref().unwrap_or(&[])
    }

    /// The stage's SHELL, or `/bin/sh -c`.
    pub(crate) fn shell_or_default(&self) -> Vec<String> {
        match &self.shell {
            Some(s) if !s.is_empty() => s.clone(),
            _ => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub(crate) fn workdir(&self) -> &str {
        self.working_dir.as_deref().unwrap_or("")
    }
}

/// `ENV k=v`: replace the first entry with that key, else append.
pub(crate) fn apply_env(cfg: &mut RunConfig, key: &str, value: &str) {
    let env = cfg.env.get_or_insert_with(Vec::new);
    let entry = format!("{key}={value}");
    match env.iter_mut().find(|e| e.split_once('=').map(|(k, _)| k).unwrap_or(e.as_str()) == key) {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

pub(crate) fn apply_label(cfg: &mut RunConfig, key: &str, value: &str) {
    cfg.labels.get_or_insert_with(BTreeMap::new).insert(key.to_string(), value.to_string());
}

/// `WORKDIR`: a relative path is joined to the current one, then cleaned.
pub(crate) fn apply_workdir(cfg: &mut RunConfig, requested: &str) -> Result<String, String> {
    if requested.is_empty() {
        return Err("cannot normalize nothing".into());
    }
    let joined = if requested.starts_with('/') { requested.to_string() } else { format!("/{}/{requested}", cfg.workdir()) };
    let path = clean_path(&joined);
    cfg.working_dir = Some(path.clone());
    Ok(path)
}

/// Go's `path.Clean` for absolute paths.
pub(crate) fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

pub(crate) fn apply_user(cfg: &mut RunConfig, user: &str) {
    cfg.user = Some(user.to_string());
}

/// `EXPOSE 80 443/udp 7000-7002`: each port (ranges expanded) as `port/proto`.
pub(crate) fn apply_expose(cfg: &mut RunConfig, ports: &[String]) -> Result<(), String> {
    let mut keys = Vec::new();
    for spec in ports {
        keys.extend(parse_port_spec(spec)?);
    }
    let set = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
    for k in keys {
        set.insert(k, serde_json::json!({}));
    }
    Ok(())
}

fn parse_port_spec(raw: &str) -> Result<Vec<String>, String> {
    let container = raw.rsplit(':').next().unwrap_or(raw);
    let (port, proto) = match container.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (container, "tcp".to_string()),
    };
    if port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let bad = || format!("invalid containerPort: {port}");
    let (start, end) = match port.split_once('-') {
        Some((a, b)) => (a.parse::<u16>().map_err(|_| bad())?, b.parse::<u16>().map_err(|_| bad())?),
        None => {
            let p = port.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if end < start {
        return Err(bad());
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

pub(crate) fn apply_volume(cfg: &mut RunConfig, paths: &[String]) -> Result<(), String> {
    let set = cfg.volumes.get_or_insert_with(BTreeMap::new);
    for p in paths {
        if p.is_empty() {
            return Err("VOLUME specified can not be an empty string".into());
        }
        set.insert(p.clone(), serde_json::json!({}));
    }
    Ok(())
}

/// `STOPSIGNAL`: a number or a signal name, with or without `SIG`.
pub(crate) fn apply_stopsignal(cfg: &mut RunConfig, signal: &str) -> Result<(), String> {
    let valid = match signal.parse::<i64>() {
        Ok(n) => n > 0 && n < 65,
        Err(_) => {
            let upper = signal.to_ascii_uppercase();
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            SIGNALS.contains(&name) || rt_signal(name)
        }
    };
    if !valid {
        return Err(format!("invalid signal: {signal}"));
    }
    cfg.stop_signal = Some(signal.to_string());
    Ok(())
}

const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT",
    "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
    "XFSZ",
];

fn rt_signal(name: &str) -> bool {
    let n = |s: &str, max: u32| s.is_empty() || s.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v));
    if let Some(r) = name.strip_prefix("RTMIN") {
        return r.is_empty() || r.strip_prefix('+').is_some_and(|v| n(v, 15));
    }
    if let Some(r) = name.strip_prefix("RTMAX") {
        return r.is_empty() || r.strip_prefix('-').is_some_and(|v| n(v, 14));
    }
    false
}

/// The argv a command form runs: exec form as is, shell form through the stage's SHELL.
pub(crate) fn resolve_command(form: &CommandForm, cfg: &RunConfig) -> Vec<String> {
    match form {
        CommandForm::Exec(v) => v.clone(),
        CommandForm::Shell(s) => {
            let mut argv = cfg.shell_or_default();
            argv.push(s.clone());
            argv
        }
    }
}

/// `CMD`. Returns whether it counts as "CMD set in this stage" (a non-empty command),
/// which keeps a later ENTRYPOINT from resetting it.
pub(crate) fn apply_cmd(cfg: &mut RunConfig, form: &CommandForm) -> bool {
    let argv = resolve_command(form, cfg);
    let set = !argv.is_empty();
    cfg.cmd = Some(argv);
    cfg.args_escaped = None;
    set
}

/// `ENTRYPOINT`: also drops the CMD inherited from the base image unless this stage set
/// one before (`cmd_set`), as Docker does.
pub(crate) fn apply_entrypoint(cfg: &mut RunConfig, form: &CommandForm, cmd_set: bool) {
    cfg.entrypoint = Some(resolve_command(form, cfg));
    cfg.args_escaped = None;
    if !cmd_set {
        cfg.cmd = None;
    }
}

/// `HEALTHCHECK CMD …` (`CMD-SHELL` for the shell form) or `HEALTHCHECK NONE`.
pub(crate) fn healthcheck(
    form: Option<&CommandForm>,
    interval: i64,
    timeout: i64,
    start_period: i64,
    start_interval: i64,
    retries: i64,
) -> Healthcheck {
    let test = match form {
        None => vec!["NONE".to_string()],
        Some(CommandForm::Exec(v)) => std::iter::once("CMD".to_string()).chain(v.iter().cloned()).collect(),
        Some(CommandForm::Shell(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
    };
    Healthcheck { test, interval, timeout, start_period, start_interval, retries }
}

pub(crate) fn apply_healthcheck(cfg: &mut RunConfig, hc: Healthcheck) {
    cfg.healthcheck = Some(hc);
}

pub(crate) fn apply_shell(cfg: &mut RunConfig, shell: &[String]) {
    cfg.shell = Some(shell.to_vec());
}

pub(crate) fn apply_onbuild(cfg: &mut RunConfig, trigger: &str) {
    cfg.on_build.get_or_insert_with(Vec::new).push(trigger.to_string());
}

// --- History lines (`created_by`) ---

/// A metadata instruction's history line: `<shell> #(nop)  <comment>`.
pub(crate) fn nop_created_by(cfg: &RunConfig, comment: &str) -> String {
    format!("{} #(nop)  {comment}", cfg.shell_or_default().join(" "))
}

/// WORKDIR, COPY and ADD use the one-argument form: `<shell> #(nop) <comment>`.
pub(crate) fn nop1_created_by(cfg: &RunConfig, comment: &str) -> String {
    format!("{} #(nop) {comment}", cfg.shell_or_default().join(" "))
}

/// RUN: the argv, prefixed by `|N K=V …` when build args are in scope.
pub(crate) fn run_created_by(argv: &[String], args: &[(String, String)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !args.is_empty() {
        let mut kv: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        kv.sort();
        parts.push(format!("|{}", kv.len()));
        parts.extend(kv);
    }
    parts.extend(argv.iter().cloned());
    parts.join(" ")
}

/// Go's `fmt.Sprintf("%q", []string)`: `["a" "b c"]`.
pub(crate) fn go_quote_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| go_quote(s)).collect::<Vec<_>>().join(" "))
}

/// Go's `fmt.Sprintf("%v", []string)`: `[a b c]`.
pub(crate) fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// `HEALTHCHECK` history as dockerd 20.10 writes it (`%q` of the struct).
pub(crate) fn healthcheck_created_by(hc: &Healthcheck) -> String {
    format!(
        "HEALTHCHECK &{{{} {} {} {} {}}}",
        go_quote_list(&hc.test),
        go_quote(&format_duration(hc.interval)),
        go_quote(&format_duration(hc.timeout)),
        go_quote(&format_duration(hc.start_period)),
        go_quote_rune(hc.retries)
    )
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of an integer: the rune, quoted.
fn go_quote_rune(n: i64) -> String {
    match u32::try_from(n).ok().and_then(char::from_u32) {
        Some('\'') => "'\\''".into(),
        Some('"') => "'\"'".into(),
        Some(c) => {
            let q = go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
        None => "'\u{fffd}'".into(),
    }
}

/// Parse a Go duration (`1m30s`, `1.5s`, `100ms`, `2h`) to nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    if total > i64::MAX as f64 {
        return Err(bad());
    }
    let ns = total.round() as i64;
    Ok(if neg { -ns } else { ns })
}

/// Go's `time.Duration.String()`.
pub(crate) fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", frac(u, div));
    }
    let h = u / 3_600_000_000_000;
    let m = (u / 60_000_000_000) % 60;
    let s_ns = u % 60_000_000_000;
    let secs = format!("{}s", frac(s_ns, 1_000_000_000));
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{sign}{m}m{secs}")
    } else {
        format!("{sign}{secs}")
    }
}

/// `v / div` with the fraction's trailing zeros dropped (`1.5`, `2`).
fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{rem:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(s: &str) -> CommandForm {
        CommandForm::Shell(s.into())
    }
    fn exec(v: &[&str]) -> CommandForm {
        CommandForm::Exec(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn env_replaces_in_place_and_appends() {
        let mut cfg = RunConfig { env: Some(vec!["PATH=/bin".into(), "A=1".into()]), ..Default::default() };
        apply_env(&mut cfg, "A", "2");
        apply_env(&mut cfg, "B", "x y");
        assert_eq!(cfg.env_list(), ["PATH=/bin", "A=2", "B=x y"]);
    }

    #[test]
    fn workdir_is_relative_to_the_previous_one() {
        let mut cfg = RunConfig::default();
        assert_eq!(apply_workdir(&mut cfg, "app").unwrap(), "/app");
        assert_eq!(apply_workdir(&mut cfg, "sub/").unwrap(), "/app/sub");
        assert_eq!(apply_workdir(&mut cfg, "../q").unwrap(), "/app/q");
        assert_eq!(apply_workdir(&mut cfg, "/abs//x/./y/..").unwrap(), "/abs/x");
        assert_eq!(apply_workdir(&mut cfg, "/../..").unwrap(), "/");
        assert!(apply_workdir(&mut cfg, "").is_err());
    }

    #[test]
    fn entrypoint_resets_an_inherited_cmd_but_not_one_set_in_the_stage() {
        let base = RunConfig { cmd: Some(vec!["sh".into()]), ..Default::default() };
        let mut cfg = base.clone();
        apply_entrypoint(&mut cfg, &exec(&["sh"]), false);
        assert_eq!(cfg.cmd, None);
        assert_eq!(cfg.entrypoint.as_deref(), Some(&["sh".to_string()][..]));

        let mut cfg = base.clone();
        let set = apply_cmd(&mut cfg, &shell("hello world"));
        assert!(set);
        apply_entrypoint(&mut cfg, &exec(&["/bin/echo"]), set);
        assert_eq!(cfg.cmd.as_deref(), Some(&["/bin/sh".to_string(), "-c".into(), "hello world".into()][..]));

        let mut cfg = base;
        assert!(!apply_cmd(&mut cfg, &exec(&[])), "CMD [] does not count as set");
        apply_shell(&mut cfg, &["/bin/bash".into(), "-ec".into()]);
        apply_entrypoint(&mut cfg, &shell("echo ep"), false);
        assert_eq!(cfg.entrypoint.unwrap(), ["/bin/bash", "-ec", "echo ep"]);
        assert_eq!(cfg.cmd, None);
    }

    #[test]
    fn expose_volume_stopsignal_validate() {
        let mut cfg = RunConfig::default();
        apply_expose(&mut cfg, &["80".into(), "443/UDP".into(), "7000-7002/tcp".into(), "127.0.0.1:8080:90".into()]).unwrap();
        let keys: Vec<_> = cfg.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(keys, ["443/udp", "7000/tcp", "7001/tcp", "7002/tcp", "80/tcp", "90/tcp"]);
        let mut cfg = RunConfig::default();
        assert!(apply_expose(&mut cfg, &["80/icmp".into()]).is_err());
        assert!(apply_expose(&mut cfg, &["http".into()]).is_err());
        assert!(apply_volume(&mut cfg, &["".into()]).is_err());
        for ok in ["SIGKILL", "kill", "9", "SIGRTMIN+3", "RTMAX"] {
            apply_stopsignal(&mut cfg, ok).unwrap();
        }
        for bad in ["SIGNOPE", "0", "", "RTMIN+99"] {
            assert!(apply_stopsignal(&mut cfg, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn healthcheck_forms() {
        assert_eq!(healthcheck(None, 0, 0, 0, 0, 0).test, ["NONE"]);
        assert_eq!(healthcheck(Some(&shell("wget -q x")), 0, 0, 0, 0, 0).test, ["CMD-SHELL", "wget -q x"]);
        assert_eq!(healthcheck(Some(&exec(&["wget", "x"])), 0, 0, 0, 0, 0).test, ["CMD", "wget", "x"]);
    }

    #[test]
    fn history_strings_match_the_legacy_builder() {
        let mut cfg = RunConfig::default();
        assert_eq!(nop_created_by(&cfg, "ENV E1=v1 E2=two words"), "/bin/sh -c #(nop)  ENV E1=v1 E2=two words");
        assert_eq!(nop1_created_by(&cfg, "WORKDIR /app"), "/bin/sh -c #(nop) WORKDIR /app");
        let hc = healthcheck(Some(&shell("wget -q localhost")), 5_000_000_000, 0, 0, 0, 3);
        assert_eq!(
            nop_created_by(&cfg, &healthcheck_created_by(&hc)),
            r#"/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "wget -q localhost"] "5s" "0s" "0s" '\x03'}"#
        );
        let hc = healthcheck(Some(&exec(&["wget", "-q", "x"])), 90_000_000_000, 10_000_000_000, 5_000_000_000, 0, 2);
        assert_eq!(healthcheck_created_by(&hc), r#"HEALTHCHECK &{["CMD" "wget" "-q" "x"] "1m30s" "10s" "5s" '\x02'}"#);
        assert_eq!(healthcheck_created_by(&healthcheck(None, 0, 0, 0, 0, 0)), r#"HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\x00'}"#);
        apply_shell(&mut cfg, &["/bin/sh".into(), "-ec".into()]);
        assert_eq!(nop_created_by(&cfg, "ENV E3=x"), "/bin/sh -ec #(nop)  ENV E3=x");
        assert_eq!(
            format!("CMD {}", go_quote_list(&resolve_command(&shell("hello world"), &cfg))),
            r#"CMD ["/bin/sh" "-ec" "hello world"]"#
        );
        assert_eq!(format!("VOLUME {}", go_list(&["/v1".into(), "/v2".into()])), "VOLUME [/v1 /v2]");
        let args = vec![("B".to_string(), "bee".to_string()), ("A".to_string(), "1".to_string())];
        assert_eq!(run_created_by(&["echo".into(), "exec".into()], &args), "|2 A=1 B=bee echo exec");
        assert_eq!(run_created_by(&["/bin/sh".into(), "-c".into(), "true".into()], &[]), "/bin/sh -c true");
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a\"b\\c\n\t\u{1}é"), r#""a\"b\\c\n\t\x01é""#);
        assert_eq!(go_quote_rune(3), r"'\x03'");
        assert_eq!(go_quote_rune(65), "'A'");
        assert_eq!(go_quote_rune(39), r"'\''");
    }

    #[test]
    fn go_durations_round_trip() {
        for (s, ns) in [("1m30s", 90_000_000_000), ("1.5s", 1_500_000_000), ("100ms", 100_000_000), ("2h", 7_200_000_000_000), ("0", 0)] {
            assert_eq!(parse_duration(s).unwrap(), ns, "{s}");
        }
        for (ns, s) in [
            (0, "0s"),
            (90_000_000_000, "1m30s"),
            (1_500_000_000, "1.5s"),
            (100_000_000, "100ms"),
            (3_600_000_000_000, "1h0m0s"),
            (1500, "1.5µs"),
        ] {
            assert_eq!(format_duration(ns), s);
        }
        for bad in ["", "5", "5x", "s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_a_base_config_with_nulls() {
        let v = serde_json::json!({"config": {"Env": ["PATH=/bin"], "Cmd": null, "Healthcheck": {"Test": ["CMD", "x"], "Retries": 2}, "OnBuild": ["RUN x"], "Shell": null, "Unknown": 1}});
        let cfg = RunConfig::from_image_config(&v);
        assert_eq!(cfg.env_list(), ["PATH=/bin"]);
        assert_eq!(cfg.healthcheck.unwrap().retries, 2);
        assert_eq!(cfg.on_build.unwrap(), ["RUN x"]);
        assert_eq!(RunConfig::from_image_config(&serde_json::json!({})), RunConfig::default());
    }

    proptest::proptest! {
        #[test]
        fn duration_parse_never_panics(s in "[0-9.a-zµ+-]{0,12}") {
            let _ = parse_duration(&s);
        }
        #[test]
        fn format_duration_parses_back(ns in 0i64..10_000_000_000_000) {
            proptest::prop_assert_eq!(parse_duration(&format_duration(ns)).unwrap(), ns);
        }
    }
}
