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

/// What every `inspect` prints (docker's layout: indented JSON, `--format json` on one
/// line, or a template per object); see `crate::template`.
pub fn print_inspected(found: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<()> {
    crate::template::print_inspected(found, format)
}
