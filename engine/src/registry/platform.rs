//! Platform choice in a multi-arch index, as docker does it: `os/arch[/variant]`, the
//! host's by default, with containerd's normalisation (`x86_64` = `amd64`, `aarch64` =
//! `arm64`, an arm64 entry without variant is `v8`, a bare `arm` is `v7`).
use std::fmt;

use crate::error::{EngineError, Result};
use crate::registry::manifest::{Descriptor, PlatformSpec};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.filter(|v| !v.is_empty()).map(str::to_ascii_lowercase);
    match arch.as_str() {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), variant.filter(|v| v != "v1")),
        "aarch64" | "arm64" => ("arm64".into(), Some(variant.filter(|v| v != "8").unwrap_or_else(|| "v8".into()))),
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => ("arm".into(), Some(variant.map(|v| if v.starts_with('v') { v } else { format!("v{v}") }).unwrap_or_else(|| "v7".into()))),
        "i386" | "i686" | "386" => ("386".into(), variant),
        _ => (arch, variant),
    }
}

impl Platform {
    /// The platform this binary runs on.
    pub fn host() -> Self {
        let (arch, variant) = normalize_arch(std::env::consts::ARCH, None);
        Platform { os: std::env::consts::OS.to_string(), arch, variant }
    }

    /// Parse `os/arch[/variant]` (docker's `--platform`).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || EngineError::InvalidArgument(format!("invalid platform {s:?}: expected os/arch[/variant], e.g. linux/arm64"));
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')) {
            return Err(bad());
        }
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, v] => (*os, *arch, Some(*v)),
            _ => return Err(bad()),
        };
        let (arch, variant) = normalize_arch(arch, variant);
        Ok(Platform { os: os.to_ascii_lowercase(), arch, variant })
    }

    fn of_spec(p: &PlatformSpec) -> Self {
        let (arch, variant) = normalize_arch(&p.architecture, p.variant.as_deref());
        Platform { os: p.os.to_ascii_lowercase(), arch, variant }
    }

    fn matches(&self, other: &Platform) -> bool {
        self.os == other.os && self.arch == other.arch && (self.variant.is_none() || self.variant == other.variant)
    }

    /// The entry of an index for this platform: an exact variant match first.
    pub fn select<'a>(&self, entries: &'a [Descriptor]) -> Option<&'a Descriptor> {
        let with: Vec<(&Descriptor, Platform)> =
            entries.iter().filter_map(|d| d.platform.as_ref().map(|p| (d, Platform::of_spec(p)))).collect();
        with.iter().find(|(_, p)| p == self).or_else(|| with.iter().find(|(_, p)| self.matches(p))).map(|(d, _)| *d)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::Digest;

    fn entry(n: u8, arch: &str, variant: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: String::new(),
            digest: Digest::of(&[n]),
            size: 1,
            platform: Some(PlatformSpec { architecture: arch.into(), os: "linux".into(), variant: variant.map(String::from) }),
            urls: None,
        }
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(Platform::parse("linux/arm64").unwrap().to_string(), "linux/arm64/v8");
        assert_eq!(Platform::parse("linux/x86_64").unwrap().to_string(), "linux/amd64");
        assert_eq!(Platform::parse("linux/arm").unwrap().to_string(), "linux/arm/v7");
        for bad in ["", "linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn selects_like_docker() {
        let idx = vec![entry(1, "amd64", None), entry(2, "arm64", Some("v8")), entry(3, "arm", Some("v6")), entry(4, "arm", Some("v7"))];
        assert_eq!(Platform::parse("linux/amd64").unwrap().select(&idx).unwrap().digest, Digest::of(&[1]));
        assert_eq!(Platform::parse("linux/arm64").unwrap().select(&idx).unwrap().digest, Digest::of(&[2]));
        assert_eq!(Platform::parse("linux/arm64/v8").unwrap().select(&idx).unwrap().digest, Digest::of(&[2]));
        assert_eq!(Platform::parse("linux/arm").unwrap().select(&idx).unwrap().digest, Digest::of(&[4]));
        assert_eq!(Platform::parse("linux/arm/v6").unwrap().select(&idx).unwrap().digest, Digest::of(&[3]));
        assert!(Platform::parse("linux/s390x").unwrap().select(&idx).is_none());
        // An arm64 entry without a variant is v8.
        let idx = vec![entry(5, "arm64", None)];
        assert_eq!(Platform::parse("linux/arm64/v8").unwrap().select(&idx).unwrap().digest, Digest::of(&[5]));
    }
}
