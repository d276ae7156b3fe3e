//! The functions a template can call: Go's builtins (and, or, not, len, index, slice, eq,
//! ne, lt, le, gt, ge, print, printf, println, html, js, urlquery, call) and docker's
//! (json, split, join, title, lower, upper, pad, truncate, as docker/cli's templates.go
//! defines them), with their Go signatures so that argument errors read like Go's.
use std::borrow::Cow;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::fmt::{display_s, is_print, sprint, sprintf, sprintln};
use super::json;
use super::value::{Nil, V, Val, from_json, is_set, is_string_map};

/// A parameter's Go type: what `evalArg` checks an argument against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Param {
    /// `interface{}`
    Any,
    /// `reflect.Value` (the builtins see the value as it is)
    Value,
    Str,
    Int,
    Strings,
}

impl Param {
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Value => "reflect.Value",
            Param::Str => "string",
            Param::Int => "int",
            Param::Strings => "[]string",
        }
    }
}

pub struct Sig {
    pub fixed: &'static [Param],
    pub variadic: Option<Param>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    And,
    Or,
    Not,
    Call,
    Html,
    Js,
    Urlquery,
    Index,
    Slice,
    Len,
    Print,
    Printf,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Json,
    Split,
    Join,
    Title,
    Lower,
    Upper,
    Pad,
    Truncate,
    // docker's HeaderFunctions: the same names, answering their first argument.
    HeaderJson,
    HeaderSplit,
    HeaderJoin,
    HeaderCase,
    HeaderTruncate,
}

/// Something a command calls: a function by name, or a method of docker's list contexts.
#[derive(Clone, Copy, Debug)]
pub enum Func<'a> {
    Builtin(Builtin),
    /// A list context's field: a method without arguments.
    Field(&'a Value),
    /// `.Label "key"` of `ps`/`volume ls` rows.
    RowLabel(Option<&'a std::collections::BTreeMap<String, String>>),
    /// `.Label "key"` of a table header: the key's last dotted part.
    HeaderLabel,
}

const GO_BUILTINS: &[(&str, Builtin)] = &[
    ("and", Builtin::And),
    ("or", Builtin::Or),
    ("not", Builtin::Not),
    ("call", Builtin::Call),
    ("html", Builtin::Html),
    ("js", Builtin::Js),
    ("urlquery", Builtin::Urlquery),
    ("index", Builtin::Index),
    ("slice", Builtin::Slice),
    ("len", Builtin::Len),
    ("print", Builtin::Print),
    ("printf", Builtin::Printf),
    ("println", Builtin::Println),
    ("eq", Builtin::Eq),
    ("ne", Builtin::Ne),
    ("lt", Builtin::Lt),
    ("le", Builtin::Le),
    ("gt", Builtin::Gt),
    ("ge", Builtin::Ge),
];

const DOCKER: &[(&str, Builtin)] = &[
    ("json", Builtin::Json),
    ("split", Builtin::Split),
    ("join", Builtin::Join),
    ("title", Builtin::Title),
    ("lower", Builtin::Lower),
    ("upper", Builtin::Upper),
    ("pad", Builtin::Pad),
    ("truncate", Builtin::Truncate),
];

pub fn exists(name: &str) -> bool {
    GO_BUILTINS.iter().chain(DOCKER).any(|(n, _)| *n == name)
}

/// `(function, is a Go builtin)`; `header` selects docker's HeaderFunctions.
pub fn lookup(name: &str, header: bool) -> Option<(Builtin, bool)> {
    if header {
        let h = match name {
            "json" => Some(Builtin::HeaderJson),
            "split" => Some(Builtin::HeaderSplit),
            "join" => Some(Builtin::HeaderJoin),
            "title" | "lower" | "upper" => Some(Builtin::HeaderCase),
            "truncate" => Some(Builtin::HeaderTruncate),
            _ => None,
        };
        if let Some(h) = h {
            return Some((h, false));
        }
    }
    if let Some((_, b)) = DOCKER.iter().find(|(n, _)| *n == name) {
        return Some((*b, false));
    }
    GO_BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, b)| (*b, true))
}

