//! From a parsed Dockerfile and the build options to what the executor runs.
//!
//! [`plan`] works on the whole file: global ARGs (expanded among themselves, overridden by
//! `--build-arg`), each stage's base (`scratch`, an earlier stage, or an image reference,
//! expanded with the global ARGs only: a plain reference to an ARG without a value is an
//! error), `--target` and the stages it needs (`COPY --from`, `RUN --mount from=`, bases),
//! in the order to build them.
//!
//! [`StageState`] then walks one stage, one instruction at a time, against its base
//! image's config: it expands each instruction with Docker's scope (the config's `Env`,
//! then the ARGs declared in this stage that no ENV of the same name hides; global ARGs
//! only where the stage redeclares them), applies metadata instructions to the config, and
//! returns a typed [`Step`] with its docker-like history line and the build args it
//! depends on. Expansion needs the base image's `Env`, which is why this is per step and
//! not part of the plan.
use std::collections::{BTreeMap, BTreeSet};

use super::config::{self, RunConfig};
use super::dockerfile::{CommandForm, Dockerfile, HealthAst, Heredoc, Instruction, Located, Network, SourceAst};
use super::error::{BuildError, Result};
use super::expand::{Lex, Vars};

/// Build args Docker predefines: passed with `--build-arg`, they reach RUN's environment
/// without an ARG, and stay out of the history and the unused-arg warning.
pub(crate) const PROXY_ARGS: [&str; 10] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];

/// The platform berth builds for (the machine's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    pub(crate) fn native() -> Self {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            other => (other, None),
        };
        Platform { os: "linux".into(), arch: arch.into(), variant: variant.map(str::to_string) }
    }

    fn text(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.arch),
            None => format!("{}/{}", self.os, self.arch),
        }
    }

    /// Whether `spec` (`linux/amd64`, `linux/arm64/v8`, `amd64`) names this platform.
    fn accepts(&self, spec: &str) -> bool {
        let parts: Vec<&str> = spec.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [arch] => ("linux", *arch, None),
            [os, arch] => (*os, *arch, None),
            [os, arch, v] => (*os, *arch, Some(*v)),
            _ => return false,
        };
        let arch = match arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        os.eq_ignore_ascii_case(&self.os) && arch == self.arch && variant.is_none_or(|v| Some(v) == self.variant.as_deref())
    }

    /// BuildKit's automatic platform args (`TARGETARCH`, `BUILDPLATFORM`, …).
    fn automatic_args(&self) -> Vec<(String, String)> {
        let variant = self.variant.clone().unwrap_or_default();
        let mut out = Vec::new();
        for prefix in ["TARGET", "BUILD"] {
            out.push((format!("{prefix}PLATFORM"), self.text()));
            out.push((format!("{prefix}OS"), self.os.clone()));
            out.push((format!("{prefix}ARCH"), self.arch.clone()));
            out.push((format!("{prefix}VARIANT"), variant.clone()));
        }
        out
    }
}

/// What the user asked for on the command line.
#[derive(Clone, Debug)]
pub(crate) struct BuildOptions {
    /// `--build-arg KEY=VALUE` (the CLI resolves a bare `KEY` from its environment).
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub platform: Platform,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { build_args: BTreeMap::new(), target: None, platform: Platform::native() }
    }
}

/// What a stage starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image reference, expanded.
    Image(String),
}

/// Where `COPY --from` or `RUN --mount from=` reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum FromRef {
    Stage(usize),
    Image(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Stage {
    pub index: usize,
    /// The `AS` name, lower case.
    pub name: Option<String>,
    pub from_line: usize,
    pub base: Base,
    /// `FROM --platform=`, expanded (always the native one: others are refused).
    pub platform: Option<String>,
    pub instructions: Vec<Located<Instruction>>,
    /// Stages this one reads (base, `--from`, mounts).
    pub deps: BTreeSet<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct BuildPlan {
    pub escape: char,
    pub stages: Vec<Stage>,
    /// The stage whose result is the image.
    pub target: usize,
    /// The stages to build, each after the stages it needs; `target` last.
    pub order: Vec<usize>,
    /// Messages for the user (`[Warning] One or more build-args [X] were not consumed`).
    pub warnings: Vec<String>,
    options: BuildOptions,
    /// Global ARGs: name → expanded default (before `--build-arg`).
    meta: Vec<(String, Option<String>)>,
}

/// Plan a build of a parsed Dockerfile.
pub(crate) fn plan(df: &Dockerfile, options: &BuildOptions) -> Result<BuildPlan> {
    let lex = Lex::new(df.escape);
    let automatic = options.platform.automatic_args();
    let mut meta: Vec<(String, Option<String>)> = Vec::new();
    for decls in &df.global_args {
        for d in &decls.inner {
            let vars = meta_vars(&meta, options, &automatic);
            let key = lex.word(&d.key, &vars).map_err(|e| BuildError::at(decls.line, e))?.value;
            let default = match &d.default {
                Some(v) => Some(lex.word(v, &vars).map_err(|e| BuildError::at(decls.line, e))?.value),
                None => None,
            };
            meta.retain(|(k, _)| *k != key);
            meta.push((key, default));
        }
    }
    let vars = meta_vars(&meta, options, &automatic);

    let mut stages: Vec<Stage> = Vec::new();
    for (index, ast) in df.stages.iter().enumerate() {
        let line = ast.from.line;
        let name = match &ast.from.inner.name {
            Some(n) => {
                let lower = n.to_ascii_lowercase();
                if !valid_stage_name(&lower) {
                    return Err(BuildError::at(
                        line,
                        format!("invalid name for build stage: {n:?}, name can't start with a number or contain symbols"),
                    ));
                }
                if let Some(prev) = stages.iter().find(|s| s.name.as_deref() == Some(lower.as_str())) {
                    return Err(BuildError::at(line, format!("duplicate stage name {n:?} (first used at line {})", prev.from_line)));
                }
                Some(lower)
            }
            None => None,
        };
        let image = lex.word(&ast.from.inner.image, &vars).map_err(|e| BuildError::at(line, e))?;
        if !image.missing.is_empty() {
            let names: Vec<_> = image.missing.iter().cloned().collect();
            return Err(BuildError::at(
                line,
                format!(
                    "FROM {}: build arg {} has no value (declare it with a default before FROM or pass --build-arg)",
                    ast.from.inner.image,
                    names.join(", ")
                ),
            ));
        }
        let base_name = image.value;
        if base_name.is_empty() {
            return Err(BuildError::at(line, format!("base name ({}) should not be blank", ast.from.inner.image)));
        }
        let base = if base_name == "scratch" {
            Base::Scratch
        } else if let Some(prev) = stages.iter().find(|s| s.name.as_deref() == Some(base_name.to_ascii_lowercase().as_str())) {
            Base::Stage(prev.index)
        } else if valid_reference(&base_name) {
            Base::Image(base_name)
        } else {
            return Err(BuildError::at(line, format!("invalid reference format: {base_name:?}")));
        };
        let platform = match &ast.from.inner.platform {
            None => None,
            Some(p) => {
                let p = lex.word(p, &vars).map_err(|e| BuildError::at(line, e))?.value;
                if !options.platform.accepts(&p) {
                    return Err(BuildError::at(
                        line,
                        format!("platform {p:?} is not supported: berth builds for {} only", options.platform.text()),
                    ));
                }
                Some(p)
            }
        };
        let mut deps = BTreeSet::new();
        if let Base::Stage(s) = base {
            deps.insert(s);
        }
        stages.push(Stage { index, name, from_line: line, base, platform, instructions: ast.instructions.clone(), deps });
    }

    let target = match &options.target {
        None => stages.len() - 1,
        Some(t) => {
            let lower = t.to_ascii_lowercase();
            stages.iter().position(|s| s.name.as_deref() == Some(lower.as_str())).ok_or_else(|| BuildError::TargetNotFound(t.clone()))?
        }
    };

    let mut plan = BuildPlan { escape: df.escape, stages, target, order: Vec::new(), warnings: Vec::new(), options: options.clone(), meta };
    for i in 0..plan.stages.len() {
        let mut deps = BTreeSet::new();
        for ins in &plan.stages[i].instructions {
            for from in from_names(&ins.inner) {
                if let FromRef::Stage(s) = plan.resolve_from(i, &from, ins.line)? {
                    deps.insert(s);
                }
            }
        }
        plan.stages[i].deps.extend(deps);
    }
    plan.order = build_order(&plan.stages, target)?;
    plan.warnings = unused_arg_warning(&plan, df);
    Ok(plan)
}

fn meta_vars(meta: &[(String, Option<String>)], options: &BuildOptions, automatic: &[(String, String)]) -> Vars {
    let mut vars = Vars::new();
    for (k, v) in automatic {
        vars.set(k, v);
    }
    for p in PROXY_ARGS {
        if let Some(v) = options.build_args.get(p) {
            vars.set(p, v);
        }
    }
    for (k, default) in meta {
        if let Some(v) = options.build_args.get(k).or(default.as_ref()) {
            vars.set(k, v);
        }
    }
    vars
}

/// BuildKit's rule for `AS` names.
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Docker's reference grammar: `[host[:port]/]path[:tag][@digest]`, path components lower case.
pub(crate) fn valid_reference(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        let host = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?";
        let pattern = format!(r"^(?:{host}/)?{component}(?:/{component})*(?::[\w][\w.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}})?$");
        regex::Regex::new(&pattern).expect("reference regex")
    });
    s.len() <= 255 + 128 + 80 && re.is_match(s)
}

