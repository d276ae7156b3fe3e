//! A Dockerfile as typed instructions with their line numbers, parsed once.
//!
//! `parse-dockerfile` does the lexing (directives, instructions, flags, JSON vs shell form,
//! heredocs of COPY/ADD, ARG before FROM). It leaves some things raw, which Docker's own
//! parser defines and which are done here: line continuations inside a shell-form command
//! (the escape and trailing blanks are dropped, comment and blank lines inside are skipped,
//! the next line is appended as it is), heredocs anywhere in a RUN line (`RUN cat <<EOF >
//! f`, several per line: the crate reads only a leading one), the `KEY=VALUE` words of
//! ENV/LABEL/ARG with Docker's quoting rules (and the old `ENV KEY value` form), ONBUILD's
//! trigger text, and the flags each instruction accepts. Values stay unexpanded here:
//! expansion depends on the stage's ARG/ENV scope and the base image ([`super::plan`]).
use std::collections::HashMap;

use parse_dockerfile as pd;

use super::error::{BuildError, Result};
use super::expand::{Lex, Vars};

/// A parsed Dockerfile.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Dockerfile {
    /// The `# syntax=` directive, recorded (berth has one frontend).
    pub syntax: Option<String>,
    /// The escape character (`# escape=` directive), `\` by default.
    pub escape: char,
    /// ARG instructions before the first FROM.
    pub global_args: Vec<Located<Vec<ArgDecl>>>,
    pub stages: Vec<StageAst>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StageAst {
    pub from: Located<FromAst>,
    pub instructions: Vec<Located<Instruction>>,
}

/// Something found at a line of the Dockerfile (1-based).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Located<T> {
    pub line: usize,
    /// The instruction as written, continuations joined (for progress and messages).
    pub text: String,
    pub inner: T,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FromAst {
    pub image: String,
    /// The `AS name`, as written.
    pub name: Option<String>,
    pub platform: Option<String>,
}

/// `ARG name[=default]`, unexpanded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ArgDecl {
    pub key: String,
    pub default: Option<String>,
}

/// One `key=value` of ENV or LABEL, still quoted as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KeyValue {
    pub key: String,
    pub value: String,
}

/// RUN, CMD, ENTRYPOINT and HEALTHCHECK commands.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CommandForm {
    /// `["prog", "arg"]`: run as is.
    Exec(Vec<String>),
    /// The command line, continuations joined: handed to the stage's SHELL.
    Shell(String),
}

/// `<<EOF` … `EOF`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct Heredoc {
    pub name: String,
    /// Every line with its newline; leading tabs already removed for `<<-`.
    pub content: String,
    /// The delimiter was not quoted: variables in the content are expanded (COPY/ADD).
    pub expand: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunAst {
    pub command: CommandForm,
    /// Heredocs of a shell-form command, in order.
    pub heredocs: Vec<Heredoc>,
    /// `--mount` specs, unexpanded (their values see the stage's variables).
    pub mounts: Vec<String>,
    pub network: Option<Network>,
    /// `--security=insecure|sandbox`.
    pub security: Option<String>,
}

/// `RUN --network=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Network {
    Default,
    None,
    Host,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SourceAst {
    Path(String),
    Heredoc(Heredoc),
}

/// COPY and ADD (ADD-only flags are `None` for COPY).
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct CopyAst {
    pub sources: Vec<SourceAst>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: Option<bool>,
    pub unpack: Option<bool>,
}

/// HEALTHCHECK, flags parsed (durations in nanoseconds, 0 = inherit the default).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum HealthAst {
    None,
    Check { command: CommandForm, interval: i64, timeout: i64, start_period: i64, start_interval: i64, retries: i64 },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Instruction {
    Arg(Vec<ArgDecl>),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Run(RunAst),
    Cmd(CommandForm),
    Entrypoint(CommandForm),
    Copy(CopyAst),
    Add(CopyAst),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    /// Paths, and whether they were written as a JSON array.
    Volume(Vec<String>),
    StopSignal(String),
    Healthcheck(HealthAst),
    Shell(Vec<String>),
    Maintainer(String),
    /// The trigger's text as written after ONBUILD (continuations joined).
    Onbuild(String),
}

impl Instruction {
    /// The keyword, upper case.
    pub(crate) fn keyword(&self) -> &'static str {
        match self {
            Instruction::Arg(_) => "ARG",
            Instruction::Env(_) => "ENV",
            Instruction::Label(_) => "LABEL",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::User(_) => "USER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Shell(_) => "SHELL",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Onbuild(_) => "ONBUILD",
        }
    }
}

