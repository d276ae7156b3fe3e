//! Image references with Docker's grammar and normalisation (`alpine` →
//! `docker.io/library/alpine:latest`). Written here rather than taken from oci-client
//! because we need docker's exact error messages, the "familiar" short form for display,
//! and the tag-or-digest distinction that `images`/`rmi` rely on.
use std::fmt;

use crate::error::{EngineError, Result};
use crate::store::digest::Digest;

pub const DEFAULT_REGISTRY: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";

/// A normalised image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host\[:port\], e.g. `docker.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path, e.g. `library/alpine`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

fn bad(reference: &str, reason: &str) -> EngineError {
    EngineError::InvalidReference { reference: reference.to_string(), reason: reason.to_string() }
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || d.starts_with('[') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    if host.starts_with('[') {
        return host.ends_with(']');
    }
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') && !l.starts_with('-') && !l.ends_with('-'))
}

impl Reference {
    /// Parse and normalise a reference the way `docker pull` does.
    pub fn parse(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(bad(s, "empty reference"));
        }
        if s.len() > 255 + 128 + 80 {
            return Err(bad(s, "reference too long"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d).map_err(|_| bad(s, "invalid digest"))?)),
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return Err(bad(s, "invalid tag"));
        }
        if name.is_empty() {
            return Err(bad(s, "missing repository name"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        if !valid_domain(&registry) {
            return Err(bad(s, "invalid registry host"));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad(s, "repository name must be lowercase"));
        }
        if !path.split('/').all(valid_component) {
            return Err(bad(s, "invalid repository name"));
        }
        if registry.len() + 1 + path.len() > 255 {
            return Err(bad(s, "repository name must not be more than 255 characters"));
        }
        let registry = if registry == "index.docker.io" { DEFAULT_REGISTRY.to_string() } else { registry };
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') { format!("library/{path}") } else { path };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference { registry, repository, tag, digest })
    }

    /// Parse for a command that needs a tag (tag/push): digests are refused.
    pub fn parse_tagged(s: &str) -> Result<Self> {
        let r = Self::parse(s)?;
        if r.digest.is_some() {
            return Err(bad(s, "a tag is required here, not a digest"));
        }
        Ok(r)
    }

    /// `docker.io/library/alpine` (no tag).
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The name as docker prints it: `alpine`, `user/app`, `127.0.0.1:5000/x`.
    pub fn familiar_name(&self) -> String {
        familiar(&self.name())
    }

    /// `name:tag` in the canonical form we store tags under.
    pub fn tagged_name(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{}", self.name(), t))
    }

    /// Whether this registry is reached over plain HTTP (loopback, like docker).
    pub fn is_insecure_registry(&self) -> bool {
        is_loopback_registry(&self.registry)
    }
}

/// True for `localhost[:port]`, `127.x.x.x[:port]` and `[::1][:port]`.
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.split(':').next().unwrap_or("")
    };
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// Strip `docker.io/` and `library/` the way docker prints names.
pub fn familiar(full: &str) -> String {
    let s = full.strip_prefix("docker.io/").unwrap_or(full);
    let s = s.strip_prefix("library/").filter(|r| !r.contains('/')).unwrap_or(s);
    s.to_string()
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Familiar form of a stored `name:tag` or `name@digest`.
pub fn familiar_tagged(full: &str) -> String {
    if let Some((n, d)) = full.split_once('@') {
        return format!("{}@{d}", familiar(n));
    }
    let slash = full.rfind('/').unwrap_or(0);
    match full[slash..].rfind(':') {
        Some(i) => format!("{}:{}", familiar(&full[..slash + i]), &full[slash + i + 1..]),
        None => familiar(full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let r = Reference::parse("alpine").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
        assert_eq!(r.familiar_name(), "alpine");
        let r = Reference::parse("user/app:1.0").unwrap();
        assert_eq!(r.to_string(), "docker.io/user/app:1.0");
        let r = Reference::parse("127.0.0.1:5000/busybox").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "busybox");
        assert_eq!(r.familiar_name(), "127.0.0.1:5000/busybox");
        assert!(r.is_insecure_registry());
        let r = Reference::parse("localhost/a/b:t").unwrap();
        assert_eq!(r.name(), "localhost/a/b");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.unwrap().as_str(), d);
        let r = Reference::parse(&format!("busybox:1@{d}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert!(!Reference::parse("ghcr.io/x/y").unwrap().is_insecure_registry());
    }

    #[test]
    fn rejects_malformed() {
        for s in ["", "UPPER", "a//b", "a:", ":tag", "a@sha256:zz", "-a", "a_-b", "a:t!g", "Docker.io/x/Y", "a b", "x/../y", "/a"] {
            assert!(Reference::parse(s).is_err(), "{s:?} should be rejected");
        }
    }
}