impl Func<'_> {
    pub fn sig(&self) -> Sig {
        use Param::*;
        let (fixed, variadic): (&'static [Param], Option<Param>) = match self {
            Func::Field(_) => (&[], None),
            Func::RowLabel(_) | Func::HeaderLabel => (&[Str], None),
            Func::Builtin(b) => match b {
                Builtin::And | Builtin::Or | Builtin::Call | Builtin::Index | Builtin::Slice | Builtin::Eq => (&[Value], Some(Value)),
                Builtin::Not | Builtin::Len => (&[Value], None),
                Builtin::Html | Builtin::Js | Builtin::Urlquery | Builtin::Print | Builtin::Println => (&[], Some(Any)),
                Builtin::Printf => (&[Str], Some(Any)),
                Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => (&[Value, Value], None),
                Builtin::Json => (&[Any], None),
                Builtin::Split | Builtin::HeaderSplit | Builtin::HeaderJoin => (&[Str, Str], None),
                Builtin::Join => (&[Strings, Str], None),
                Builtin::Title | Builtin::Lower | Builtin::Upper | Builtin::HeaderJson | Builtin::HeaderCase => (&[Str], None),
                Builtin::Pad => (&[Str, Int, Int], None),
                Builtin::Truncate | Builtin::HeaderTruncate => (&[Str, Int], None),
            },
        };
        Sig { fixed, variadic }
    }
}

fn s<'a>(v: &V<'a>) -> Cow<'a, str> {
    match &v.val {
        Val::Str(s) => s.clone(),
        _ => Cow::Borrowed(""),
    }
}

fn int(v: &V) -> i64 {
    match v.val {
        Val::Int(i) => i,
        _ => 0,
    }
}

fn str_val(s: impl Into<String>) -> V<'static> {
    V::new(Val::Str(Cow::Owned(s.into())))
}

/// Call `f` with arguments already checked against its signature. `Err` is the text after
/// "error calling NAME: ".
pub fn invoke<'a>(f: Func<'a>, args: Vec<V<'a>>, callee: &str) -> Result<V<'a>, String> {
    let b = match f {
        // The list contexts' only nullable method is Platform() *Platform.
        Func::Field(Value::Null) => return Ok(V::new(Val::TypedNil(Nil::Pointer))),
        Func::Field(v) => return Ok(V::new(from_json(v))),
        Func::RowLabel(labels) => {
            let key = s(&args[0]);
            return Ok(match labels.and_then(|m| m.get(key.as_ref())) {
                Some(v) => V::new(Val::Str(Cow::Borrowed(v))),
                None => str_val(""),
            });
        }
        Func::HeaderLabel => {
            let key = s(&args[0]);
            let last = key.rsplit('.').next().unwrap_or("");
            return Ok(str_val(last.replace(['-', '_'], " ")));
        }
        Func::Builtin(b) => b,
    };
    match b {
        Builtin::And | Builtin::Or => unreachable_short_circuit(),
        Builtin::Not => Ok(V::new(Val::Bool(!args[0].clone().unbox().val.truth()))),
        Builtin::Call => {
            let fun = args.first().cloned().unwrap_or_else(V::invalid).unbox();
            if matches!(fun.val, Val::Invalid) {
                return Err("call of nil".into());
            }
            Err(format!("non-function {callee} of type {}", fun.val.type_name()))
        }
        Builtin::Html => Ok(str_val(html_escape(&eval_args(&args)))),
        Builtin::Js => Ok(str_val(js_escape(&eval_args(&args)))),
        Builtin::Urlquery => Ok(str_val(query_escape(&eval_args(&args)))),
        Builtin::Index => index(args),
        Builtin::Slice => slice(args),
        Builtin::Len => len(&args[0]).map(|n| V::new(Val::Int(n as i64))),
        Builtin::Print => Ok(str_val(sprint(&args))),
        Builtin::Println => Ok(str_val(sprintln(&args))),
        Builtin::Printf => Ok(str_val(sprintf(&s(&args[0]), &args[1..]))),
        Builtin::Eq => eq(&args[0], &args[1..]).map(|b| V::new(Val::Bool(b))),
        Builtin::Ne => eq(&args[0], &args[1..2]).map(|b| V::new(Val::Bool(!b))),
        Builtin::Lt => lt(&args[0], &args[1]).map(|b| V::new(Val::Bool(b))),
        Builtin::Le => le(&args[0], &args[1]).map(|b| V::new(Val::Bool(b))),
        Builtin::Gt => le(&args[0], &args[1]).map(|b| V::new(Val::Bool(!b))),
        Builtin::Ge => lt(&args[0], &args[1]).map(|b| V::new(Val::Bool(!b))),
        Builtin::Json => {
            // docker's formatJSON: an encoder without HTML escaping, trailing newline trimmed.
            let out = json::encode(&args[0].val, &json::Options { escape_html: false, indent: None })?;
            Ok(str_val(out.trim().to_string()))
        }
        Builtin::Split => Ok(V::new(Val::Strings(split(&s(&args[0]), &s(&args[1]))))),
        Builtin::Join => match &args[0].val {
            Val::Strings(items) => Ok(str_val(items.join(&s(&args[1])))),
            _ => Ok(str_val("")),
        },
        Builtin::Title => Ok(str_val(title(&s(&args[0])))),
        Builtin::Lower => Ok(str_val(map_case(&s(&args[0]), false))),
        Builtin::Upper => Ok(str_val(map_case(&s(&args[0]), true))),
        Builtin::Pad => {
            let (source, prefix, suffix) = (s(&args[0]), int(&args[1]), int(&args[2]));
            if source.is_empty() {
                return Ok(str_val(""));
            }
            Ok(str_val(format!("{}{source}{}", repeat(prefix)?, repeat(suffix)?)))
        }
        Builtin::Truncate => {
            let (source, length) = (s(&args[0]), int(&args[1]));
            if (source.len() as i64) < length {
                return Ok(str_val(source.into_owned()));
            }
            if length < 0 {
                return Err(format!("runtime error: slice bounds out of range [:{length}]"));
            }
            // Go cuts bytes; a cut inside a character leaves U+FFFD, as slice does.
            Ok(str_val(String::from_utf8_lossy(&source.as_bytes()[..length as usize]).into_owned()))
        }
        Builtin::HeaderJson | Builtin::HeaderSplit | Builtin::HeaderJoin | Builtin::HeaderCase | Builtin::HeaderTruncate => {
            Ok(str_val(s(&args[0]).into_owned()))
        }
    }
}

