//! A lenient view of an image config (OCI or Docker v2 JSON). The config bytes themselves
//! are kept verbatim in the content store (the image ID is their digest); this struct only
//! reads what berth needs, tolerating the nulls and extra fields found in real images.
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::store::digest::Digest;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    pub created: Option<String>,
    pub author: Option<String>,
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
    pub config: Option<ContainerConfig>,
    pub rootfs: RootFs,
    pub history: Option<Vec<History>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerConfig {
    pub user: Option<String>,
    pub exposed_ports: Option<serde_json::Map<String, serde_json::Value>>,
    pub env: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub volumes: Option<serde_json::Map<String, serde_json::Value>>,
    pub working_dir: Option<String>,
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    pub stop_signal: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub author: Option<String>,
    pub comment: Option<String>,
    pub empty_layer: Option<bool>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let c: ImageConfig =
            serde_json::from_slice(bytes).map_err(|e| EngineError::InvalidImage(format!("image config is not valid JSON: {e}")))?;
        c.diff_ids()?;
        Ok(c)
    }

    pub fn diff_ids(&self) -> Result<Vec<Digest>> {
        self.rootfs
            .diff_ids
            .iter()
            .map(|d| Digest::parse(d).map_err(|_| EngineError::InvalidImage(format!("bad diff_id {d:?} in image config"))))
            .collect()
    }

    /// `created` as unix seconds (0 when absent or unparsable).
    pub fn created_unix(&self) -> i64 {
        self.created.as_deref().map(parse_time).unwrap_or(0)
    }

    /// `os/arch[/variant]`.
    pub fn platform(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{}", self.os, self.architecture, v),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// RFC 3339 → unix seconds; 0 when unparsable.
pub fn parse_time(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp()).unwrap_or(0)
}
