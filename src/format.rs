//! Docker's human output: the shared units from the engine, and aligned tables.
pub use berth_engine::human::{ago, human_size};

/// A table whose columns are padded to the widest cell plus three spaces, like docker's.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self { rows: vec![header.iter().map(|s| s.to_string()).collect()] }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
    pub fn render(&self) -> String {
        let n = self.rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let widths: Vec<usize> =
            (0..n).map(|c| self.rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for r in &self.rows {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                if c + 1 == r.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A value as Go's `encoding/json` writes it, which is what the docker CLI prints: compact,
/// `<`, `>` and `&` escaped (they only occur inside strings, so a plain replace is exact).
fn go_json(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Object keys sorted, as Go marshals the maps behind docker's `--format json` rows.
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `--format` of a list verb (`ps`, `images`, `volume ls`) over rows with docker's field
/// names: `json` prints one object a line; `table [TEMPLATE]` a table with docker's column
/// names (`default_table` without a template); anything else is a template per row.
pub fn print_rows(format: &str, rows: &[serde_json::Value], default_table: &str, header_of: impl Fn(&str) -> String) -> anyhow::Result<()> {
    use crate::cmd::template::render;
    if format == "json" {
        for r in rows {
            println!("{}", go_json(&sorted(r)));
        }
        return Ok(());
    }
    let Some(rest) = format.strip_prefix("table") else {
        for r in rows {
            println!("{}", render(format, r)?);
        }
        return Ok(());
    };
    let tpl = match rest.trim_start() {
        "" => default_table,
        t => t,
    };
    // Header: each {{.Field}} replaced by docker's column name.
    let mut head = String::new();
    let mut rest = tpl;
    while let Some(i) = rest.find("{{") {
        head.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { anyhow::bail!("template: unclosed action in {tpl:?}") };
        head.push_str(&header_of(rest[i + 2..i + j].trim().trim_start_matches('.')));
        rest = &rest[i + j + 2..];
    }
    head.push_str(rest);
    let head = head.replace("\\t", "\t");
    let mut t = Table::new(&head.split('\t').collect::<Vec<_>>());
    for r in rows {
        t.row(render(tpl, r)?.split('\t').map(String::from).collect());
    }
    print!("{}", t.render());
    Ok(())
}

/// What every `inspect` prints: `--format json` as docker 28 does (the array on one
/// line), other formats through the template, else the indented JSON array.
pub fn print_inspected(found: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<()> {
    if format == Some("json") {
        println!("{}", go_json(&serde_json::Value::Array(found.to_vec())));
        return Ok(());
    }
    crate::cmd::template::print_inspected(found, format)
}