/// Parse a Dockerfile.
pub(crate) fn parse(text: &str) -> Result<Dockerfile> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let escape = escape_directive(text)?;
    let pre = prepass(text, escape)?;
    let parsed = pd::parse(&pre.masked).map_err(|e| crate_error(&e))?;
    let escape = parsed.parser_directives.escape.as_ref().map(|d| d.value.value).unwrap_or(escape);
    let syntax = parsed.parser_directives.syntax.as_ref().map(|d| d.value.value.to_string());
    let cx = Cx { text, escape, heredocs: &pre.heredocs };

    let mut global_args = Vec::new();
    let mut stages: Vec<StageAst> = Vec::new();
    for ins in &parsed.instructions {
        let start = keyword_start(ins);
        let line = line_of(text, start);
        let source = join_continuations(&text[start..], escape).trim_end().to_string();
        match ins {
            pd::Instruction::From(from) => {
                let inner = cx.from(from, line)?;
                stages.push(StageAst { from: Located { line, text: source, inner }, instructions: Vec::new() });
            }
            other => {
                let inner = cx.instruction(other, line)?;
                match (stages.last_mut(), inner) {
                    (Some(stage), inner) => stage.instructions.push(Located { line, text: source, inner }),
                    (None, Instruction::Arg(args)) => global_args.push(Located { line, text: source, inner: args }),
                    (None, _) => return Err(BuildError::at(line, "expected FROM")),
                }
            }
        }
    }
    Ok(Dockerfile { syntax, escape, global_args, stages })
}

/// Parse one ONBUILD trigger (from a base image's config) as a single instruction.
pub(crate) fn parse_trigger(trigger: &str, line: usize) -> Result<Instruction> {
    let wrapped = format!("FROM scratch\n{trigger}\n");
    let df = parse(&wrapped).map_err(|e| match e {
        BuildError::Dockerfile { msg, .. } => BuildError::at(line, format!("ONBUILD trigger {trigger:?}: {msg}")),
        other => other,
    })?;
    let stage = df.stages.into_iter().next();
    match stage.map(|s| s.instructions) {
        Some(mut ins) if ins.len() == 1 => {
            let ins = ins.remove(0).inner;
            if matches!(ins, Instruction::Onbuild(_) | Instruction::Maintainer(_)) {
                return Err(BuildError::at(line, format!("{} isn't allowed as an ONBUILD trigger", ins.keyword())));
            }
            Ok(ins)
        }
        _ => Err(BuildError::at(line, format!("ONBUILD trigger {trigger:?} should be a single instruction"))),
    }
}

struct Cx<'a> {
    text: &'a str,
    escape: char,
    heredocs: &'a HashMap<usize, Vec<Heredoc>>,
}

