//! Entry names: lexical cleaning and whiteout classification. Pure functions, kept apart
//! from the file-system half so every hostile spelling can be unit-tested cheaply.
//!
//! Decisions (docker's where docker has one):
//! - A leading `/` is stripped: `/etc/passwd` means `etc/passwd` in the layer, as docker's
//!   `filepath.Join(dest, name)` does. The same holds for hard-link targets.
//! - `.` components vanish and `a/..` folds away lexically; a `..` that would climb above the
//!   layer root is rejected (docker rejects it too, as a "breakout").
//! - An empty result names the layer root itself.

/// Why a name was refused.
pub type Refusal = &'static str;

/// A cleaned path: plain components only (no `.`, `..`, `/` or NUL), root first.
pub type Components = Vec<Vec<u8>>;

/// Clean a raw tar name into components, or refuse it.
pub fn clean(raw: &[u8]) -> Result<Components, Refusal> {
    if raw.contains(&0) {
        return Err("name contains a NUL byte");
    }
    let mut out: Components = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("path escapes the layer root");
                }
            }
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

/// `a/b/c` for messages and the set of written entries.
pub fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    comps.join(&b'/')
}

/// AUFS-style whiteout prefix (OCI image spec, "Whiteouts").
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Prefix of AUFS metadata entries (`.wh..wh.plnk`, `.wh..wh.aufs`).
pub const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
/// Opaque-directory marker.
pub const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";

/// What a cleaned name means to the unpacker.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary entry.
    Plain,
    /// `DIR/.wh..wh..opq`: the parent directory hides everything below it.
    Opaque,
    /// `.wh.NAME`: NAME (the last component) is deleted.
    Whiteout(Vec<u8>),
    /// AUFS metadata (`.wh..wh.plnk/...`): not part of the image, skipped.
    Skip,
}

/// Classify a cleaned name. Whiteout components anywhere but last, and whiteouts of
/// nothing (`.wh.`), of `.` or of `..`, are refused.
pub fn classify(comps: &[Vec<u8>]) -> Result<Kind, Refusal> {
    let last = comps.len().saturating_sub(1);
    for (i, c) in comps.iter().enumerate() {
        if c.starts_with(WHITEOUT_META_PREFIX) {
            if i == last && c == WHITEOUT_OPAQUE {
                return Ok(Kind::Opaque);
            }
            return Ok(Kind::Skip);
        }
        if let Some(target) = c.strip_prefix(WHITEOUT_PREFIX) {
            if i != last {
                return Err("a whiteout cannot have entries below it");
            }
            if target.is_empty() || target == b"." || target == b".." {
                return Err("malformed whiteout name");
            }
            return Ok(Kind::Whiteout(target.to_vec()));
        }
    }
    Ok(Kind::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Result<Vec<String>, Refusal> {
        clean(s.as_bytes()).map(|v| v.into_iter().map(|x| String::from_utf8(x).unwrap()).collect())
    }

    #[test]
    fn cleaning() {
        assert_eq!(c("a/b/c").unwrap(), ["a", "b", "c"]);
        assert_eq!(c("./a//b/./").unwrap(), ["a", "b"]);
        assert_eq!(c("/etc/passwd").unwrap(), ["etc", "passwd"]);
        assert_eq!(c("a/../b").unwrap(), ["b"]);
        assert!(c("./").unwrap().is_empty());
        assert!(c("/").unwrap().is_empty());
        assert_eq!(c("../x"), Err("path escapes the layer root"));
        assert_eq!(c("a/../../x"), Err("path escapes the layer root"));
        assert_eq!(c("/../x"), Err("path escapes the layer root"));
        assert_eq!(c(".."), Err("path escapes the layer root"));
        assert_eq!(clean(b"a\0b"), Err("name contains a NUL byte"));
    }

    fn k(s: &str) -> Result<Kind, Refusal> {
        classify(&clean(s.as_bytes()).unwrap())
    }

    #[test]
    fn whiteouts() {
        assert_eq!(k("etc/passwd"), Ok(Kind::Plain));
        assert_eq!(k("etc/.wh.motd"), Ok(Kind::Whiteout(b"motd".to_vec())));
        assert_eq!(k(".wh.x"), Ok(Kind::Whiteout(b"x".to_vec())));
        assert_eq!(k("data/opaque/.wh..wh..opq"), Ok(Kind::Opaque));
        assert_eq!(k(".wh..wh..opq"), Ok(Kind::Opaque));
        assert_eq!(k(".wh..wh.plnk"), Ok(Kind::Skip));
        assert_eq!(k(".wh..wh.plnk/123.456"), Ok(Kind::Skip));
        assert_eq!(k(".wh..wh..opq/x"), Ok(Kind::Skip));
        assert_eq!(k("a/.wh."), Err("malformed whiteout name"));
        assert_eq!(k("a/.wh.."), Err("malformed whiteout name"));
        assert_eq!(k("a/.wh..."), Err("malformed whiteout name"));
        assert_eq!(k(".wh.a/b"), Err("a whiteout cannot have entries below it"));
        assert_eq!(k("a.wh.b"), Ok(Kind::Plain));
        assert_eq!(k(""), Ok(Kind::Plain));
    }
}
