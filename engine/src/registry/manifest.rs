//! The manifest shapes a pull meets and a push writes: OCI image manifest and index,
//! Docker v2.2 manifest and manifest list. Parsed leniently into one small struct each
//! (oci-client's types reject some fields real registries send); the bytes themselves are
//! kept verbatim, since a manifest's digest is the digest of its exact bytes.
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::store::digest::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What we ask registries for, most specific first.
pub const ACCEPTED: &[&str] = &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// A manifest as fetched.
#[derive(Clone, Debug)]
pub enum Manifest {
    Image(ImageManifest),
    Index(Index),
}

/// The media type a manifest declares, or the one its shape implies.
pub fn media_type_of(bytes: &[u8], header: Option<&str>) -> String {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        config: Option<Descriptor>,
    }
    let probe: Option<Probe> = serde_json::from_slice(bytes).ok();
    if let Some(m) = probe.as_ref().and_then(|p| p.media_type.clone()) {
        return m;
    }
    if let Some(h) = header.filter(|h| !h.is_empty() && *h != "application/json") {
        return h.to_string();
    }
    match probe {
        Some(p) if p.manifests.is_some() => OCI_INDEX.to_string(),
        Some(Probe { config: Some(c), .. }) if c.media_type == DOCKER_CONFIG => DOCKER_MANIFEST.to_string(),
        _ => OCI_MANIFEST.to_string(),
    }
}

impl Manifest {
    pub fn parse(bytes: &[u8], media_type: &str) -> Result<Self> {
        let bad = |e: serde_json::Error| EngineError::InvalidImage(format!("manifest of type {media_type} is not valid: {e}"));
        match media_type {
            OCI_INDEX | DOCKER_LIST => Ok(Manifest::Index(serde_json::from_slice(bytes).map_err(bad)?)),
            OCI_MANIFEST | DOCKER_MANIFEST => {
                let m: ImageManifest = serde_json::from_slice(bytes).map_err(bad)?;
                if m.schema_version != 2 {
                    return Err(EngineError::InvalidImage(format!("unsupported manifest schema version {}", m.schema_version)));
                }
                Ok(Manifest::Image(m))
            }
            DOCKER_SCHEMA1 | "application/vnd.docker.distribution.manifest.v1+json" => {
                Err(EngineError::Unsupported("Docker schema 1 manifests are not supported (the image needs to be re-pushed)".into()))
            }
            other => Err(EngineError::Unsupported(format!("unsupported manifest media type {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_and_parses_kinds() {
        let d = format!("sha256:{}", "a".repeat(64));
        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":3,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#
        );
        assert_eq!(media_type_of(idx.as_bytes(), None), OCI_INDEX);
        let Manifest::Index(i) = Manifest::parse(idx.as_bytes(), OCI_INDEX).unwrap() else { panic!() };
        assert_eq!(i.manifests[0].platform.as_ref().unwrap().variant.as_deref(), Some("v8"));
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{d}","size":1}},"layers":[]}}"#
        );
        assert_eq!(media_type_of(m.as_bytes(), Some("application/json")), DOCKER_MANIFEST);
        assert!(matches!(Manifest::parse(m.as_bytes(), DOCKER_MANIFEST).unwrap(), Manifest::Image(_)));
        assert!(Manifest::parse(b"{}", DOCKER_SCHEMA1).is_err());
        assert!(Manifest::parse(b"not json", OCI_MANIFEST).is_err());
    }
}
