//! JSON as Go's encoding/json writes it: maps with sorted keys but structs in field order,
//! floats in Go's shortest form (`1e+21`, `1e-7`), `\u2028` escaped, and HTML characters
//! escaped or not (docker's `json` function turns that off; dockerd's responses keep it).
use serde_json::{Map, Value};

use super::fmt::format_float;
use super::value::{Val, is_struct, sorted};

pub struct Options {
    pub escape_html: bool,
    /// `Some(unit)`: one member per line, each level indented by `unit` (json.Indent).
    pub indent: Option<&'static str>,
}

pub fn string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as Go's encoder writes it: `%f` style, or `%e` outside [1e-6, 1e21) with the
/// exponent's leading zero dropped.
pub fn float(v: f64) -> Result<String, String> {
    if !v.is_finite() {
        return Err(format!("json: unsupported value: {}", format_float(v, 'g', -1)));
    }
    let abs = v.abs();
    let verb = if abs != 0.0 && !(1e-6..1e21).contains(&abs) { 'e' } else { 'f' };
    let mut s = format_float(v, verb, -1);
    if verb == 'e' {
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
    }
    Ok(s)
}

struct Writer<'o> {
    out: String,
    opts: &'o Options,
    depth: usize,
}

impl Writer<'_> {
    fn newline(&mut self) {
        if let Some(unit) = self.opts.indent {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str(unit);
            }
        }
    }

    fn colon(&mut self) {
        self.out.push_str(if self.opts.indent.is_some() { ": " } else { ":" });
    }

    fn seq<I, F>(&mut self, open: char, close: char, items: I, mut each: F) -> Result<(), String>
    where
        I: ExactSizeIterator,
        F: FnMut(&mut Self, I::Item) -> Result<(), String>,
    {
        self.out.push(open);
        if items.len() == 0 {
            self.out.push(close);
            return Ok(());
        }
        self.depth += 1;
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline();
            each(self, item)?;
        }
        self.depth -= 1;
        self.newline();
        self.out.push(close);
        Ok(())
    }

    fn object(&mut self, m: &Map<String, Value>, sort: bool) -> Result<(), String> {
        let entries: Vec<(&String, &Value)> = if sort { sorted(m) } else { m.iter().collect() };
        self.seq('{', '}', entries.into_iter(), |w, (k, v)| {
            string(&mut w.out, k, w.opts.escape_html);
            w.colon();
            w.json(v)
        })
    }

    fn json(&mut self, v: &Value) -> Result<(), String> {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => self.out.push_str(&i.to_string()),
                (_, Some(u), _) => self.out.push_str(&u.to_string()),
                (_, _, Some(f)) => self.out.push_str(&float(f)?),
                _ => self.out.push_str(&n.to_string()),
            },
            Value::String(s) => string(&mut self.out, s, self.opts.escape_html),
            Value::Array(a) => self.seq('[', ']', a.iter(), |w, x| w.json(x))?,
            Value::Object(m) => self.object(m, !is_struct(m))?,
        }
        Ok(())
    }

    fn val(&mut self, v: &Val) -> Result<(), String> {
        match v {
            Val::Invalid | Val::Nil | Val::TypedNil(_) => self.out.push_str("null"),
            Val::EmptyStruct => self.out.push_str("{}"),
            Val::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Val::Int(i) => self.out.push_str(&i.to_string()),
            Val::Uint(u) => self.out.push_str(&u.to_string()),
            Val::Byte(b) => self.out.push_str(&b.to_string()),
            Val::Float(f) => self.out.push_str(&float(*f)?),
            Val::Complex(..) => return Err("json: unsupported type: complex128".into()),
            Val::Str(s) => string(&mut self.out, s, self.opts.escape_html),
            Val::Array(a) => self.seq('[', ']', a.iter(), |w, x| w.json(x))?,
            Val::Strings(s) => self.seq('[', ']', s.iter(), |w, x| {
                string(&mut w.out, x, w.opts.escape_html);
                Ok(())
            })?,
            Val::Object(m) => self.object(m, !is_struct(m))?,
            Val::Header(m) => self.object(m, true)?,
            Val::Row(r) => {
                // docker's list contexts marshal through a map of their methods: sorted keys,
                // and json.Marshal's HTML escaping (`"\u003cnone\u003e"`).
                let mut inner =
                    Writer { out: String::new(), opts: &Options { escape_html: true, indent: self.opts.indent }, depth: self.depth };
                inner.object(r.fields, true)?;
                self.out.push_str(&inner.out);
            }
        }
        Ok(())
    }
}

/// docker's `json` template function (and `--format json`).
pub fn encode(v: &Val, opts: &Options) -> Result<String, String> {
    let mut w = Writer { out: String::new(), opts, depth: 0 };
    w.val(v)?;
    Ok(w.out)
}

/// A JSON document as dockerd sends it (HTML escaped), compact or indented.
pub fn encode_value(v: &Value, opts: &Options) -> String {
    let mut w = Writer { out: String::new(), opts, depth: 0 };
    // Only non-finite floats fail, and serde_json values cannot hold them.
    let _ = w.json(v);
    w.out
}