impl Cx<'_> {
    fn from(&self, from: &pd::FromInstruction<'_>, line: usize) -> Result<FromAst> {
        let mut flags = Flags::new(&from.options, line, "FROM")?;
        let platform = flags.string("platform")?;
        flags.done()?;
        Ok(FromAst { image: from.image.value.to_string(), name: from.as_.as_ref().map(|(_, n)| n.value.to_string()), platform })
    }

    fn command(&self, c: &pd::Command<'_>) -> CommandForm {
        match c {
            pd::Command::Exec(v) => CommandForm::Exec(v.value.iter().map(|s| s.value.to_string()).collect()),
            pd::Command::Shell(s) => CommandForm::Shell(join_continuations(&self.text[s.span.clone()], self.escape)),
            _ => CommandForm::Shell(String::new()),
        }
    }

    fn instruction(&self, ins: &pd::Instruction<'_>, line: usize) -> Result<Instruction> {
        Ok(match ins {
            pd::Instruction::Arg(a) => Instruction::Arg(parse_args(&a.arguments.value, self.escape)),
            pd::Instruction::Env(e) => {
                Instruction::Env(parse_name_val(&e.arguments.value, "ENV", self.escape).map_err(|m| BuildError::at(line, m))?)
            }
            pd::Instruction::Label(l) => {
                Instruction::Label(parse_name_val(&l.arguments.value, "LABEL", self.escape).map_err(|m| BuildError::at(line, m))?)
            }
            pd::Instruction::Run(r) => {
                let mut flags = Flags::new(&r.options, line, "RUN")?;
                let mounts = flags.strings("mount");
                let network = match flags.string("network")?.as_deref() {
                    None => None,
                    Some("default") => Some(Network::Default),
                    Some("none") => Some(Network::None),
                    Some("host") => Some(Network::Host),
                    Some(other) => return Err(BuildError::at(line, format!("unsupported network mode {other:?} (default, none or host)"))),
                };
                let security = flags.string("security")?;
                if let Some(s) = &security
                    && s != "insecure"
                    && s != "sandbox"
                {
                    return Err(BuildError::at(line, format!("unsupported security mode {s:?} (sandbox or insecure)")));
                }
                flags.done()?;
                let command = self.command(&r.arguments);
                let heredocs = match &command {
                    CommandForm::Shell(_) => self.heredocs.get(&r.run.span.start).cloned().unwrap_or_default(),
                    CommandForm::Exec(_) => Vec::new(),
                };
                Instruction::Run(RunAst { command, heredocs, mounts, network, security })
            }
            pd::Instruction::Cmd(c) => Instruction::Cmd(self.command(&c.arguments)),
            pd::Instruction::Entrypoint(c) => Instruction::Entrypoint(self.command(&c.arguments)),
            pd::Instruction::Copy(c) => Instruction::Copy(self.copy(&c.options, &c.src, &c.dest, c.copy.span.start, line, false)?),
            pd::Instruction::Add(c) => Instruction::Add(self.copy(&c.options, &c.src, &c.dest, c.add.span.start, line, true)?),
            pd::Instruction::Workdir(w) => Instruction::Workdir(w.arguments.value.to_string()),
            pd::Instruction::User(u) => Instruction::User(u.arguments.value.to_string()),
            pd::Instruction::Expose(e) => Instruction::Expose(e.arguments.iter().map(|s| s.value.to_string()).collect()),
            pd::Instruction::Volume(v) => Instruction::Volume(match &v.arguments {
                pd::JsonOrStringArray::Json(a) => a.value.iter().map(|s| s.value.to_string()).collect(),
                pd::JsonOrStringArray::String(a) => a.iter().map(|s| s.value.to_string()).collect(),
            }),
            pd::Instruction::Stopsignal(s) => Instruction::StopSignal(s.arguments.value.to_string()),
            pd::Instruction::Healthcheck(h) => Instruction::Healthcheck(self.healthcheck(h, line)?),
            pd::Instruction::Shell(s) => Instruction::Shell(s.arguments.iter().map(|s| s.value.to_string()).collect()),
            pd::Instruction::Maintainer(m) => Instruction::Maintainer(m.name.value.to_string()),
            pd::Instruction::Onbuild(o) => {
                let inner_start = keyword_start(&o.instruction);
                if matches!(*o.instruction, pd::Instruction::From(_) | pd::Instruction::Maintainer(_)) {
                    let kw = if matches!(*o.instruction, pd::Instruction::From(_)) { "FROM" } else { "MAINTAINER" };
                    return Err(BuildError::at(line, format!("{kw} isn't allowed as an ONBUILD trigger")));
                }
                Instruction::Onbuild(join_continuations(&self.text[inner_start..], self.escape).trim_end().to_string())
            }
            pd::Instruction::From(_) => return Err(BuildError::at(line, "unexpected FROM")),
            _ => return Err(BuildError::at(line, "unknown instruction")),
        })
    }

    fn copy(
        &self,
        options: &[pd::Flag<'_>],
        src: &[pd::Source<'_>],
        dest: &pd::UnescapedString<'_>,
        start: usize,
        line: usize,
        add: bool,
    ) -> Result<CopyAst> {
        let name = if add { "ADD" } else { "COPY" };
        let mut flags = Flags::new(options, line, name)?;
        let mut ast = CopyAst {
            chown: flags.string("chown")?,
            chmod: flags.string("chmod")?,
            link: flags.bool("link")?,
            excludes: flags.strings("exclude"),
            dest: dest.value.to_string(),
            ..Default::default()
        };
        if add {
            ast.checksum = flags.string("checksum")?;
            ast.keep_git_dir = flags.opt_bool("keep-git-dir")?;
            ast.unpack = flags.opt_bool("unpack")?;
        } else {
            ast.from = flags.string("from")?;
            ast.parents = flags.bool("parents")?;
        }
        flags.done()?;
        let mut docs = self.heredocs.get(&start).cloned().unwrap_or_default().into_iter();
        for s in src {
            ast.sources.push(match s {
                pd::Source::Path(p) => SourceAst::Path(p.value.to_string()),
                pd::Source::HereDoc(h) => {
                    let mut doc = docs.next().unwrap_or_else(|| Heredoc { name: String::new(), content: String::new(), expand: h.expand });
                    doc.content = h.value.to_string();
                    doc.expand = h.expand;
                    SourceAst::Heredoc(doc)
                }
                _ => return Err(BuildError::at(line, format!("{name}: unsupported source"))),
            });
        }
        Ok(ast)
    }

    fn healthcheck(&self, h: &pd::HealthcheckInstruction<'_>, line: usize) -> Result<HealthAst> {
        let mut flags = Flags::new(&h.options, line, "HEALTHCHECK")?;
        let mut duration = |name: &str| -> Result<i64> {
            let Some(v) = flags.string(name)? else { return Ok(0) };
            let d = super::config::parse_duration(&v).map_err(|e| BuildError::at(line, format!("--{name}: {e}")))?;
            if d < 0 {
                return Err(BuildError::at(line, format!("--{name} cannot be negative ({v})")));
            }
            if d != 0 && d < 1_000_000 {
                return Err(BuildError::at(line, format!("--{name} cannot be less than 1ms ({v})")));
            }
            Ok(d)
        };
        let interval = duration("interval")?;
        let timeout = duration("timeout")?;
        let start_period = duration("start-period")?;
        let start_interval = duration("start-interval")?;
        let retries = match flags.string("retries")? {
            None => 0,
            Some(r) => {
                let n: i64 = r.parse().map_err(|_| BuildError::at(line, format!("--retries: invalid number {r:?}")))?;
                if n < 0 {
                    return Err(BuildError::at(line, format!("--retries cannot be negative ({n})")));
                }
                n
            }
        };
        flags.done()?;
        Ok(match &h.arguments {
            pd::HealthcheckArguments::None { .. } => HealthAst::None,
            pd::HealthcheckArguments::Cmd { arguments, .. } => {
                HealthAst::Check { command: self.command(arguments), interval, timeout, start_period, start_interval, retries }
            }
            _ => return Err(BuildError::at(line, "HEALTHCHECK: expected CMD or NONE")),
        })
    }
}

/// An instruction's flags, each taken once; what is left is an error.
struct Flags {
    line: usize,
    keyword: &'static str,
    flags: Vec<(String, Option<String>)>,
}

impl Flags {
    fn new(options: &[pd::Flag<'_>], line: usize, keyword: &'static str) -> Result<Self> {
        let flags = options.iter().map(|f| (f.name.value.to_string(), f.value.as_ref().map(|v| v.value.to_string()))).collect();
        Ok(Flags { line, keyword, flags })
    }

    fn take(&mut self, name: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        self.flags.retain(|(n, v)| {
            if n == name {
                out.push(v.clone());
                false
            } else {
                true
            }
        });
        out
    }

    fn string(&mut self, name: &str) -> Result<Option<String>> {
        let vals = self.take(name);
        if vals.len() > 1 {
            return Err(BuildError::at(self.line, format!("{}: duplicate flag specified: --{name}", self.keyword)));
        }
        match vals.into_iter().next() {
            None => Ok(None),
            Some(Some(v)) => Ok(Some(v)),
            Some(None) => Err(BuildError::at(self.line, format!("{}: missing a value on flag: --{name}", self.keyword))),
        }
    }

    fn strings(&mut self, name: &str) -> Vec<String> {
        self.take(name).into_iter().map(Option::unwrap_or_default).collect()
    }

    fn opt_bool(&mut self, name: &str) -> Result<Option<bool>> {
        let vals = self.take(name);
        if vals.len() > 1 {
            return Err(BuildError::at(self.line, format!("{}: duplicate flag specified: --{name}", self.keyword)));
        }
        match vals.into_iter().next() {
            None => Ok(None),
            Some(None) => Ok(Some(true)),
            Some(Some(v)) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(BuildError::at(self.line, format!("{}: expecting boolean value for flag --{name}, not: {v}", self.keyword))),
            },
        }
    }

    fn bool(&mut self, name: &str) -> Result<bool> {
        Ok(self.opt_bool(name)?.unwrap_or(false))
    }

    fn done(self) -> Result<()> {
        match self.flags.first() {
            None => Ok(()),
            Some((n, _)) => Err(BuildError::at(self.line, format!("{}: unknown flag: --{n}", self.keyword))),
        }
    }
}

fn crate_error(e: &pd::Error) -> BuildError {
    let msg = format!("{e:#}");
    let msg = match msg.strip_prefix("unknown instruction '").and_then(|m| m.strip_suffix('\'')) {
        Some(word) => format!("unknown instruction: {word}"),
        None => msg,
    };
    BuildError::at(e.line(), msg)
}

fn keyword_start(ins: &pd::Instruction<'_>) -> usize {
    match ins {
        pd::Instruction::Add(i) => i.add.span.start,
        pd::Instruction::Arg(i) => i.arg.span.start,
        pd::Instruction::Cmd(i) => i.cmd.span.start,
        pd::Instruction::Copy(i) => i.copy.span.start,
        pd::Instruction::Entrypoint(i) => i.entrypoint.span.start,
        pd::Instruction::Env(i) => i.env.span.start,
        pd::Instruction::Expose(i) => i.expose.span.start,
        pd::Instruction::From(i) => i.from.span.start,
        pd::Instruction::Healthcheck(i) => i.healthcheck.span.start,
        pd::Instruction::Label(i) => i.label.span.start,
        pd::Instruction::Maintainer(i) => i.maintainer.span.start,
        pd::Instruction::Onbuild(i) => i.onbuild.span.start,
        pd::Instruction::Run(i) => i.run.span.start,
        pd::Instruction::Shell(i) => i.shell.span.start,
        pd::Instruction::Stopsignal(i) => i.stopsignal.span.start,
        pd::Instruction::User(i) => i.user.span.start,
        pd::Instruction::Volume(i) => i.volume.span.start,
        pd::Instruction::Workdir(i) => i.workdir.span.start,
        _ => 0,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The `# escape=` directive, read the way Docker reads directives: only in the leading
/// run of `# key=value` lines.
fn escape_directive(text: &str) -> Result<char> {
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix('#') else { break };
        let Some((key, value)) = rest.split_once('=') else { break };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        if key.eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "\\" => Ok('\\'),
                "`" => Ok('`'),
                other => Err(BuildError::at(n + 1, format!("invalid escape token {other:?} does not match ` or \\"))),
            };
        }
    }
    Ok('\\')
}

