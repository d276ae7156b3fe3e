//! docker's table layout: its fork of Go's text/tabwriter (elastic tabstops, cell widths
//! in terminal columns), as `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)` sets it up.
//!
//! A column is a run of consecutive lines that all have a cell there with more cells after
//! it (the last cell of a line is never aligned). Each run is as wide as its widest cell
//! plus the padding, and at least the minimum width. Go finds the runs recursively, column
//! by column; the runs of one column are exactly the maximal runs of lines with enough
//! cells, so this computes them directly (no recursion, however many tabs a line has).
use unicode_width::UnicodeWidthStr;

/// docker's `NewWriter(out, minwidth 10, tabwidth 1, padding 3, ' ', 0)`.
pub fn docker(text: &str) -> String {
    format(text, 10, 3)
}

struct Cell<'t> {
    text: &'t str,
    width: usize,
}

pub fn format(text: &str, minwidth: usize, padding: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    // A form feed ends a section: the sections are laid out independently.
    let sections: Vec<&str> = text.split('\x0c').collect();
    for (k, section) in sections.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        layout(&mut out, section, minwidth, padding, k + 1 == sections.len());
    }
    out
}

fn layout(out: &mut String, text: &str, minwidth: usize, padding: usize, last_section: bool) {
    let mut lines: Vec<Vec<Cell>> = text
        .split('\n')
        .map(|line| line.split(['\t', '\x0b']).map(|t| Cell { text: t, width: UnicodeWidthStr::width(t) }).collect())
        .collect();
    // At the end of the text an empty cell is not terminated, so it is no cell: "a\t" at the
    // very end is one unaligned cell, and an empty last line has none.
    if last_section
        && let Some(l) = lines.last_mut()
        && l.last().is_some_and(|c| c.text.is_empty())
    {
        l.pop();
    }
    let mut widths: Vec<Vec<usize>> = vec![Vec::new(); lines.len()];
    let mut column = 0;
    loop {
        let mut any = false;
        let mut i = 0;
        while i < lines.len() {
            if lines[i].len() <= column + 1 {
                i += 1;
                continue;
            }
            any = true;
            let start = i;
            let mut width = minwidth;
            while i < lines.len() && lines[i].len() > column + 1 {
                width = width.max(lines[i][column].width + padding);
                i += 1;
            }
            for w in &mut widths[start..i] {
                w.push(width);
            }
        }
        if !any {
            break;
        }
        column += 1;
    }
    let n = lines.len();
    for (i, (line, w)) in lines.iter().zip(&widths).enumerate() {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell.text);
            if let Some(cw) = w.get(j) {
                out.extend(std::iter::repeat_n(' ', cw.saturating_sub(cell.width)));
            }
        }
        if i + 1 < n {
            out.push('\n');
        }
    }
}
