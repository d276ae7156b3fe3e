//! docker-archive and OCI-layout tars: load and save.
use crate::api::{ByteReader, ByteWriter, EngineError, Result};
use crate::local::LocalEngine;

pub async fn load(_engine: &LocalEngine, _input: ByteReader) -> Result<Vec<String>> {
    Err(EngineError::Unsupported("load is being written".into()))
}

pub async fn save(_engine: &LocalEngine, _names: &[String], _output: ByteWriter) -> Result<()> {
    Err(EngineError::Unsupported("save is being written".into()))
}
