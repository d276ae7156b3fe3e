//! Volumes, as docker's `/volumes` endpoints spell them.
use super::*;
use serde::{Deserialize, Serialize};

/// A volume, as docker's `volume inspect` spells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volume {
    /// RFC 3339.
    pub created_at: String,
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub labels: std::collections::BTreeMap<String, String>,
    pub mountpoint: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub options: std::collections::BTreeMap<String, String>,
    pub scope: String,
    /// Names of the containers using it, filled by `list_volumes` (None: the backend did
    /// not say). Not part of docker's JSON.
    #[serde(skip)]
    pub users: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeListOptions {
    /// `dangling=true`: only volumes no container uses; `false`: only used ones.
    pub dangling: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePruneReport {
    pub removed: Vec<String>,
    pub space_reclaimed: u64,
}
