//! `--format`: Go's text/template as the docker CLI uses it, written for berth.
//!
//! Users bring templates written for docker (`{{range .Mounts}}`, `{{json .Config}}`,
//! `{{if eq .State.Status "running"}}`, `{{printf "%-10s" .Name}}`, `table {{.ID}}\t...`),
//! so this is the whole language, not a subset: the lexer, parser and executor follow Go's
//! text/template (trim markers, comments, variables, pipelines, if/else if/with/else with/
//! range/break/continue, define/template/block, every builtin, Go's fmt verbs but `%p`),
//! docker's functions (json, split, join, title, lower, upper, pad, truncate, and the
//! variants its table headers use), docker's `table` layout (its tabwriter: min width 10,
//! padding 3) and errors in Go's words (`template: :1:2: executing "" at <.Foo>: map has
//! no entry for key "Foo"`). `tests.rs` holds docker 28.2.2's answers to over 200 templates.
//!
//! Why not a crate: `gtmpl` 0.7 (last released years ago, on thiserror 1 and lazy_static)
//! prints maps in Rust's Debug syntax, ranges over maps unsorted, lacks `slice` and errors
//! unlike Go; `gotmpl` 0.6 (maintained, close to Go) keeps maps in a BTreeMap, so
//! `{{json .State}}` comes out with sorted keys where docker keeps the struct's field order,
//! its execution errors carry no position or node (`map has no entry for key: Foo`), it
//! accepts a stray `{{end}}`, and docker's data needs a deep copy into its value type for
//! every object. Both were tried on docker's own templates over `docker inspect` output.
//!
//! Data is JSON (`serde_json::Value`). docker runs inspect templates over its typed Go
//! structs and falls back to the JSON when that fails; JSON alone cannot tell a struct from
//! a map or a nil slice from a nil map, so [`value`] reads objects with exported field names
//! as structs and names the few docker fields that are maps or pointers. What still differs
//! is listed in `tests.rs` with the reason.
mod exec;
mod fmt;
mod funcs;
mod json;
mod lex;
mod parse;
mod tabwriter;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::LazyLock;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use value::{RowCtx, V, Val};

/// One kind of docker list: the Go type of its rows (error messages name it), the column
/// titles of its table header, its default table, and whether rows have `.Label "key"`.
#[derive(Debug)]
pub struct ListKind {
    pub type_name: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
    pub default_table: &'static str,
    pub has_label: bool,
}