/// A line ending (before blanks) in the escape character continues on the next line.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    line.trim_end_matches([' ', '\t']).strip_suffix(escape)
}

fn blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Join a logical line the way Docker does: drop each trailing escape (and blanks after
/// it), skip comment and blank lines inside the continuation, append the next line as
/// written. Stops at the first line that does not continue.
pub(crate) fn join_continuations(raw: &str, escape: char) -> String {
    let mut lines = raw.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut out = String::new();
    let mut cur = lines.next().unwrap_or("");
    loop {
        match strip_continuation(cur, escape) {
            Some(head) => {
                out.push_str(head);
                match lines.find(|l| !blank_or_comment(l)) {
                    Some(next) => cur = next,
                    None => break,
                }
            }
            None => {
                out.push_str(cur);
                break;
            }
        }
    }
    out
}

/// Docker's `parseWords`: split on blanks outside quotes, keeping quotes and escapes.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            phase = Phase::Word;
        }
        match phase {
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    i += 1;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    if i + 1 == chars.len() {
                        i += 1;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    word.push(chars[i]);
                    i += 1;
                    continue;
                }
                word.push(ch);
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                }
                if ch == escape && q != '\'' {
                    if i + 1 == chars.len() {
                        phase = Phase::Word;
                        i += 1;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    word.push(chars[i]);
                    i += 1;
                    continue;
                }
                word.push(ch);
            }
            Phase::Spaces => {}
        }
        i += 1;
    }
    if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// ENV and LABEL: `k=v k2="v 2"` or the old `KEY value with spaces`.
