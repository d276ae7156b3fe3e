//! `import`: a plain rootfs tar becomes a one-layer image.
use crate::api::{ByteReader, EngineError, Result};
use crate::local::LocalEngine;

pub async fn import(
    _engine: &LocalEngine,
    _input: ByteReader,
    _reference: Option<String>,
    _changes: Vec<String>,
    _message: Option<String>,
) -> Result<String> {
    Err(EngineError::Unsupported("import is being written".into()))
}
