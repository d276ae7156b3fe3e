//! What a template computes with: JSON data seen as Go values (docker's raw-JSON fallback:
//! objects are `map[string]interface {}`, arrays `[]interface {}`), plus the Go types docker's
//! functions return (`[]string`, `uint8`) and docker's list contexts (structs with methods).
use std::borrow::Cow;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::ListKind;

/// One row of a docker list (`ps`, `images`, `volume ls`, `stats`): a Go struct whose
/// methods are the fields, and `.Label "key"` where docker defines it.
#[derive(Debug)]
pub struct RowCtx<'a> {
    pub fields: &'a Map<String, Value>,
    pub labels: Option<&'a std::collections::BTreeMap<String, String>>,
    pub kind: &'a ListKind,
}

#[derive(Clone, Debug)]
pub enum Val<'a> {
    /// Go's invalid reflect.Value: a missing key; prints `<no value>`.
    Invalid,
    /// A nil `interface {}` (JSON null). Only seen boxed: a pipeline turns it into Invalid.
    Nil,
    /// A JSON null where docker's struct has a field: a nil slice, map or pointer.
    TypedNil(Nil),
    /// `struct{}{}`: a missing key of a `map[string]struct{}`.
    EmptyStruct,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Byte(u8),
    Float(f64),
    Complex(f64, f64),
    Str(Cow<'a, str>),
    Array(&'a [Value]),
    Strings(Rc<[String]>),
    Object(&'a Map<String, Value>),
    Row(&'a RowCtx<'a>),
    /// docker's `SubHeaderContext`: a `map[string]string` of column titles with `.Label`.
    Header(&'a Map<String, Value>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nil {
    Slice,
    /// A `map[string]string` (labels, options).
    Map,
    /// A `map[string]struct{}` (Volumes, ExposedPorts): a missing key reads as `{}`.
    Set,
    Pointer,
}

/// Fields of docker's structs that are maps or pointers (a null one prints `map[]` or
/// `<nil>`); any other null field of a struct is a nil slice (`[]`). The pointers are also
/// the fields docker's JSON leaves out when nil (`State.Health`): missing, they read as nil.
const MAP_FIELDS: &[&str] = &[
    "Labels",
    "Options",
    "Ports",
    "PortBindings",
    "Networks",
    "Sysctls",
    "Tmpfs",
    "StorageOpt",
    "Annotations",
    "DriverOpts",
    "Data",
    "Status",
    "Attributes",
];
const SET_FIELDS: &[&str] = &["Volumes", "ExposedPorts"];
const POINTER_FIELDS: &[&str] = &[
    "Health",
    "Healthcheck",
    "IPAMConfig",
    "MemorySwappiness",
    "PidsLimit",
    "OomKillDisable",
    "Init",
    "Node",
    "UsageData",
    "ClusterVolume",
    "Platform",
    "StopTimeout",
    "ImageManifestDescriptor",
    "Descriptor",
];

/// The Go nil a null field `name` of a docker struct stands for.
pub fn is_pointer_field(name: &str) -> bool {
    POINTER_FIELDS.contains(&name)
}

pub fn typed_nil(name: &str) -> Nil {
    if MAP_FIELDS.contains(&name) {
        Nil::Map
    } else if SET_FIELDS.contains(&name) {
        Nil::Set
    } else if POINTER_FIELDS.contains(&name) {
        Nil::Pointer
    } else {
        Nil::Slice
    }
}

/// A value and whether Go would hold it in an `interface {}` (looked up in a JSON map or
/// array): only error messages can tell (`in type interface {}`).
#[derive(Clone, Debug)]
pub struct V<'a> {
    pub val: Val<'a>,
    pub boxed: bool,
}

impl<'a> V<'a> {
    pub fn new(val: Val<'a>) -> Self {
        V { val, boxed: false }
    }
    pub fn boxed(val: Val<'a>) -> Self {
        V { val, boxed: true }
    }
    pub fn invalid() -> Self {
        V::new(Val::Invalid)
    }
    /// Go's `indirectInterface` and the pipeline's "lovely!" step: the concrete value inside.
    pub fn unbox(self) -> Self {
        match self.val {
            Val::Nil => V::invalid(),
            val => V::new(val),
        }
    }
    /// The Go type a message names: `interface {}` for a boxed value.
    pub fn type_name(&self) -> String {
        if self.boxed { "interface {}".into() } else { self.val.type_name() }
    }
}

pub fn from_json(v: &Value) -> Val<'_> {
    match v {
        Value::Null => Val::Nil,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Val::Int(i)
            } else if let Some(u) = n.as_u64() {
                Val::Uint(u)
            } else {
                Val::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Val::Str(Cow::Borrowed(s)),
        Value::Array(a) => Val::Array(a),
        Value::Object(m) => Val::Object(m),
    }
}

/// docker runs templates over typed Go structs first: an object that looks like one of
/// them (exported field names, not just strings) prints as `{a b c}` and a missing key in
/// it is an error; any other object is a Go map (labels, options, networks by name).
pub fn is_struct(m: &Map<String, Value>) -> bool {
    !m.is_empty() && m.keys().all(|k| k.starts_with(|c: char| c.is_ascii_uppercase())) && !is_string_map(m)
}

/// A `map[string]string` in docker's types (labels, options, driver data): a missing key
/// reads as "" through `index`.
pub fn is_string_map(m: &Map<String, Value>) -> bool {
    m.values().all(Value::is_string)
}

/// A `map[string]struct{}` (Volumes, ExposedPorts): every value is `{}`.
pub fn is_set(m: &Map<String, Value>) -> bool {
    !m.is_empty() && m.values().all(|v| v.as_object().is_some_and(Map::is_empty))
}

pub fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

impl Val<'_> {
    pub fn type_name(&self) -> String {
        match self {
            Val::Invalid => "<nil>".into(),
            Val::Nil => "interface {}".into(),
            Val::TypedNil(Nil::Slice) => "[]string".into(),
            Val::TypedNil(Nil::Map) => "map[string]string".into(),
            Val::TypedNil(Nil::Set) => "map[string]struct {}".into(),
            Val::EmptyStruct => "struct {}".into(),
            Val::TypedNil(Nil::Pointer) => "*struct {}".into(),
            Val::Bool(_) => "bool".into(),
            Val::Int(_) => "int".into(),
            Val::Uint(_) => "uint64".into(),
            Val::Byte(_) => "uint8".into(),
            Val::Float(_) => "float64".into(),
            Val::Complex(..) => "complex128".into(),
            Val::Str(_) => "string".into(),
            Val::Array(_) => "[]interface {}".into(),
            Val::Strings(_) => "[]string".into(),
            Val::Object(_) => "map[string]interface {}".into(),
            Val::Row(r) => r.kind.type_name.into(),
            Val::Header(_) => "formatter.SubHeaderContext".into(),
        }
    }

    /// Go's `isTrue`: empty values are false, structs are true.
    pub fn truth(&self) -> bool {
        match self {
            Val::Invalid | Val::Nil | Val::TypedNil(_) => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Uint(u) => *u != 0,
            Val::Byte(b) => *b != 0,
            Val::Float(f) => *f != 0.0,
            Val::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Array(a) => !a.is_empty(),
            Val::Strings(s) => !s.is_empty(),
            Val::Object(m) | Val::Header(m) => !m.is_empty(),
            Val::Row(_) | Val::EmptyStruct => true,
        }
    }
}