fn parse_name_val(rest: &str, keyword: &str, escape: char) -> std::result::Result<Vec<KeyValue>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(format!("{keyword} must have two arguments"));
    };
    if !first.contains('=') {
        let rest = rest.trim_start_matches([' ', '\t', '\u{b}', '\u{c}', '\r']);
        let split = rest.find([' ', '\t', '\u{b}', '\u{c}', '\r']);
        let Some(at) = split else { return Err(format!("{keyword} must have two arguments")) };
        let value = rest[at..].trim_start_matches([' ', '\t', '\u{b}', '\u{c}', '\r']);
        return Ok(vec![KeyValue { key: rest[..at].to_string(), value: value.to_string() }]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => Ok(KeyValue { key: k.to_string(), value: v.to_string() }),
            None => Err(format!("Syntax error - can't find = in {w:?}. Must be of the form: name=value")),
        })
        .collect()
}

fn parse_args(rest: &str, escape: char) -> Vec<ArgDecl> {
    parse_words(rest, escape)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => ArgDecl { key: k.to_string(), default: Some(v.to_string()) },
            None => ArgDecl { key: w, default: None },
        })
        .collect()
}

/// What the pre-pass learnt: the text with RUN heredoc bodies masked (so the parser sees
/// comments there), and the heredocs of each RUN/COPY/ADD by keyword offset.
struct Prepass {
    masked: String,
    heredocs: HashMap<usize, Vec<Heredoc>>,
}

fn prepass(text: &str, escape: char) -> Result<Prepass> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut off = 0;
    for l in text.split_inclusive('\n') {
        let content = l.strip_suffix('\n').unwrap_or(l);
        lines.push((off, content.strip_suffix('\r').unwrap_or(content)));
        off += l.len();
    }
    let mut masked = text.as_bytes().to_vec();
    let mut heredocs = HashMap::new();
    let mut i = 0;
    while i < lines.len() {
        let (off, l) = lines[i];
        if blank_or_comment(l) {
            i += 1;
            continue;
        }
        let t = l.trim_start();
        let kw_off = off + (l.len() - t.len());
        let mut logical = String::new();
        let mut phys = vec![i];
        let mut cur = t;
        loop {
            match strip_continuation(cur, escape) {
                Some(head) => {
                    logical.push_str(head);
                    i += 1;
                    while i < lines.len() && blank_or_comment(lines[i].1) {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                    phys.push(i);
                    cur = lines[i].1;
                }
                None => {
                    logical.push_str(cur);
                    break;
                }
            }
        }
        i += 1;
        let keyword = logical.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if !matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") || !logical.contains("<<") || is_json_form(&logical) {
            continue;
        }
        let docs = heredocs_from_line(&logical);
        if docs.is_empty() {
            continue;
        }
        let start_line = phys[0] + 1;
        let mut found = Vec::new();
        for (name, expand, chomp) in docs {
            let mut content = String::new();
            let mut terminated = false;
            while i < lines.len() {
                let (loff, body) = lines[i];
                if keyword == "RUN" {
                    mask_line(&mut masked, loff, body.len());
                }
                i += 1;
                let candidate = if chomp { body.trim_start_matches('\t') } else { body };
                if candidate == name {
                    terminated = true;
                    break;
                }
                content.push_str(if chomp { body.trim_start_matches('\t') } else { body });
                content.push('\n');
            }
            if !terminated {
                return Err(BuildError::at(start_line, format!("unterminated heredoc {name:?}")));
            }
            found.push(Heredoc { name, content, expand });
        }
        if keyword == "RUN" {
            for &p in &phys {
                let (loff, body) = lines[p];
                let bytes = &mut masked[loff..loff + body.len()];
                for k in 0..bytes.len().saturating_sub(1) {
                    if bytes[k] == b'<' && bytes[k + 1] == b'<' {
                        bytes[k] = b'_';
                        bytes[k + 1] = b'_';
                    }
                }
            }
        }
        heredocs.insert(kw_off, found);
    }
    // Masking only ever writes ASCII over whole lines or over ASCII `<<`, so UTF-8 holds.
    let masked = String::from_utf8(masked).map_err(|_| BuildError::at(0, "invalid UTF-8"))?;
    Ok(Prepass { masked, heredocs })
}