/// The `--from` values an instruction reads (COPY's flag, RUN's mount `from=`).
fn from_names(ins: &Instruction) -> Vec<String> {
    match ins {
        Instruction::Copy(c) => c.from.iter().cloned().collect(),
        Instruction::Run(r) => r
            .mounts
            .iter()
            .filter_map(|spec| csv_fields(spec).ok())
            .filter_map(|fields| {
                fields
                    .into_iter()
                    .find_map(|f| f.split_once('=').filter(|(k, _)| k.eq_ignore_ascii_case("from")).map(|(_, v)| v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl BuildPlan {
    /// Resolve a `--from` value seen in stage `current`: a stage name (any stage but this
    /// one), a stage index, or an image reference (which must name a registry path or a
    /// tag: a bare word that is no stage's name is taken for a mistyped stage).
    pub(crate) fn resolve_from(&self, current: usize, name: &str, line: usize) -> Result<FromRef> {
        if name.contains('$') {
            return Err(BuildError::at(
                line,
                format!(
                    "--from={name}: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"
                ),
            ));
        }
        let lower = name.to_ascii_lowercase();
        let found = match self.stages.iter().find(|s| s.name.as_deref() == Some(lower.as_str())) {
            Some(s) => Some(s.index),
            None => match name.parse::<usize>() {
                Ok(i) if i < self.stages.len() => Some(i),
                Ok(i) => {
                    return Err(BuildError::at(
                        line,
                        format!("--from={name}: invalid stage index {i} (the file has {} stages)", self.stages.len()),
                    ));
                }
                Err(_) => None,
            },
        };
        match found {
            Some(i) if i == current => Err(BuildError::at(line, format!("--from={name} refers to the stage it is in"))),
            Some(i) => Ok(FromRef::Stage(i)),
            None if name.contains([':', '/', '@']) && valid_reference(name) => Ok(FromRef::Image(name.to_string())),
            None if valid_reference(name) => Err(BuildError::at(
                line,
                format!("--from={name}: no stage named {name:?} (to copy from an image, give its tag: {name}:latest)"),
            )),
            None => Err(BuildError::at(line, format!("--from={name}: no such stage and not a valid image reference"))),
        }
    }

    /// The stage a name or index refers to, for the executor (`--target` is resolved already).
    pub(crate) fn stage(&self, index: usize) -> &Stage {
        &self.stages[index]
    }
}

fn build_order(stages: &[Stage], target: usize) -> Result<Vec<usize>> {
    fn visit(stages: &[Stage], i: usize, state: &mut [u8], order: &mut Vec<usize>) -> Result<()> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                return Err(BuildError::at(
                    stages[i].from_line,
                    format!("circular dependency between build stages (stage {})", stage_label(&stages[i])),
                ));
            }
            _ => {}
        }
        state[i] = 1;
        for &d in &stages[i].deps {
            visit(stages, d, state, order)?;
        }
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    let mut state = vec![0u8; stages.len()];
    let mut order = Vec::new();
    visit(stages, target, &mut state, &mut order)?;
    Ok(order)
}

fn stage_label(s: &Stage) -> String {
    s.name.clone().unwrap_or_else(|| s.index.to_string())
}

fn unused_arg_warning(plan: &BuildPlan, df: &Dockerfile) -> Vec<String> {
    let mut declared: BTreeSet<String> = plan.meta.iter().map(|(k, _)| k.clone()).collect();
    // As the legacy builder: every stage up to the target counts, built or not.
    for stage in &df.stages[..=plan.target] {
        for ins in &stage.instructions {
            if let Instruction::Arg(decls) = &ins.inner {
                declared.extend(decls.iter().map(|d| d.key.clone()));
            }
        }
    }
    let unused: Vec<&str> = plan
        .options
        .build_args
        .keys()
        .filter(|k| !declared.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if unused.is_empty() { Vec::new() } else { vec![format!("[Warning] One or more build-args [{}] were not consumed", unused.join(" "))] }
}

// --- One stage, one step at a time ---

/// What one instruction does, after expansion.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    pub line: usize,
    /// The instruction as written (progress output).
    pub text: String,
    pub kind: StepKind,
    /// The history line (for COPY/ADD, see [`CopyStep::created_by`]).
    pub created_by: String,
    /// Build args the result depends on (name, value): for RUN every one in its
    /// environment, for the others those the expansion read.
    pub args: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) enum StepKind {
    /// Only the config changed (already applied to [`StageState::config`]): an empty layer.
    Config,
    Run(RunStep),
    Copy(CopyStep),
    /// Create the working directory in the rootfs (the config already has it).
    Workdir(String),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct RunStep {
    pub argv: Vec<String>,
    /// The config's `Env` plus the build args in scope.
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    pub mounts: Vec<Mount>,
    pub network: Network,
    pub insecure: bool,
    /// A lone heredoc starting with `#!`: written to `argv[0]` and executed.
    pub script: Option<Heredoc>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) enum CopySource {
    /// A path or wildcard in the context or the `--from` stage/image.
    Path(String),
    /// ADD from a URL.
    Url(String),
    /// ADD from a git repository.
    Git(String),
    /// An inline file, content expanded if its delimiter was unquoted.
    Heredoc { name: String, content: String },
}

/// Where COPY reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum CopyFrom {
    Context,
    Stage(usize),
    Image(String),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct CopyStep {
    pub add: bool,
    pub from: CopyFrom,
    pub sources: Vec<CopySource>,
    /// Absolute, cleaned; ends in `/` when the destination is a directory by syntax.
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<u32>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
    /// The shell the history line names.
    shell: String,
}

impl CopyStep {
    /// The legacy builder's history line, given the sources' hash (`file:…`, `dir:…` or
    /// `multi:…`): `/bin/sh -c #(nop) COPY file:abc in /dst ` (with `--chown=u:g` glued
    /// to the hash, as Docker writes it).
    pub(crate) fn created_by(&self, source_hash: &str) -> String {
        let chown = self.chown.as_ref().map(|c| format!("--chown={c}")).unwrap_or_default();
        format!("{} #(nop) {} {chown}{source_hash} in {} ", self.shell, if self.add { "ADD" } else { "COPY" }, self.dest)
    }
}

/// `RUN --mount=…`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct Mount {
    pub kind: MountKind,
    /// Absolute (relative targets are joined to the working directory).
    pub target: String,
    /// In the `from` stage/image or the context (bind), or the secret's file.
    pub source: Option<String>,
    /// Bind and cache mounts: where `source` is read (the context when `None`).
    pub from: Option<FromRef>,
    pub readonly: bool,
    /// Cache and secret id (defaults: the target for caches, its base name for secrets).
    pub id: Option<String>,
    pub sharing: Sharing,
    /// tmpfs size in bytes.
    pub size: Option<u64>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub required: bool,
    /// Secret exposed as this environment variable.
    pub env: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Sharing {
    Shared,
    Private,
    Locked,
}

/// One stage being built: its config so far and its ARG scope.
#[derive(Clone, Debug)]
pub(crate) struct StageState<'p> {
    plan: &'p BuildPlan,
    stage: usize,
    pub config: RunConfig,
    /// `MAINTAINER`, for the image's `author`.
    pub author: Option<String>,
    cmd_set: bool,
    /// ARGs declared in this stage: name → expanded default.
    declared: BTreeMap<String, Option<String>>,
}

impl<'p> StageState<'p> {
    /// Start stage `stage` on its base's config. Returns the base's ONBUILD triggers,
    /// parsed, to run before the stage's own instructions (they leave the new config).
    pub(crate) fn new(plan: &'p BuildPlan, stage: usize, base: RunConfig) -> Result<(Self, Vec<Located<Instruction>>)> {
        let mut config = base;
        let line = plan.stages[stage].from_line;
        let triggers = config
            .on_build
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|t| super::dockerfile::parse_trigger(&t, line).map(|inner| Located { line, text: t.clone(), inner }))
            .collect::<Result<Vec<_>>>()?;
        Ok((StageState { plan, stage, config, author: None, cmd_set: false, declared: BTreeMap::new() }, triggers))
    }

    /// The value of a build arg declared in this stage.
    fn arg_value(&self, key: &str) -> Option<String> {
        let default = self.declared.get(key)?;
        if let Some(v) = self.plan.options.build_args.get(key) {
            return Some(v.clone());
        }
        if let Some(v) = default {
            return Some(v.clone());
        }
        if let Some((_, Some(v))) = self.plan.meta.iter().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        self.plan.options.platform.automatic_args().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Build args in scope, not hidden by an ENV of the same name, sorted: the declared
    /// ones (history's `|N`), and with `proxies` also the undeclared proxy args passed.
    fn args_in_scope(&self, proxies: bool) -> Vec<(String, String)> {
        let env = Vars::from_env(self.config.env_list());
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for key in self.declared.keys() {
            if env.get(key).is_none()
                && let Some(v) = self.arg_value(key)
            {
                out.insert(key.clone(), v);
            }
        }
        if proxies {
            for p in PROXY_ARGS {
                if let Some(v) = self.plan.options.build_args.get(p)
                    && env.get(p).is_none()
                {
                    out.entry(p.to_string()).or_insert_with(|| v.clone());
                }
            }
        }
        out.into_iter().collect()
    }

    /// The variables an instruction's words see.
    fn vars(&self) -> Vars {
        let mut vars = Vars::from_env(self.config.env_list());
        for (k, v) in self.args_in_scope(true) {
            vars.set(&k, &v);
        }
        vars
    }

    /// Expand one instruction and apply it to the config.
    pub(crate) fn step(&mut self, ins: &Located<Instruction>) -> Result<Step> {
        let line = ins.line;
        let mut x = Expander { lex: Lex::new(self.plan.escape), vars: self.vars(), used: BTreeSet::new(), line };
        let mut kind = StepKind::Config;
        let comment: String;
        let mut run_args = None;
        match &ins.inner {
            Instruction::Arg(decls) => {
                let mut parts = Vec::new();
                for d in decls {
                    let key = x.word(&d.key)?;
                    let default = d.default.as_deref().map(|v| x.word(v)).transpose()?;
                    parts.push(match &default {
                        Some(v) => format!("{key}={v}"),
                        None => key.clone(),
                    });
                    self.declared.insert(key, default);
                }
                comment = format!("ARG {}", parts.join(" "));
            }
            Instruction::Env(kvs) => {
                let pairs = kvs.iter().map(|kv| Ok((x.word(&kv.key)?, x.word(&kv.value)?))).collect::<Result<Vec<_>>>()?;
                for (k, v) in &pairs {
                    if k.is_empty() {
                        return Err(BuildError::at(line, "ENV names can not be blank"));
                    }
                    config::apply_env(&mut self.config, k, v);
                }
                comment = format!("ENV {}", pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
            }
            Instruction::Label(kvs) => {
                let pairs = kvs.iter().map(|kv| Ok((x.word(&kv.key)?, x.word(&kv.value)?))).collect::<Result<Vec<_>>>()?;
                for (k, v) in &pairs {
                    if k.is_empty() {
                        return Err(BuildError::at(line, "LABEL names can not be blank"));
                    }
                    config::apply_label(&mut self.config, k, v);
                }
                comment = format!("LABEL {}", pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
            }
            Instruction::Run(run) => {
                let mounts = run.mounts.iter().map(|m| self.mount(m, &mut x)).collect::<Result<Vec<_>>>()?;
                let (argv, script) = self.run_argv(&run.command, &run.heredocs);
                let history_args = self.args_in_scope(false);
                let mut env = self.config.env_list().to_vec();
                env.extend(self.args_in_scope(true).into_iter().map(|(k, v)| format!("{k}={v}")));
                let created_by = config::run_created_by(&argv, &history_args);
                run_args = Some((history_args, created_by));
                kind = StepKind::Run(RunStep {
                    argv,
                    env,
                    user: self.config.user.clone().unwrap_or_default(),
                    workdir: self.config.working_dir.clone().filter(|w| !w.is_empty()).unwrap_or_else(|| "/".into()),
                    mounts,
                    network: run.network.unwrap_or(Network::Default),
                    insecure: run.security.as_deref() == Some("insecure"),
                    script,
                });
                comment = String::new();
            }
            Instruction::Cmd(form) => {
                self.cmd_set |= config::apply_cmd(&mut self.config, form);
                comment = format!("CMD {}", config::go_quote_list(self.config.cmd.as_deref().unwrap_or(&[])));
            }
            Instruction::Entrypoint(form) => {
                config::apply_entrypoint(&mut self.config, form, self.cmd_set);
                comment = format!("ENTRYPOINT {}", config::go_quote_list(self.config.entrypoint.as_deref().unwrap_or(&[])));
            }
            Instruction::Copy(c) | Instruction::Add(c) => {
                let add = matches!(ins.inner, Instruction::Add(_));
                kind = StepKind::Copy(self.copy(c, add, &mut x)?);
                comment = String::new();
            }
            Instruction::Workdir(p) => {
                let p = x.word(p)?;
                let path = config::apply_workdir(&mut self.config, &p).map_err(|e| BuildError::at(line, e))?;
                comment = format!("WORKDIR {path}");
                kind = StepKind::Workdir(path);
            }
            Instruction::User(u) => {
                let u = x.word(u)?;
                if u.is_empty() {
                    return Err(BuildError::at(line, "USER requires an argument"));
                }
                config::apply_user(&mut self.config, &u);
                comment = format!("USER {u}");
            }
            Instruction::Expose(ports) => {
                let mut raw = ports.clone();
                raw.sort();
                let mut expanded = Vec::new();
                for p in &raw {
                    expanded.extend(x.words(p)?);
                }
                config::apply_expose(&mut self.config, &expanded).map_err(|e| BuildError::at(line, e))?;
                comment = format!("EXPOSE {}", expanded.join(" "));
            }
            Instruction::Volume(paths) => {
                let paths = paths.iter().map(|p| x.word(p)).collect::<Result<Vec<_>>>()?;
                config::apply_volume(&mut self.config, &paths).map_err(|e| BuildError::at(line, e))?;
                comment = format!("VOLUME {}", config::go_list(&paths));
            }
            Instruction::StopSignal(s) => {
                let s = x.word(s)?;
                config::apply_stopsignal(&mut self.config, &s).map_err(|e| BuildError::at(line, e))?;
                comment = format!("STOPSIGNAL {s}");
            }
            Instruction::Healthcheck(h) => {
                let hc = match h {
                    HealthAst::None => config::healthcheck(None, 0, 0, 0, 0, 0),
                    HealthAst::Check { command, interval, timeout, start_period, start_interval, retries } => {
                        config::healthcheck(Some(command), *interval, *timeout, *start_period, *start_interval, *retries)
                    }
                };
                comment = config::healthcheck_created_by(&hc);
                config::apply_healthcheck(&mut self.config, hc);
            }
            Instruction::Shell(shell) => {
                if shell.is_empty() {
                    return Err(BuildError::at(line, "SHELL requires at least one argument"));
                }
                config::apply_shell(&mut self.config, shell);
                comment = format!("SHELL {}", config::go_list(shell));
            }
            Instruction::Maintainer(m) => {
                self.author = Some(m.clone());
                comment = format!("MAINTAINER {m}");
            }
            Instruction::Onbuild(t) => {
                config::apply_onbuild(&mut self.config, t);
                comment = format!("ONBUILD {t}");
            }
        }
        let (args, created_by) = match run_args {
            Some(r) => r,
            None => {
                let args = x.used_args(self);
                let created_by = match &kind {
                    StepKind::Workdir(_) => config::nop1_created_by(&self.config, &comment),
                    StepKind::Copy(_) => String::new(),
                    _ => config::nop_created_by(&self.config, &comment),
                };
                (args, created_by)
            }
        };
        Ok(Step { line, text: ins.text.clone(), kind, created_by, args })
    }

    /// The argv of RUN, with heredocs handled as BuildKit does: a lone `<<EOF` runs its
    /// content (directly when it starts with `#!`), other forms hand the whole script,
    /// heredocs included, to the shell.
    fn run_argv(&self, form: &CommandForm, heredocs: &[Heredoc]) -> (Vec<String>, Option<Heredoc>) {
        let CommandForm::Shell(cmdline) = form else { return (config::resolve_command(form, &self.config), None) };
        if heredocs.is_empty() {
            return (config::resolve_command(form, &self.config), None);
        }
        let lone = heredocs.len() == 1 && is_lone_heredoc(cmdline, &heredocs[0].name);
        let script = if lone {
            let doc = &heredocs[0];
            if doc.content.starts_with("#!") {
                return (vec![format!("/dev/pipes/{}", doc.name)], Some(doc.clone()));
            }
            doc.content.clone()
        } else {
            let mut full = cmdline.clone();
            for doc in heredocs {
                full.push('\n');
                full.push_str(&doc.content);
                full.push_str(&doc.name);
            }
            full
        };
        (config::resolve_command(&CommandForm::Shell(script), &self.config), None)
    }

    fn copy(&self, c: &super::dockerfile::CopyAst, add: bool, x: &mut Expander) -> Result<CopyStep> {
        let line = x.line;
        let name = if add { "ADD" } else { "COPY" };
        let from = match &c.from {
            None => CopyFrom::Context,
            Some(f) => match self.plan.resolve_from(self.stage, f, line)? {
                FromRef::Stage(s) => CopyFrom::Stage(s),
                FromRef::Image(i) => CopyFrom::Image(i),
            },
        };
        let mut sources = Vec::new();
        for s in &c.sources {
            sources.push(match s {
                SourceAst::Path(p) => {
                    let p = x.word(p)?;
                    if is_url(&p) {
                        if !add {
                            return Err(BuildError::at(line, format!("COPY: source can't be a URL ({p}): use ADD")));
                        }
                        if is_git(&p) { CopySource::Git(p) } else { CopySource::Url(p) }
                    } else if add && is_git(&p) {
                        CopySource::Git(p)
                    } else {
                        CopySource::Path(p)
                    }
                }
                SourceAst::Heredoc(h) => {
                    let content = if h.expand {
                        let mut raw = Lex::new('\\');
                        raw.skip_quotes = true;
                        let e = raw.word(&h.content, &x.vars).map_err(|e| BuildError::at(line, e))?;
                        x.used.extend(e.used);
                        e.value
                    } else {
                        h.content.clone()
                    };
                    CopySource::Heredoc { name: h.name.clone(), content }
                }
            });
        }
        let dest_raw = x.word(&c.dest)?;
        if dest_raw.is_empty() {
            return Err(BuildError::at(line, format!("{name}: empty destination")));
        }
        let dest = normalize_dest(self.config.workdir(), &dest_raw);
        if sources.len() > 1 && !dest.ends_with('/') {
            return Err(BuildError::at(
                line,
                format!("When using {name} with more than one source file, the destination must be a directory and end with a /"),
            ));
        }
        let chown = c.chown.as_deref().map(|v| x.word(v)).transpose()?.filter(|v| !v.is_empty());
        let chmod = match c.chmod.as_deref().map(|v| x.word(v)).transpose()? {
            None => None,
            Some(m) => Some(
                u32::from_str_radix(&m, 8)
                    .ok()
                    .filter(|v| *v <= 0o7777)
                    .ok_or_else(|| BuildError::at(line, format!("invalid chmod parameter {m:?}: use an octal mode like 0755")))?,
            ),
        };
        let checksum = c.checksum.as_deref().map(|v| x.word(v)).transpose()?.filter(|v| !v.is_empty());
        if checksum.is_some() && sources.iter().any(|s| !matches!(s, CopySource::Url(_) | CopySource::Git(_))) {
            return Err(BuildError::at(line, "checksum can't be specified for non-HTTP(S) sources"));
        }
        if let Some(sum) = &checksum
            && !sum.split_once(':').is_some_and(|(alg, hex)| {
                matches!(alg, "sha256" | "sha384" | "sha512") && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
            })
        {
            return Err(BuildError::at(line, format!("invalid checksum {sum:?}: expected sha256:<hex>")));
        }
        Ok(CopyStep {
            add,
            from,
            sources,
            dest,
            chown,
            chmod,
            link: c.link,
            parents: c.parents,
            excludes: c.excludes.clone(),
            checksum,
            keep_git_dir: c.keep_git_dir.unwrap_or(false),
            unpack: c.unpack,
            shell: self.config.shell_or_default().join(" "),
        })
    }

    fn mount(&self, spec: &str, x: &mut Expander) -> Result<Mount> {
        let line = x.line;
        let bad = |m: String| BuildError::at(line, format!("--mount={spec}: {m}"));
        let fields = csv_fields(spec).map_err(bad)?;
        let mut m = Mount {
            kind: MountKind::Bind,
            target: String::new(),
            source: None,
            from: None,
            readonly: true,
            id: None,
            sharing: Sharing::Shared,
            size: None,
            mode: None,
            uid: None,
            gid: None,
            required: false,
            env: None,
        };
        let mut ro_auto = true;
        let mut sharing_set = false;
        for field in fields {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
                None => (field.to_ascii_lowercase(), None),
            };
            let Some(value) = value else {
                match key.as_str() {
                    "readonly" | "ro" => (m.readonly, ro_auto) = (true, false),
                    "readwrite" | "rw" => (m.readonly, ro_auto) = (false, false),
                    "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => m.required = true,
                    "required" => return Err(bad(format!("unexpected key 'required' for mount type '{}'", kind_name(m.kind)))),
                    _ => return Err(bad(format!("invalid field '{field}' must be a key=value pair"))),
                }
                continue;
            };
            let value = if key == "from" { value } else { x.word(&value)? };
            let parse_bool = |v: &str| match v.to_ascii_lowercase().as_str() {
                "1" | "t" | "true" => Ok(true),
                "0" | "f" | "false" => Ok(false),
                _ => Err(bad(format!("invalid value for {key}: {v}"))),
            };
            match key.as_str() {
                "type" => {
                    m.kind = match value.to_ascii_lowercase().as_str() {
                        "bind" => MountKind::Bind,
                        "cache" => MountKind::Cache,
                        "tmpfs" => MountKind::Tmpfs,
                        "secret" => MountKind::Secret,
                        "ssh" => MountKind::Ssh,
                        _ => return Err(bad(format!("unsupported mount type {value:?} (bind, cache, tmpfs, secret or ssh)"))),
                    }
                }
                "from" => m.from = Some(self.plan.resolve_from(self.stage, &value, line)?),
                "source" | "src" => m.source = Some(value),
                "target" | "dst" | "destination" => m.target = value,
                "readonly" | "ro" => (m.readonly, ro_auto) = (parse_bool(&value)?, false),
                "readwrite" | "rw" => (m.readonly, ro_auto) = (!parse_bool(&value)?, false),
                "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => m.required = parse_bool(&value)?,
                "size" if m.kind == MountKind::Tmpfs => {
                    m.size = Some(parse_ram(&value).ok_or_else(|| bad(format!("invalid value for size: {value}")))?)
                }
                "id" => m.id = Some(value),
                "sharing" => {
                    sharing_set = true;
                    m.sharing = match value.to_ascii_lowercase().as_str() {
                        "shared" => Sharing::Shared,
                        "private" => Sharing::Private,
                        "locked" => Sharing::Locked,
                        _ => return Err(bad(format!("unsupported sharing value {value:?} (shared, private or locked)"))),
                    }
                }
                "mode" => m.mode = Some(u32::from_str_radix(&value, 8).map_err(|_| bad(format!("invalid value {value} for mode")))?),
                "uid" => m.uid = Some(value.parse().map_err(|_| bad(format!("invalid value {value} for uid")))?),
                "gid" => m.gid = Some(value.parse().map_err(|_| bad(format!("invalid value {value} for gid")))?),
                "env" => m.env = Some(value),
                _ => return Err(bad(format!("unexpected key '{key}' for mount type '{}'", kind_name(m.kind)))),
            }
        }
        let file_info = matches!(m.kind, MountKind::Secret | MountKind::Ssh | MountKind::Cache);
        if !file_info && (m.mode.is_some() || m.uid.is_some() || m.gid.is_some()) {
            return Err(bad(format!("mode, uid and gid are not allowed for {:?} type mounts", kind_name(m.kind))));
        }
        if ro_auto {
            m.readonly = !matches!(m.kind, MountKind::Cache | MountKind::Tmpfs);
        }
        if sharing_set && m.kind != MountKind::Cache {
            return Err(bad(format!("invalid cache sharing set for {} mount", kind_name(m.kind))));
        }
        match m.kind {
            MountKind::Secret => {
                if m.from.is_some() {
                    return Err(bad("secret mount should not have a from".into()));
                }
                if m.source.is_none() && m.target.is_empty() && m.id.is_none() {
                    return Err(bad("invalid secret mount. one of source, target required".into()));
                }
                if m.source.is_some() && m.id.is_some() {
                    return Err(bad("both source and id can't be set".into()));
                }
                let id = m.id.clone().or_else(|| m.source.clone()).unwrap_or_else(|| m.target.rsplit('/').next().unwrap_or("").to_string());
                if m.target.is_empty() && m.env.is_none() {
                    m.target = format!("/run/secrets/{id}");
                }
                m.id = Some(id);
            }
            MountKind::Ssh if m.target.is_empty() => m.target = "/run/buildkit/ssh_agent.0".into(),
            MountKind::Ssh => {}
            _ if m.target.is_empty() => return Err(bad("mount target must be set".into())),
            MountKind::Cache if m.id.is_none() => m.id = Some(m.target.clone()),
            _ => {}
        }
        if !m.target.is_empty() && !m.target.starts_with('/') {
            let wd = self.config.workdir();
            m.target = config::clean_path(&format!("/{wd}/{}", m.target));
        }
        Ok(m)
    }
}

fn kind_name(k: MountKind) -> &'static str {
    match k {
        MountKind::Bind => "bind",
        MountKind::Cache => "cache",
        MountKind::Tmpfs => "tmpfs",
        MountKind::Secret => "secret",
        MountKind::Ssh => "ssh",
    }
}

/// Expansion of one instruction's words, remembering what it read.
struct Expander {
    lex: Lex,
    vars: Vars,
    used: BTreeSet<String>,
    line: usize,
}

impl Expander {
    fn word(&mut self, w: &str) -> Result<String> {
        let e = self.lex.word(w, &self.vars).map_err(|e| BuildError::at(self.line, e))?;
        self.used.extend(e.used);
        Ok(e.value)
    }

    fn words(&mut self, w: &str) -> Result<Vec<String>> {
        let e = self.lex.word(w, &self.vars).map_err(|e| BuildError::at(self.line, e))?;
        self.used.extend(e.used);
        Ok(e.words)
    }

    /// The build args (not ENV values) among the variables read.
    fn used_args(&self, state: &StageState<'_>) -> Vec<(String, String)> {
        let args = state.args_in_scope(true);
        args.into_iter().filter(|(k, _)| self.used.contains(k)).collect()
    }
}

fn is_lone_heredoc(cmdline: &str, name: &str) -> bool {
    let t = cmdline.trim();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let Some(rest) = t[digits..].strip_prefix("<<") else { return false };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if rest.contains('<') {
        return false;
    }
    Lex::new('\\').words(rest, &Vars::new()).is_ok_and(|w| w.len() == 1 && w[0] == name)
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn is_git(s: &str) -> bool {
    s.starts_with("git@") || s.starts_with("git://") || (is_url(s) && (s.ends_with(".git") || s.contains(".git#")))
}

/// COPY's destination: relative to the working directory, cleaned, a trailing `/` kept.
pub(crate) fn normalize_dest(workdir: &str, dest: &str) -> String {
    let dir_syntax = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
    let joined = if dest.starts_with('/') { dest.to_string() } else { format!("/{workdir}/{dest}") };
    let clean = config::clean_path(&joined);
    if dir_syntax && clean != "/" { format!("{clean}/") } else { clean }
}

/// A CSV record as Docker's mount flag reads it (`"a,b"` quoting, `""` for a quote).
fn csv_fields(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' if field_start => quoted = true,
            ',' => {
                fields.push(std::mem::take(&mut cur));
                field_start = true;
                continue;
            }
            c => cur.push(c),
        }
        field_start = false;
    }
    if quoted {
        return Err("failed to parse csv mounts: unterminated quote".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// docker/go-units `RAMInBytes`: `64m`, `1.5g`, `1024`, `2GiB`.
fn parse_ram(s: &str) -> Option<u64> {
    let s = s.trim();
    let num_len = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let value: f64 = s[..num_len].parse().ok()?;
    let unit = s[num_len..].trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    let bytes = value * mult;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::super::dockerfile::parse;
    use super::*;

    fn opts(args: &[(&str, &str)]) -> BuildOptions {
        BuildOptions {
            build_args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            target: None,
            platform: Platform { os: "linux".into(), arch: "amd64".into(), variant: None },
        }
    }

    fn busybox_config() -> RunConfig {
        RunConfig {
            env: Some(vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()]),
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        }
    }

    /// Run every instruction of the target stage on a busybox-like base.
    fn run_steps(text: &str, o: &BuildOptions) -> (Vec<Step>, RunConfig) {
        let df = parse(text).unwrap();
        let plan = plan(&df, o).unwrap();
        let stage = plan.target;
        let (mut st, _) = StageState::new(&plan, stage, busybox_config()).unwrap();
        let steps = plan.stages[stage].instructions.iter().map(|i| st.step(i).unwrap()).collect();
        (steps, st.config)
    }

    fn history(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match &s.kind {
                StepKind::Copy(c) => c.created_by("file:HASH"),
                _ => s.created_by.clone(),
            })
            .collect()
    }

    /// The Dockerfile and `docker history` of dockerd 20.10, `DOCKER_BUILDKIT=0 docker build
    /// --build-arg B=bee --build-arg UNUSED=1 --build-arg HTTP_PROXY=p` (the file hashes of
    /// COPY are docker's own and are not reproduced: the executor passes berth's).
    #[test]
    fn history_and_config_match_the_legacy_builder() {
        let text = "FROM busybox\nARG A=1\nARG B\nENV E1=v1 E2=\"two words\"\nLABEL l1=a \"l 2\"=\"b c\" l3=$E1\nRUN echo run1 $A && \\\n    echo cont   && \\\n# a comment\n    true\nRUN [\"echo\",\"exec\"]\nWORKDIR app\nWORKDIR sub\nCOPY f.txt /f.txt\nCOPY --chown=1:2 f.txt d /dst/\nADD f.txt /added\nUSER 1000:1000\nEXPOSE 80 443/udp\nVOLUME /v1 /v2\nVOLUME [\"/v3\"]\nSTOPSIGNAL SIGKILL\nHEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost\nSHELL [\"/bin/sh\",\"-ec\"]\nRUN echo shellrun\nENV E3=x\nONBUILD RUN echo   onbuild\nMAINTAINER me <m@x>\nENTRYPOINT [\"/bin/echo\"]\nCMD hello world\n";
        let o = opts(&[("B", "bee"), ("UNUSED", "1"), ("HTTP_PROXY", "p")]);
        let (steps, cfg) = run_steps(text, &o);
        let want = [
            "/bin/sh -c #(nop)  ARG A=1",
            "/bin/sh -c #(nop)  ARG B",
            "/bin/sh -c #(nop)  ENV E1=v1 E2=two words",
            "/bin/sh -c #(nop)  LABEL l1=a l 2=b c l3=v1",
            "|2 A=1 B=bee /bin/sh -c echo run1 $A &&     echo cont   &&     true",
            "|2 A=1 B=bee echo exec",
            "/bin/sh -c #(nop) WORKDIR /app",
            "/bin/sh -c #(nop) WORKDIR /app/sub",
            "/bin/sh -c #(nop) COPY file:HASH in /f.txt ",
            "/bin/sh -c #(nop) COPY --chown=1:2file:HASH in /dst/ ",
            "/bin/sh -c #(nop) ADD file:HASH in /added ",
            "/bin/sh -c #(nop)  USER 1000:1000",
            "/bin/sh -c #(nop)  EXPOSE 443/udp 80",
            "/bin/sh -c #(nop)  VOLUME [/v1 /v2]",
            "/bin/sh -c #(nop)  VOLUME [/v3]",
            "/bin/sh -c #(nop)  STOPSIGNAL SIGKILL",
            r#"/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "wget -q localhost"] "5s" "0s" "0s" '\x03'}"#,
            "/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]",
            "|2 A=1 B=bee /bin/sh -ec echo shellrun",
            "/bin/sh -ec #(nop)  ENV E3=x",
            "/bin/sh -ec #(nop)  ONBUILD RUN echo   onbuild",
            "/bin/sh -ec #(nop)  MAINTAINER me <m@x>",
            r#"/bin/sh -ec #(nop)  ENTRYPOINT ["/bin/echo"]"#,
            r#"/bin/sh -ec #(nop)  CMD ["/bin/sh" "-ec" "hello world"]"#,
        ];
        assert_eq!(history(&steps), want);
        let got = serde_json::to_value(&cfg).unwrap();
        let docker = serde_json::json!({"User":"1000:1000","ExposedPorts":{"443/udp":{},"80/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","E1=v1","E2=two words","E3=x"],"Entrypoint":["/bin/echo"],"Cmd":["/bin/sh","-ec","hello world"],"Volumes":{"/v1":{},"/v2":{},"/v3":{}},"WorkingDir":"/app/sub","Labels":{"l 2":"b c","l1":"a","l3":"v1"},"StopSignal":"SIGKILL","Healthcheck":{"Test":["CMD-SHELL","wget -q localhost"],"Interval":5000000000u64,"Retries":3},"OnBuild":["RUN echo   onbuild"],"Shell":["/bin/sh","-ec"]});
        assert_eq!(got, docker);
        let StepKind::Run(run) = &steps[4].kind else { panic!() };
        assert!(run.env.contains(&"HTTP_PROXY=p".to_string()), "proxy args reach RUN's environment: {:?}", run.env);
        assert!(run.env.contains(&"B=bee".to_string()));
        let df = parse(text).unwrap();
        assert_eq!(plan(&df, &o).unwrap().warnings, ["[Warning] One or more build-args [UNUSED] were not consumed"]);
    }

    /// Second dockerd 20.10 check: global ARG scoping, ENV hiding an ARG, EXPOSE of a
    /// multi-word variable, LABEL quoting, ENTRYPOINT dropping the base CMD.
    #[test]
    fn scoping_matches_the_legacy_builder() {
        let text = "ARG G=global\nARG PORTS=\"8080 9090/udp\"\nFROM busybox AS base\nARG G\nARG PORTS\nARG X=xdef\nENV X=fromenv\nRUN echo $G $X\nEXPOSE $PORTS\nLABEL esc=\\$HOME q=\"a\\\"b\" dollar='$X' brace=${X:-no} plus=${NOPE:+yes}end\nENTRYPOINT echo ep\nFROM base AS second\nCMD []\nWORKDIR /w\nWORKDIR ../q\nFROM busybox\nENTRYPOINT [\"sh\"]\nHEALTHCHECK NONE\nUSER ${G:-nog}\n";
        let o = opts(&[("X", "cli")]);
        let df = parse(text).unwrap();
        let p = plan(&df, &o).unwrap();
        assert!(p.warnings.is_empty());
        assert_eq!(p.order, [2]);
        let (mut st, _) = StageState::new(&p, 0, busybox_config()).unwrap();
        let base: Vec<Step> = p.stages[0].instructions.iter().map(|i| st.step(i).unwrap()).collect();
        assert_eq!(
            history(&base)[4..],
            [
                "|2 G=global PORTS=8080 9090/udp /bin/sh -c echo $G $X",
                "/bin/sh -c #(nop)  EXPOSE 8080 9090/udp",
                "/bin/sh -c #(nop)  LABEL esc=$HOME q=a\"b dollar=$X brace=fromenv plus=end",
                r#"/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c" "echo ep"]"#,
            ]
        );
        assert_eq!(base[4].args, [("G".to_string(), "global".to_string()), ("PORTS".to_string(), "8080 9090/udp".to_string())]);
        assert_eq!(st.config.cmd, None);
        let base_cfg = st.config.clone();
        let (mut st2, _) = StageState::new(&p, 1, base_cfg).unwrap();
        let second: Vec<Step> = p.stages[1].instructions.iter().map(|i| st2.step(i).unwrap()).collect();
        assert_eq!(history(&second), ["/bin/sh -c #(nop)  CMD []", "/bin/sh -c #(nop) WORKDIR /w", "/bin/sh -c #(nop) WORKDIR /q"]);
        assert_eq!(serde_json::to_value(&st2.config).unwrap()["WorkingDir"], "/q");
        let (mut st3, _) = StageState::new(&p, 2, busybox_config()).unwrap();
        let last: Vec<Step> = p.stages[2].instructions.iter().map(|i| st3.step(i).unwrap()).collect();
        assert_eq!(
            history(&last),
            [
                r#"/bin/sh -c #(nop)  ENTRYPOINT ["sh"]"#,
                r#"/bin/sh -c #(nop)  HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\x00'}"#,
                "/bin/sh -c #(nop)  USER nog",
            ]
        );
        assert_eq!(
            serde_json::to_value(&st3.config).unwrap(),
            serde_json::json!({"User":"nog","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["sh"],"Healthcheck":{"Test":["NONE"]}})
        );
    }

    #[test]
    fn from_uses_global_args_and_missing_ones_are_errors() {
        let df = parse("ARG V=1.36\nARG TAG\nFROM busybox:$V AS a\nFROM a\nFROM scratch\n").unwrap();
        let p = plan(&df, &opts(&[])).unwrap();
        assert_eq!(p.stages[0].base, Base::Image("busybox:1.36".into()));
        assert_eq!(p.stages[1].base, Base::Stage(0));
        assert_eq!(p.stages[2].base, Base::Scratch);
        assert_eq!(p.order, [2]);
        let p = plan(&df, &opts(&[("V", "latest")])).unwrap();
        assert_eq!(p.stages[0].base, Base::Image("busybox:latest".into()));

        let df = parse("ARG TAG\nFROM busybox:$TAG\n").unwrap();
        let e = plan(&df, &opts(&[])).unwrap_err().to_string();
        assert!(e.starts_with("Dockerfile:2: FROM busybox:$TAG: build arg TAG has no value"), "{e}");
        assert_eq!(plan(&df, &opts(&[("TAG", "1")])).unwrap().stages[0].base, Base::Image("busybox:1".into()));
        let df = parse("FROM busybox:${TAG:-latest}\n").unwrap();
        assert_eq!(plan(&df, &opts(&[])).unwrap().stages[0].base, Base::Image("busybox:latest".into()));
        let df = parse("FROM busybox\nARG V=1\nFROM busybox:$V\n").unwrap();
        assert!(plan(&df, &opts(&[])).is_err(), "a stage's ARG is not visible to a later FROM");
        let df = parse("ARG E=\"\"\nFROM $E\n").unwrap();
        assert!(plan(&df, &opts(&[])).unwrap_err().to_string().contains("should not be blank"));
        let df = parse("FROM Busybox\n").unwrap();
        assert!(plan(&df, &opts(&[])).unwrap_err().to_string().contains("invalid reference format"));
    }

    #[test]
    fn platform_is_native_only() {
        let df = parse("FROM --platform=$BUILDPLATFORM busybox\n").unwrap();
        assert_eq!(plan(&df, &opts(&[])).unwrap().stages[0].platform.as_deref(), Some("linux/amd64"));
        let df = parse("FROM --platform=linux/arm64 busybox\n").unwrap();
        assert!(plan(&df, &opts(&[])).unwrap_err().to_string().contains("not supported"));
    }

    #[test]
    fn stage_names_targets_and_order() {
        let text = "FROM busybox AS Build\nRUN x\nFROM busybox AS tools\nFROM busybox AS final\nCOPY --from=BUILD /a /a\nCOPY --from=1 /b /b\nRUN --mount=type=bind,from=build,target=/m true\nFROM busybox AS unrelated\n";
        let df = parse(text).unwrap();
        let mut o = opts(&[]);
        o.target = Some("FINAL".into());
        let p = plan(&df, &o).unwrap();
        assert_eq!(p.target, 2);
        assert_eq!(p.order, [0, 1, 2]);
        assert_eq!(p.stages[0].name.as_deref(), Some("build"));
        o.target = Some("nope".into());
        assert_eq!(plan(&df, &o).unwrap_err().to_string(), "target stage \"nope\" could not be found");

        let bad = |t: &str| plan(&parse(t).unwrap(), &opts(&[])).unwrap_err().to_string();
        assert!(bad("FROM a AS x\nFROM b AS X\n").contains("duplicate stage name"));
        assert!(bad("FROM a AS 1x\n").contains("invalid name"));
        assert!(bad("FROM a\nCOPY --from=buildr /x /y\n").starts_with("Dockerfile:2: --from=buildr: no stage named"));
        assert!(bad("FROM a\nCOPY --from=5 /x /y\n").contains("invalid stage index"));
        assert!(bad("FROM a AS me\nCOPY --from=me /x /y\n").contains("refers to the stage it is in"));
        assert!(bad("FROM a\nCOPY --from=$X /x /y\n").contains("not supported for --from"));
        assert!(bad("FROM a AS one\nCOPY --from=two /x /y\nFROM b AS two\nCOPY --from=one /x /y\n").contains("circular"));
        let p = plan(&parse("FROM a\nCOPY --from=nginx:1.25 /etc/nginx /n\n").unwrap(), &opts(&[])).unwrap();
        let (mut st, _) = StageState::new(&p, 0, RunConfig::default()).unwrap();
        let step = st.step(&p.stages[0].instructions[0]).unwrap();
        assert!(matches!(step.kind, StepKind::Copy(CopyStep { from: CopyFrom::Image(ref i), .. }) if i == "nginx:1.25"));
    }

    #[test]
    fn arg_scoping_env_overrides_and_used_args() {
        let text = "ARG GLOBAL=g\nFROM busybox\nARG A=a1\nARG GLOBAL\nARG NOVAL\nENV FROMENV=$A\nENV A=env\nWORKDIR /w/$A/$GLOBAL/$NOVAL/x\nRUN true\n";
        let (steps, cfg) = run_steps(text, &opts(&[]));
        assert_eq!(cfg.env_list()[1], "FROMENV=a1");
        assert_eq!(steps[3].args, [("A".to_string(), "a1".to_string())]);
        assert_eq!(cfg.working_dir.as_deref(), Some("/w/env/g/x"));
        assert_eq!(steps[5].args, [("GLOBAL".to_string(), "g".to_string())]);
        assert_eq!(steps[6].created_by, "|1 GLOBAL=g /bin/sh -c true", "A is hidden by ENV, NOVAL has no value");
        let (steps, _) = run_steps("ARG GLOBAL=g\nFROM busybox\nRUN echo $GLOBAL\n", &opts(&[("GLOBAL", "cli")]));
        assert_eq!(steps[0].created_by, "/bin/sh -c echo $GLOBAL", "a global ARG is not in scope until redeclared");
        let (steps, _) = run_steps("FROM busybox\nARG TARGETARCH\nRUN echo $TARGETARCH\n", &opts(&[]));
        assert_eq!(steps[1].created_by, "|1 TARGETARCH=amd64 /bin/sh -c echo $TARGETARCH");
    }

    #[test]
    fn env_pairs_see_the_values_before_the_instruction() {
        let (_, cfg) = run_steps("FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\n", &opts(&[]));
        assert_eq!(&cfg.env_list()[1..], ["abc=bye", "def=hello"]);
    }

    #[test]
    fn run_mounts_network_and_heredocs() {
        let text = "FROM busybox AS src\nFROM busybox\nWORKDIR /app\nARG CACHE=/root/.cache\nRUN --mount=type=cache,target=$CACHE,sharing=locked --mount=type=bind,from=src,source=/etc,target=etc --mount=type=secret,id=tok --mount=type=tmpfs,target=/t,size=64m --network=none true\nRUN <<EOF\necho hi\nEOF\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\nRUN cat <<A > /a\nx\nA\n";
        let (steps, _) = run_steps(text, &opts(&[]));
        let StepKind::Run(r) = &steps[2].kind else { panic!() };
        assert_eq!(r.network, Network::None);
        assert_eq!(r.workdir, "/app");
        assert_eq!(r.mounts[0].kind, MountKind::Cache);
        assert_eq!(r.mounts[0].target, "/root/.cache");
        assert_eq!(r.mounts[0].id.as_deref(), Some("/root/.cache"));
        assert_eq!(r.mounts[0].sharing, Sharing::Locked);
        assert!(!r.mounts[0].readonly);
        assert_eq!(r.mounts[1].from, Some(FromRef::Stage(0)));
        assert_eq!(r.mounts[1].target, "/app/etc");
        assert!(r.mounts[1].readonly);
        assert_eq!(r.mounts[2].target, "/run/secrets/tok");
        assert_eq!(r.mounts[3].size, Some(64 << 20));
        assert_eq!(steps[2].args, [("CACHE".to_string(), "/root/.cache".to_string())]);
        let StepKind::Run(r) = &steps[3].kind else { panic!() };
        assert_eq!(r.argv, ["/bin/sh", "-c", "echo hi\n"]);
        let StepKind::Run(r) = &steps[4].kind else { panic!() };
        assert_eq!(r.argv, ["/dev/pipes/EOF"]);
        assert!(r.script.as_ref().unwrap().content.starts_with("#!/usr/bin/env python3"));
        let StepKind::Run(r) = &steps[5].kind else { panic!() };
        assert_eq!(r.argv, ["/bin/sh", "-c", "cat <<A > /a\nx\nA"]);

        let bad = |t: &str| {
            plan(&parse(t).unwrap(), &opts(&[])).and_then(|p| {
                let (mut st, _) = StageState::new(&p, 0, RunConfig::default())?;
                st.step(&p.stages[0].instructions[0])
            })
        };
        for spec in [
            "type=nope,target=/x",
            "type=cache",
            "type=bind,target=/x,mode=0700",
            "type=secret",
            "type=bind,target=/x,sharing=locked",
            "target=/x,bogus=1",
            "type=tmpfs,target=/x,size=lots",
            "\"type=cache",
        ] {
            let e = bad(&format!("FROM a\nRUN --mount={spec} true\n")).unwrap_err().to_string();
            assert!(e.starts_with("Dockerfile:2: --mount="), "{spec}: {e}");
        }
    }

    #[test]
    fn copy_sources_dest_and_flags() {
        let text = "FROM busybox\nWORKDIR /app\nARG OWNER=1000\nCOPY --chown=$OWNER:$OWNER --chmod=0640 a b ./\nCOPY <<EOF <<'RAW' /etc/\nhome=$HOME owner=\"$OWNER\"\nEOF\nraw $OWNER\nRAW\nADD --checksum=sha256:abcd https://example.com/x.tar.gz /x\nADD https://github.com/moby/moby.git#v1 /src\nCOPY . .\n";
        let (steps, _) = run_steps(text, &opts(&[]));
        let StepKind::Copy(c) = &steps[2].kind else { panic!() };
        assert_eq!(c.dest, "/app/");
        assert_eq!(c.chown.as_deref(), Some("1000:1000"));
        assert_eq!(c.chmod, Some(0o640));
        assert_eq!(c.from, CopyFrom::Context);
        assert_eq!(steps[2].args, [("OWNER".to_string(), "1000".to_string())]);
        let StepKind::Copy(c) = &steps[3].kind else { panic!() };
        assert_eq!(
            c.sources,
            [
                CopySource::Heredoc { name: "EOF".into(), content: "home= owner=\"1000\"\n".into() },
                CopySource::Heredoc { name: "RAW".into(), content: "raw $OWNER\n".into() },
            ]
        );
        let StepKind::Copy(c) = &steps[4].kind else { panic!() };
        assert_eq!(c.sources, [CopySource::Url("https://example.com/x.tar.gz".into())]);
        assert_eq!(c.checksum.as_deref(), Some("sha256:abcd"));
        let StepKind::Copy(c) = &steps[5].kind else { panic!() };
        assert!(matches!(&c.sources[0], CopySource::Git(_)));
        let StepKind::Copy(c) = &steps[6].kind else { panic!() };
        assert_eq!(c.dest, "/app/");

        let bad = |t: &str| {
            let p = plan(&parse(t).unwrap(), &opts(&[])).unwrap();
            let (mut st, _) = StageState::new(&p, 0, RunConfig::default()).unwrap();
            st.step(&p.stages[0].instructions[0]).unwrap_err().to_string()
        };
        assert!(bad("FROM a\nCOPY a b /notdir\n").contains("must be a directory and end with a /"));
        assert!(bad("FROM a\nCOPY https://x/y /z\n").contains("use ADD"));
        assert!(bad("FROM a\nCOPY --chmod=u+x a /z\n").contains("invalid chmod"));
        assert!(bad("FROM a\nADD --checksum=sha256:ab local /z\n").contains("non-HTTP"));
        assert!(bad("FROM a\nADD --checksum=md5:ab https://x/y /z\n").contains("invalid checksum"));
        assert!(bad("FROM a\nCOPY ${X:?needed} /z\n").contains("X: needed"));
    }

    #[test]
    fn onbuild_triggers_of_the_base_run_first_and_leave_the_config() {
        let p = plan(&parse("FROM base\nRUN own\n").unwrap(), &opts(&[])).unwrap();
        let base = RunConfig { on_build: Some(vec!["RUN echo   onbuild".into(), "ENV X=1".into()]), ..Default::default() };
        let (mut st, triggers) = StageState::new(&p, 0, base).unwrap();
        assert_eq!(triggers.len(), 2);
        assert_eq!(st.config.on_build, None);
        let s = st.step(&triggers[0]).unwrap();
        assert_eq!(s.created_by, "/bin/sh -c echo   onbuild");
        let bad = RunConfig { on_build: Some(vec!["ONBUILD RUN x".into()]), ..Default::default() };
        assert!(StageState::new(&p, 0, bad).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(normalize_dest("/app", "."), "/app/");
        assert_eq!(normalize_dest("", "x"), "/x");
        assert_eq!(normalize_dest("/app", "../y/"), "/y/");
        assert_eq!(normalize_dest("/app", "/"), "/");
        assert_eq!(csv_fields("type=bind,\"source=a,b\",target=/x").unwrap(), ["type=bind", "source=a,b", "target=/x"]);
        assert_eq!(parse_ram("64m"), Some(64 << 20));
        assert_eq!(parse_ram("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_ram("x"), None);
        for good in [
            "busybox",
            "busybox:1.36",
            "localhost:5000/a/b:tag",
            "ghcr.io/o/r@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(valid_reference(good), "{good}");
        }
        for bad in ["Busybox", "a b", "", "a:", ":tag", "a//b"] {
            assert!(!valid_reference(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Any parsable file plans and steps without panicking, whatever its words hold.
        #[test]
        fn plan_and_steps_never_panic(
            lines in proptest::collection::vec(
                proptest::string::string_regex(
                    "(ARG|ENV|LABEL|RUN|RUN --mount=|COPY|COPY --from=|ADD|WORKDIR|USER|EXPOSE|VOLUME|STOPSIGNAL|CMD|ENTRYPOINT|SHELL|HEALTHCHECK|ONBUILD|FROM) [a-z0-9$={}:\\-+?#%/\"' .,\\[\\]]{1,24}"
                ).unwrap(),
                0..10,
            ),
            arg in "[a-z$]{0,5}",
        ) {
            let text = format!("ARG X=1\nFROM busybox AS s0\n{}\n", lines.join("\n"));
            if let Ok(df) = parse(&text) {
                let o = opts(&[("X", arg.as_str())]);
                if let Ok(p) = plan(&df, &o) {
                    for &i in &p.order {
                        let Ok((mut st, _)) = StageState::new(&p, i, busybox_config()) else { continue };
                        for ins in &p.stages[i].instructions {
                            let _ = st.step(ins);
                        }
                    }
                }
            }
        }
    }
}
