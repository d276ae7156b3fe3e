//! Registry credentials: docker's `config.json` `auths` format.
use crate::api::{Credentials, EngineError, Result};

pub async fn check_login(_registry: &str, _creds: &Credentials) -> Result<String> {
    Err(EngineError::Unsupported("login is being written".into()))
}

/// Stored credentials for a registry, if any.
pub fn lookup(_registry: &str) -> Option<Credentials> {
    None
}
