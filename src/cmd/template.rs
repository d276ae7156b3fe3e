//! `--format` lives in `crate::template` (Go's text/template as docker uses it); the verbs
//! in this directory reach it through this name.
pub use crate::template::render;