/// `ps` (docker's ContainerContext).
pub const CONTAINERS: ListKind = ListKind {
    type_name: "*formatter.ContainerContext",
    headers: &[
        ("ID", "CONTAINER ID"),
        ("Names", "NAMES"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Ports", "PORTS"),
        ("State", "STATE"),
        ("Status", "STATUS"),
        ("Size", "SIZE"),
        ("Labels", "LABELS"),
        ("Mounts", "MOUNTS"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Networks", "NETWORKS"),
        ("Platform", "PLATFORM"),
    ],
    default_table: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    has_label: true,
};

/// `images`.
pub const IMAGES: ListKind = ListKind {
    type_name: "*formatter.imageContext",
    headers: &[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
        ("Containers", "CONTAINERS"),
        ("VirtualSize", "SIZE"),
        ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"),
    ],
    default_table: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}",
    has_label: false,
};

/// `images --digests`.
pub const IMAGES_WITH_DIGESTS: ListKind = ListKind {
    default_table: "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}",
    ..IMAGES
};

/// `volume ls`.
pub const VOLUMES: ListKind = ListKind {
    type_name: "*formatter.volumeContext",
    headers: &[
        ("ID", "ID"),
        ("Name", "VOLUME NAME"),
        ("Group", "GROUP"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("Availability", "AVAILABILITY"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Labels", "LABELS"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
        ("Status", "STATUS"),
    ],
    default_table: "table {{.Driver}}\t{{.Name}}",
    has_label: true,
};

/// `network ls`.
pub const NETWORKS: ListKind = ListKind {
    type_name: "*formatter.networkContext",
    headers: &[
        ("ID", "NETWORK ID"),
        ("Name", "NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("IPv6", "IPV6"),
        ("Internal", "INTERNAL"),
        ("Labels", "LABELS"),
        ("CreatedAt", "CREATED AT"),
    ],
    default_table: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
    has_label: true,
};

/// `stats`.
#[allow(dead_code, reason = "stats keeps its own streaming table for now")]
pub const STATS: ListKind = ListKind {
    type_name: "*container.statsContext",
    headers: &[
        ("Container", "CONTAINER"),
        ("Name", "NAME"),
        ("ID", "CONTAINER ID"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ],
    default_table: "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
    has_label: false,
};

/// A template that did not parse or did not run: one line, Go's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// Go's message, with line breaks (from a raw string or a value in it) written as `\n`
    /// so that it stays one line.
    fn new(message: String) -> Self {
        Error { message: message.replace('\r', "\\r").replace('\n', "\\n") }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// One row of a docker list: the context's fields (its methods without arguments, named as
/// docker names them) and the labels `.Label "key"` reads.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub fields: &'a Map<String, Value>,
    pub labels: Option<&'a BTreeMap<String, String>>,
}

static NO_FIELDS: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

impl<'a> Row<'a> {
    /// A row from a JSON object of fields (anything else has no fields).
    pub fn new(fields: &'a Value, labels: Option<&'a BTreeMap<String, String>>) -> Self {
        Row { fields: fields.as_object().unwrap_or(&NO_FIELDS), labels }
    }
}

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    set: parse::Set,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, Error> {
        Template::parse_named("", text)
    }

    /// Parse as the template `name` (docker's `version` template is named "version", which
    /// shows in its errors).
    pub fn parse_named(name: &str, text: &str) -> Result<Template, Error> {
        parse::parse(name, text, &funcs::exists).map(|set| Template { set }).map_err(Error::new)
    }

    fn run(&self, data: V, header: bool, out: &mut String) -> Result<(), Error> {
        exec::execute(&self.set, data, header, out).map_err(Error::new)
    }

    /// Run over JSON data, as `inspect`, `info`, `events` and `version` do.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.run(V::new(value::from_json(data)), false, &mut out)?;
        Ok(out)
    }

    /// Run over one row of a docker list.
    pub fn execute_row(&self, row: Row, kind: &ListKind) -> Result<String, Error> {
        let ctx = RowCtx { fields: row.fields, labels: row.labels, kind };
        let mut out = String::new();
        self.run(V::new(Val::Row(&ctx)), false, &mut out)?;
        Ok(out)
    }

    /// The table header: the template over the column titles with docker's header
    /// functions; like docker, an error just ends the header where it happened.
    pub fn header(&self, kind: &ListKind) -> String {
        let titles: Map<String, Value> = kind.headers.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        let mut out = String::new();
        let _ = self.run(V::new(Val::Header(&titles)), true, &mut out);
        out
    }
}

/// What a `--format` value asks a list command for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind<'a> {
    /// No format, "" or "table": the command's default table.
    Default,
    /// "json": one JSON object per line (`{{json .}}`).
    Json,
    /// "table TEMPLATE": a header row and aligned columns; the text after "table".
    Table(&'a str),
    /// Any other text: the template, once per row.
    Template(&'a str),
}

/// Sort a `--format` value the way docker's formatter does.
pub fn format_kind(format: Option<&str>) -> FormatKind<'_> {
    match format {
        None | Some("" | "table") => FormatKind::Default,
        Some("json") => FormatKind::Json,
        Some(f) => match f.strip_prefix("table") {
            Some(rest) => FormatKind::Table(rest),
            None => FormatKind::Template(f),
        },
    }
}

/// docker's list formatter (`ps`, `images`, `volume ls`, `stats`): the default table, JSON
/// lines, a template per row, or a `table` template with a header, aligned like docker's.
/// Nothing is returned (or printed by the caller) unless every row rendered.
pub fn format_list(format: Option<&str>, kind: &ListKind, rows: &[Row]) -> Result<String> {
    let (table, text) = match format_kind(format) {
        FormatKind::Default => (true, &kind.default_table["table".len()..]),
        FormatKind::Json => (false, "{{json .}}"),
        FormatKind::Table(t) => (true, t),
        FormatKind::Template(t) => (false, t),
    };
    let text = text.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n");
    let tpl = match Template::parse(&text) {
        Ok(t) => t,
        Err(e) => bail!("template parsing error: {e}"),
    };
    let mut body = String::new();
    for row in rows {
        match tpl.execute_row(*row, kind) {
            Ok(s) => body.push_str(&s),
            Err(e) => bail!("template parsing error: {e}"),
        }
        body.push('\n');
    }
    if !table {
        return Ok(body);
    }
    Ok(tabwriter::docker(&format!("{}\n{body}", tpl.header(kind))))
}

/// Render one object with a list-style template (`\t` and `\n` written as two characters
/// stand for a tab and a newline, as in docker's list formats). Kept for call sites that
/// lay out their own tables; new code should use [`format_list`] or [`Template`].
pub fn render(tpl: &str, v: &Value) -> Result<String> {
    let text = tpl.replace("\\t", "\t").replace("\\n", "\n");
    let t = match Template::parse(&text) {
        Ok(t) => t,
        Err(e) => bail!("template parsing error: {e}"),
    };
    match t.execute(v) {
        Ok(s) => Ok(s),
        Err(e) => bail!("template parsing error: {e}"),
    }
}

/// `inspect` output as docker prints it: one JSON array indented by four spaces; with
/// `--format json` the array on one line; with a template, one line per object. Objects the
/// template fails on are reported after the others are printed.
pub fn print_inspected(found: &[Value], format: Option<&str>) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let array = Value::Array(found.to_vec());
    match format {
        None | Some("") => {
            writeln!(stdout, "{}", json::encode_value(&array, &json::Options { escape_html: true, indent: Some("    ") }))?;
            return Ok(());
        }
        Some("json") => {
            writeln!(stdout, "{}", json::encode_value(&array, &json::Options { escape_html: true, indent: None }))?;
            return Ok(());
        }
        Some(_) => {}
    }
    let tpl = match Template::parse(format.unwrap_or_default()) {
        Ok(t) => t,
        Err(e) => bail!("template parsing error: {e}"),
    };
    let mut out = String::new();
    let mut errors = Vec::new();
    for v in found {
        match tpl.execute(v) {
            Ok(s) => {
                out.push_str(&s);
                out.push('\n');
            }
            Err(e) => errors.push(format!("template parsing error: {e}")),
        }
    }
    if out.is_empty() {
        out.push('\n');
    }
    stdout.write_all(out.as_bytes())?;
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(())
}
