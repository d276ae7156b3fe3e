//! Content digests (`sha256:<64 hex>`): parsed once, so every path built from one is safe.
use std::fmt;
use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

use crate::error::{EngineError, Result};

/// A validated `sha256:` digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Self> {
        let hex = s.strip_prefix("sha256:").ok_or_else(|| EngineError::InvalidDigest(s.to_string()))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(EngineError::InvalidDigest(s.to_string()));
        }
        Ok(Digest(s.to_string()))
    }
    pub fn from_sha256_bytes(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(bytes)))
    }
    /// Digest of a byte slice.
    pub fn of(data: &[u8]) -> Self {
        Self::from_sha256_bytes(&Sha256::digest(data))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
    /// Docker's 12-character short ID.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = EngineError;
    fn try_from(s: String) -> Result<Self> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

/// A writer (or plain sink) that hashes and counts everything passed through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), count: 0 }
    }
    pub fn finish(self) -> (W, Digest, u64) {
        let d = Digest::from_sha256_bytes(&self.hasher.finalize());
        (self.inner, d, self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, hasher: Sha256::new(), count: 0 }
    }
    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn finish(self) -> (R, Digest, u64) {
        let d = Digest::from_sha256_bytes(&self.hasher.finalize());
        (self.inner, d, self.count)
    }
}

impl<R: io::Read> io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let d = Digest::of(b"hello");
        assert_eq!(d.as_str(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(d.short(), "2cf24dba5fb0");
        assert!(Digest::parse(d.as_str()).is_ok());
        for bad in ["", "sha256:", "sha256:../../etc/passwd", "md5:abcd", &format!("sha256:{}", "A".repeat(64))] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