fn mask_line(buf: &mut [u8], off: usize, len: usize) {
    if len == 0 {
        return;
    }
    buf[off] = b'#';
    for b in &mut buf[off + 1..off + len] {
        *b = b' ';
    }
}

/// `RUN ["a", "b"]` (after any flags) cannot hold heredocs.
fn is_json_form(logical: &str) -> bool {
    let mut rest = logical.trim_start();
    rest = rest.split_once(char::is_whitespace).map(|(_, r)| r).unwrap_or("").trim_start();
    while rest.starts_with("--") {
        rest = rest.split_once(char::is_whitespace).map(|(_, r)| r).unwrap_or("").trim_start();
    }
    rest.starts_with('[') && serde_json::from_str::<Vec<String>>(rest.trim_end()).is_ok()
}

/// The heredoc words of a logical line, as BuildKit finds them: the line is split into
/// shell words and each word matching `^(\d*)<<(-?)([^<]*)$` names a heredoc (quoted
/// delimiters are not expanded). Returns `(name, expand, chomp)`.
fn heredocs_from_line(line: &str) -> Vec<(String, bool, bool)> {
    let mut raw = Lex::new('\\');
    raw.raw_quotes = true;
    raw.raw_escapes = true;
    let Ok(words) = raw.words(line, &Vars::new()) else { return Vec::new() };
    let mut out = Vec::new();
    for w in words {
        let digits = w.chars().take_while(char::is_ascii_digit).count();
        let Some(rest) = w[digits..].strip_prefix("<<") else { continue };
        let (chomp, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest.contains('<') {
            continue;
        }
        let plain = Lex::new('\\').words(rest, &Vars::new());
        let Ok(plain) = plain else { continue };
        if plain.len() != 1 {
            continue;
        }
        let mut quoted = Lex::new('\\');
        quoted.raw_quotes = true;
        let raw_name = quoted.words(rest, &Vars::new()).ok().and_then(|w| w.into_iter().next()).unwrap_or_default();
        out.push((plain[0].clone(), raw_name == plain[0], chomp));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage0(text: &str) -> Vec<Instruction> {
        parse(text).unwrap().stages.remove(0).instructions.into_iter().map(|l| l.inner).collect()
    }

    #[test]
    fn errors_carry_the_line_number() {
        let text = "FROM busybox\nRUN true\n\n# comment\nCOPY a b\n\nCOPPY a b\n";
        assert_eq!(parse(text).unwrap_err().to_string(), "Dockerfile:7: unknown instruction: COPPY");
        assert_eq!(parse("RUN x\n").unwrap_err().to_string(), "Dockerfile:1: expected FROM");
        assert!(parse("# just a comment\n").unwrap_err().to_string().contains("FROM"));
        assert_eq!(parse("FROM a\nCOPY --nope=1 x y\n").unwrap_err().to_string(), "Dockerfile:2: COPY: unknown flag: --nope");
        assert!(parse("FROM a\nRUN --network=bridge x\n").unwrap_err().to_string().starts_with("Dockerfile:2: unsupported network"));
        assert!(parse("FROM a\nHEALTHCHECK --interval=1us CMD x\n").unwrap_err().to_string().contains("less than 1ms"));
        assert!(parse("FROM a\nHEALTHCHECK --retries=-1 CMD x\n").unwrap_err().to_string().contains("negative"));
        assert!(parse("FROM a\nONBUILD FROM b\n").unwrap_err().to_string().contains("isn't allowed"));
        assert!(parse("FROM a\nENV\n").is_err());
    }

    #[test]
    fn shell_form_continuations_join_like_docker() {
        let ins = stage0("FROM busybox\nRUN echo run1 $A && \\\n    echo cont   && \\\n# a comment\n\n    true\nCMD [\"x\"]\n");
        assert_eq!(
            ins[0],
            Instruction::Run(RunAst {
                command: CommandForm::Shell("echo run1 $A &&     echo cont   &&     true".into()),
                heredocs: vec![],
                mounts: vec![],
                network: None,
                security: None,
            })
        );
        assert_eq!(ins[1], Instruction::Cmd(CommandForm::Exec(vec!["x".into()])));
    }

    #[test]
    fn escape_directive_changes_continuations() {
        let df = parse("# escape=`\nFROM busybox\nRUN echo a `\n  b\nWORKDIR C:\\x\n").unwrap();
        assert_eq!(df.escape, '`');
        let ins: Vec<_> = df.stages[0].instructions.iter().map(|l| &l.inner).collect();
        assert_eq!(
            ins[0],
            &Instruction::Run(RunAst {
                command: CommandForm::Shell("echo a   b".into()),
                heredocs: vec![],
                mounts: vec![],
                network: None,
                security: None
            })
        );
        assert_eq!(ins[1], &Instruction::Workdir("C:\\x".into()));
        assert!(parse("# escape=x\nFROM a\n").is_err());
    }

    #[test]
    fn syntax_directive_and_global_args() {
        let df = parse("# syntax=docker/dockerfile:1\nARG V=1 W\nARG X\nFROM busybox:$V AS Base\nARG V\n").unwrap();
        assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(df.global_args.len(), 2);
        assert_eq!(
            df.global_args[0].inner,
            vec![ArgDecl { key: "V".into(), default: Some("1".into()) }, ArgDecl { key: "W".into(), default: None }]
        );
        assert_eq!(df.stages[0].from.line, 4);
        assert_eq!(df.stages[0].from.inner, FromAst { image: "busybox:$V".into(), name: Some("Base".into()), platform: None });
    }

    #[test]
    fn env_and_label_words() {
        let ins = stage0("FROM a\nENV E1=v1 E2=\"two words\" E3=a\\ b\nENV OLD some value  here\nLABEL \"l 2\"=\"b c\" x=\n");
        assert_eq!(
            ins[0],
            Instruction::Env(vec![
                KeyValue { key: "E1".into(), value: "v1".into() },
                KeyValue { key: "E2".into(), value: "\"two words\"".into() },
                KeyValue { key: "E3".into(), value: "a\\ b".into() },
            ])
        );
        assert_eq!(ins[1], Instruction::Env(vec![KeyValue { key: "OLD".into(), value: "some value  here".into() }]));
        assert_eq!(
            ins[2],
            Instruction::Label(vec![
                KeyValue { key: "\"l 2\"".into(), value: "\"b c\"".into() },
                KeyValue { key: "x".into(), value: "".into() },
            ])
        );
        assert!(parse("FROM a\nENV a=b c\n").unwrap_err().to_string().contains("can't find ="));
        assert!(parse("FROM a\nENV lonely\n").unwrap_err().to_string().contains("two arguments"));
    }

    #[test]
    fn copy_flags_and_heredoc_sources() {
        let ins = stage0(
            "FROM a\nCOPY --from=build --chown=1:2 --chmod=0755 --link --exclude=*.md --exclude=x a b /dst/\nCOPY <<EOF <<-\"RAW\" /etc/\nhello $X\nEOF\n\tliteral $X\n\tRAW\nADD --checksum=sha256:ab https://x/y /z\n",
        );
        let Instruction::Copy(c) = &ins[0] else { panic!() };
        assert_eq!(c.from.as_deref(), Some("build"));
        assert_eq!(c.chown.as_deref(), Some("1:2"));
        assert_eq!(c.chmod.as_deref(), Some("0755"));
        assert!(c.link);
        assert_eq!(c.excludes, ["*.md", "x"]);
        assert_eq!(c.sources, [SourceAst::Path("a".into()), SourceAst::Path("b".into())]);
        assert_eq!(c.dest, "/dst/");
        let Instruction::Copy(h) = &ins[1] else { panic!() };
        assert_eq!(
            h.sources,
            [
                SourceAst::Heredoc(Heredoc { name: "EOF".into(), content: "hello $X\n".into(), expand: true }),
                SourceAst::Heredoc(Heredoc { name: "RAW".into(), content: "literal $X\n".into(), expand: false }),
            ]
        );
        let Instruction::Add(a) = &ins[2] else { panic!() };
        assert_eq!(a.checksum.as_deref(), Some("sha256:ab"));
        assert!(parse("FROM a\nADD --from=x a b\n").is_err(), "--from is COPY's");
        assert!(parse("FROM a\nCOPY --link=maybe a b\n").is_err());
    }

    #[test]
    fn run_heredocs_anywhere_in_the_line() {
        let ins = stage0(
            "FROM a\nRUN <<EOF\necho one\nEOF\nRUN cat <<A >/a && cat <<'B' > /b\nline a $X\nA\nline b $X\nB\nRUN --mount=type=cache,target=/c \\\n  python3 <<-PY\n\tprint(1)\n\tPY\nENV after=1\n",
        );
        let Instruction::Run(r0) = &ins[0] else { panic!() };
        assert_eq!(r0.command, CommandForm::Shell("<<EOF".into()));
        assert_eq!(r0.heredocs, [Heredoc { name: "EOF".into(), content: "echo one\n".into(), expand: true }]);
        let Instruction::Run(r1) = &ins[1] else { panic!() };
        assert_eq!(r1.command, CommandForm::Shell("cat <<A >/a && cat <<'B' > /b".into()));
        assert_eq!(r1.heredocs.len(), 2);
        assert_eq!(r1.heredocs[1], Heredoc { name: "B".into(), content: "line b $X\n".into(), expand: false });
        let Instruction::Run(r2) = &ins[2] else { panic!() };
        assert_eq!(r2.mounts, ["type=cache,target=/c"]);
        assert_eq!(r2.heredocs, [Heredoc { name: "PY".into(), content: "print(1)\n".into(), expand: true }]);
        assert_eq!(ins[3], Instruction::Env(vec![KeyValue { key: "after".into(), value: "1".into() }]));
        assert!(parse("FROM a\nRUN cat <<EOF\nno end\n").unwrap_err().to_string().starts_with("Dockerfile:2: unterminated heredoc"));
    }

    #[test]
    fn json_forms_and_shell_forms() {
        let ins = stage0(
            "FROM a\nRUN [\"echo\", \"a b\"]\nRUN [ -e x ] && echo\nCMD echo hi\nENTRYPOINT [\"/bin/sh\"]\nVOLUME [\"/v1\", \"/v2\"]\nVOLUME /v3 /v4\nSHELL [\"/bin/bash\", \"-c\"]\nEXPOSE 80 443/udp\n",
        );
        assert!(matches!(&ins[0], Instruction::Run(r) if r.command == CommandForm::Exec(vec!["echo".into(), "a b".into()])));
        assert!(matches!(&ins[1], Instruction::Run(r) if r.command == CommandForm::Shell("[ -e x ] && echo".into())));
        assert_eq!(ins[2], Instruction::Cmd(CommandForm::Shell("echo hi".into())));
        assert_eq!(ins[4], Instruction::Volume(vec!["/v1".into(), "/v2".into()]));
        assert_eq!(ins[5], Instruction::Volume(vec!["/v3".into(), "/v4".into()]));
        assert_eq!(ins[6], Instruction::Shell(vec!["/bin/bash".into(), "-c".into()]));
        assert_eq!(ins[7], Instruction::Expose(vec!["80".into(), "443/udp".into()]));
    }

    #[test]
    fn onbuild_keeps_the_trigger_text_and_healthcheck_flags_parse() {
        let ins = stage0(
            "FROM a\nONBUILD RUN echo   onbuild \\\n  more\nHEALTHCHECK --interval=1m30s --timeout=10s --start-period=5s --retries=2 CMD [\"wget\",\"-q\",\"x\"]\nHEALTHCHECK NONE\n",
        );
        assert_eq!(ins[0], Instruction::Onbuild("RUN echo   onbuild   more".into()));
        assert_eq!(
            ins[1],
            Instruction::Healthcheck(HealthAst::Check {
                command: CommandForm::Exec(vec!["wget".into(), "-q".into(), "x".into()]),
                interval: 90_000_000_000,
                timeout: 10_000_000_000,
                start_period: 5_000_000_000,
                start_interval: 0,
                retries: 2,
            })
        );
        assert_eq!(ins[2], Instruction::Healthcheck(HealthAst::None));
        assert_eq!(
            parse_trigger("RUN echo hi", 3).unwrap(),
            Instruction::Run(RunAst {
                command: CommandForm::Shell("echo hi".into()),
                heredocs: vec![],
                mounts: vec![],
                network: None,
                security: None
            })
        );
        assert!(parse_trigger("ONBUILD RUN x", 3).is_err());
        assert!(parse_trigger("RUN a\nRUN b", 3).is_err());
    }

    #[test]
    fn parse_words_matches_docker() {
        assert_eq!(parse_words("a=b  c=\"d e\" f='g h' i=j\\ k", '\\'), ["a=b", "c=\"d e\"", "f='g h'", "i=j\\ k"]);
        assert_eq!(parse_words("x=\"\"", '\\'), ["x=\"\""]);
        assert_eq!(parse_words("  ", '\\'), Vec::<String>::new());
        assert_eq!(parse_words("a=\"b\\\"c\" d", '\\'), ["a=\"b\\\"c\"", "d"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }
        #[test]
        fn never_panics_on_dockerfile_like_text(
            lines in proptest::collection::vec(
                proptest::string::string_regex(
                    "(FROM|RUN|COPY|ADD|ENV|ARG|LABEL|ONBUILD|HEALTHCHECK|CMD|# escape=|EOF|\\t)?[ a-z$={}\\[\\]\"'<>\\\\`:,-]{0,20}"
                ).unwrap(),
                0..12,
            )
        ) {
            let text = format!("FROM a\n{}", lines.join("\n"));
            let _ = parse(&text);
        }
    }
}