fn unreachable_short_circuit() -> Result<V<'static>, String> {
    // and/or are evaluated by the executor, which stops at the deciding argument.
    Err("and/or called directly".into())
}

/// Go's strings.Repeat of a space: a negative count panics, an absurd one is refused.
fn repeat(n: i64) -> Result<String, String> {
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    if n > 1 << 24 {
        return Err("strings: Repeat output length overflow".into());
    }
    Ok(" ".repeat(n as usize))
}

/// Go's strings.Split: an empty separator splits into characters.
fn split(s: &str, sep: &str) -> Rc<[String]> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(String::from).collect()
}

/// Go's strings.ToUpper/ToLower: one rune for one rune (no "ß" → "SS").
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            if upper {
                let mut u = c.to_uppercase();
                match (u.next(), u.next()) {
                    (Some(x), None) => x,
                    _ => c,
                }
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect()
}

/// Go's strings.Title: the first letter of each word in title case.
fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        c.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if separator(prev) { map_case(&c.to_string(), true).chars().next().unwrap_or(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// text/template's evalArgs for html/js/urlquery: one string as is, else fmt.Sprint.
fn eval_args(args: &[V]) -> String {
    if let [V { val: Val::Str(s), .. }] = args {
        return s.to_string();
    }
    let shown: Vec<V> = args.iter().map(|a| if matches!(a.val, Val::Invalid) { str_val("<no value>") } else { a.clone() }).collect();
    sprint(&shown)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() && !is_print(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn index_arg(index: &V, cap: usize) -> Result<usize, String> {
    let x: i64 = match index.val {
        Val::Int(i) => i,
        Val::Uint(u) => u as i64,
        Val::Byte(b) => b as i64,
        Val::Invalid => return Err("cannot index slice/array with nil".into()),
        _ => return Err(format!("cannot index slice/array with type {}", index.val.type_name())),
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn map_key(index: &V) -> Result<String, String> {
    match &index.val {
        Val::Str(s) => Ok(s.to_string()),
        Val::Invalid => Err("value is nil; should be of type string".into()),
        v => Err(format!("value has type {}; should be string", v.type_name())),
    }
}

fn object_index<'a>(m: &'a Map<String, Value>, key: &str, header: bool) -> V<'a> {
    match m.get(key) {
        Some(v) if header => V::new(from_json(v)),
        Some(v) => V::boxed(from_json(v)),
        // A Go map's zero value: "" for a map[string]string, else a nil interface.
        None if header || is_string_map(m) => str_val(""),
        None if is_set(m) => V::new(Val::EmptyStruct),
        None => V::boxed(Val::Nil),
    }
}

/// Go's `index`, with its messages (and its quirk: an index equal to the length passes the
/// range check and fails inside reflect).
fn index<'a>(args: Vec<V<'a>>) -> Result<V<'a>, String> {
    let mut it = args.into_iter();
    let mut item = it.next().unwrap_or_else(V::invalid).unbox();
    // A nil slice or pointer fails in docker's typed run; its JSON fallback sees null.
    if matches!(item.val, Val::Invalid | Val::TypedNil(Nil::Slice | Nil::Pointer)) {
        return Err("index of untyped nil".into());
    }
    for index in it {
        let index = index.unbox();
        item = match &item.val {
            Val::Nil | Val::TypedNil(Nil::Pointer) => return Err("index of nil pointer".into()),
            Val::TypedNil(Nil::Map) => {
                map_key(&index)?;
                str_val("")
            }
            Val::TypedNil(Nil::Set) => {
                map_key(&index)?;
                V::new(Val::EmptyStruct)
            }
            Val::TypedNil(Nil::Slice) => return Err("index of nil pointer".into()),
            Val::Array(a) => {
                let x = index_arg(&index, a.len())?;
                V::boxed(from_json(a.get(x).ok_or("reflect: slice index out of range")?))
            }
            Val::Strings(v) => {
                let x = index_arg(&index, v.len())?;
                str_val(v.get(x).ok_or("reflect: slice index out of range")?.clone())
            }
            Val::Str(s) => {
                let x = index_arg(&index, s.len())?;
                V::new(Val::Byte(*s.as_bytes().get(x).ok_or("reflect: string index out of range")?))
            }
            Val::Object(m) => object_index(m, &map_key(&index)?, false),
            Val::Header(m) => object_index(m, &map_key(&index)?, true),
            Val::Row(r) => return Err(format!("can't index item of type {}", r.kind.type_name)),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

/// Go's `slice`: item[i:j] or item[i:j:k] of a string, array or slice.
fn slice<'a>(args: Vec<V<'a>>) -> Result<V<'a>, String> {
    let mut it = args.into_iter();
    let item = it.next().unwrap_or_else(V::invalid).unbox();
    let indexes: Vec<V> = it.map(V::unbox).collect();
    if matches!(item.val, Val::Invalid) {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match &item.val {
        Val::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Val::Array(a) => a.len(),
        Val::Strings(v) => v.len(),
        Val::TypedNil(Nil::Slice) => 0,
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let mut idx = [0, len, 0];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (i, j) = (idx[0], idx[1]);
    Ok(match item.val {
        Val::Str(Cow::Borrowed(s)) => match s.get(i..j) {
            Some(part) => V::new(Val::Str(Cow::Borrowed(part))),
            None => str_val(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned()),
        },
        Val::Str(Cow::Owned(s)) => str_val(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned()),
        Val::Array(a) => V::new(Val::Array(&a[i..j])),
        Val::Strings(v) => V::new(Val::Strings(v[i..j].iter().cloned().collect())),
        v => V::new(v),
    })
}

/// Go's `len`.
fn len(item: &V) -> Result<usize, String> {
    match &item.val {
        Val::Invalid => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Val::Nil | Val::TypedNil(Nil::Pointer) => Err("len of nil pointer".into()),
        Val::TypedNil(_) => Ok(0),
        Val::Str(s) => Ok(s.len()),
        Val::Array(a) => Ok(a.len()),
        Val::Strings(v) => Ok(v.len()),
        Val::Object(m) | Val::Header(m) => Ok(m.len()),
        Val::Row(r) => Err(format!("len of type {}", r.kind.type_name.trim_start_matches('*'))),
        v => Err(format!("len of type {}", v.type_name())),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Complex,
    Int,
    Float,
    String,
    Uint,
}

fn basic_kind(v: &Val) -> Kind {
    match v {
        Val::Bool(_) => Kind::Bool,
        Val::Complex(..) => Kind::Complex,
        Val::Int(_) => Kind::Int,
        Val::Float(_) => Kind::Float,
        Val::Str(_) => Kind::String,
        Val::Uint(_) | Val::Byte(_) => Kind::Uint,
        _ => Kind::Invalid,
    }
}

fn as_i(v: &Val) -> i64 {
    if let Val::Int(i) = v { *i } else { 0 }
}

fn as_u(v: &Val) -> u64 {
    match v {
        Val::Uint(u) => *u,
        Val::Byte(b) => *b as u64,
        _ => 0,
    }
}

fn as_f(v: &Val) -> f64 {
    if let Val::Float(f) = v { *f } else { 0.0 }
}

fn as_s<'v>(v: &'v Val) -> &'v str {
    if let Val::Str(s) = v { s } else { "" }
}

const BAD_TYPE: &str = "invalid type for comparison";
const BAD_COMPARISON: &str = "incompatible types for comparison";

/// Go's `eq`: true if the first argument equals any of the others.
/// docker's typed nils compare as the raw JSON's null does.
fn comparable<'a>(v: &V<'a>) -> Val<'a> {
    match v.clone().unbox().val {
        Val::TypedNil(_) => Val::Invalid,
        v => v,
    }
}

fn eq(arg1: &V, rest: &[V]) -> Result<bool, String> {
    let a = comparable(arg1);
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a);
    for arg in rest {
        let b = comparable(arg);
        let k2 = basic_kind(&b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => as_i(&a) >= 0 && as_i(&a) as u64 == as_u(&b),
                (Kind::Uint, Kind::Int) => as_i(&b) >= 0 && as_u(&a) == as_i(&b) as u64,
                _ if !matches!(a, Val::Invalid) && !matches!(b, Val::Invalid) => return Err(BAD_COMPARISON.into()),
                _ => false,
            }
        } else {
            match k1 {
                Kind::Bool => matches!((&a, &b), (Val::Bool(x), Val::Bool(y)) if x == y),
                Kind::Complex => matches!((&a, &b), (Val::Complex(r1, i1), Val::Complex(r2, i2)) if r1 == r2 && i1 == i2),
                Kind::Float => as_f(&a) == as_f(&b),
                Kind::Int => as_i(&a) == as_i(&b),
                Kind::String => as_s(&a) == as_s(&b),
                Kind::Uint => as_u(&a) == as_u(&b),
                Kind::Invalid => compare_other(&a, &b)?,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// eq of two values that are not basic: nil is comparable with anything, maps and slices
/// with nothing, docker's list rows by identity.
fn compare_other(a: &Val, b: &Val) -> Result<bool, String> {
    let kind = |v: &Val| match v {
        Val::Invalid => 0,
        Val::Array(_) | Val::Strings(_) => 1,
        Val::Object(_) | Val::Header(_) => 2,
        _ => 3,
    };
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb && ka != 0 && kb != 0 {
        return Err(format!("non-comparable types {}: {}, {}: {}", display_s(a), a.type_name(), b.type_name(), display_s(b)));
    }
    if ka == 0 || kb == 0 {
        return Ok(ka == kb);
    }
    match (a, b) {
        (Val::Row(x), Val::Row(y)) => Ok(std::ptr::eq(*x, *y)),
        _ => Err(format!("non-comparable type {}: {}", display_s(b), b.type_name())),
    }
}

fn lt(arg1: &V, arg2: &V) -> Result<bool, String> {
    let a = comparable(arg1);
    let b = comparable(arg2);
    let (k1, k2) = (basic_kind(&a), basic_kind(&b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err(BAD_TYPE.into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(as_i(&a) < 0 || (as_i(&a) as u64) < as_u(&b)),
            (Kind::Uint, Kind::Int) => Ok(as_i(&b) >= 0 && as_u(&a) < as_i(&b) as u64),
            _ => Err(BAD_COMPARISON.into()),
        };
    }
    match k1 {
        Kind::Bool | Kind::Complex | Kind::Invalid => Err(BAD_TYPE.into()),
        Kind::Float => Ok(as_f(&a) < as_f(&b)),
        Kind::Int => Ok(as_i(&a) < as_i(&b)),
        Kind::String => Ok(as_s(&a) < as_s(&b)),
        Kind::Uint => Ok(as_u(&a) < as_u(&b)),
    }
}

fn le(arg1: &V, arg2: &V) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}
