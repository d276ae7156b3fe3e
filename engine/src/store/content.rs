//! The content store: immutable blobs named by their sha256 under `blobs/sha256/`.
//! Everything is written to `ingest/` first, fsynced, verified against the expected digest
//! and size, then renamed into place: a reader never sees a partial blob, and a crash leaves
//! only ingest files that [`ContentStore::clean_ingest`] removes.
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{EngineError, IoResultExt, Result};
use crate::store::digest::{Digest, HashingWriter};

#[derive(Clone, Debug)]
pub struct ContentStore {
    blobs: PathBuf,
    ingest: PathBuf,
}

impl ContentStore {
    /// Open (creating if needed) the store under `root` (`root/blobs/sha256`, `root/ingest`).
    pub fn open(root: &Path) -> Result<Self> {
        let blobs = root.join("blobs").join("sha256");
        let ingest = root.join("ingest");
        fs::create_dir_all(&blobs).at(&blobs)?;
        fs::create_dir_all(&ingest).at(&ingest)?;
        Ok(Self { blobs, ingest })
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    pub fn size(&self, digest: &Digest) -> Result<u64> {
        let p = self.path(digest);
        Ok(fs::metadata(&p).at(&p)?.len())
    }

    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let p = self.path(digest);
        File::open(&p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => EngineError::BlobMissing { digest: digest.to_string(), source: e },
            _ => EngineError::io(&p, e),
        })
    }

    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.open_blob(digest)?.read_to_end(&mut v).at(self.path(digest))?;
        Ok(v)
    }

    /// Store bytes whose digest is computed here.
    pub fn put_bytes(&self, data: &[u8]) -> Result<Digest> {
        let mut w = self.writer(None, None)?;
        w.write_all(data).at(&w.tmp)?;
        Ok(w.commit()?.0)
    }

    /// Start writing a blob. `expected` digest and size are checked at commit.
    pub fn writer(&self, expected: Option<Digest>, expected_size: Option<u64>) -> Result<IngestWriter> {
        let tmp = self.ingest.join(format!("{}-{:016x}", std::process::id(), fastrand::u64(..)));
        let f = File::create(&tmp).at(&tmp)?;
        Ok(IngestWriter {
            inner: Some(HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, f))),
            tmp,
            blobs: self.blobs.clone(),
            expected,
            expected_size,
            what: None,
        })
    }

    /// The ingest directory: staging for writes that are not blobs yet (a load's archive).
    /// Names starting with `<pid>-` are removed once that process is gone.
    pub fn ingest_dir(&self) -> &Path {
        &self.ingest
    }

    /// A fresh path in `ingest/` for callers that write a file by other means (then
    /// [`ContentStore::commit_file`]).
    pub fn ingest_path(&self) -> PathBuf {
        self.ingest.join(format!("{}-{:016x}", std::process::id(), fastrand::u64(..)))
    }

    /// Move a file already verified to have `digest` into the store (same filesystem).
    pub fn commit_file(&self, file: &Path, digest: &Digest) -> Result<()> {
        let dst = self.path(digest);
        File::open(file).and_then(|f| f.sync_all()).at(file)?;
        fs::rename(file, &dst).at(&dst)?;
        sync_dir(&self.blobs);
        Ok(())
    }

    pub fn delete(&self, digest: &Digest) -> Result<()> {
        let p = self.path(digest);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EngineError::io(&p, e)),
        }
    }

    /// All blob digests present.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.blobs).at(&self.blobs)? {
            let e = e.at(&self.blobs)?;
            if let Some(n) = e.file_name().to_str()
                && let Ok(d) = Digest::parse(&format!("sha256:{n}"))
            {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Remove ingest files left by processes that no longer run (a killed pull or load).
    pub fn clean_ingest(&self) -> Result<usize> {
        let mut n = 0;
        let Ok(rd) = fs::read_dir(&self.ingest) else { return Ok(0) };
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let pid: Option<i32> = name.split('-').next().and_then(|p| p.parse().ok());
            let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let _ = if e.path().is_dir() { fs::remove_dir_all(e.path()) } else { fs::remove_file(e.path()) };
                n += 1;
            }
        }
        Ok(n)
    }
}

/// An in-progress blob write. Dropped without `commit`, it removes its temp file.
pub struct IngestWriter {
    inner: Option<HashingWriter<io::BufWriter<File>>>,
    tmp: PathBuf,
    blobs: PathBuf,
    expected: Option<Digest>,
    expected_size: Option<u64>,
    what: Option<String>,
}

impl IngestWriter {
    /// Name used in mismatch errors (e.g. "layer sha256:…").
    pub fn describe(mut self, what: impl Into<String>) -> Self {
        self.what = Some(what.into());
        self
    }

    /// Flush, fsync, verify, rename into place. Returns the digest and size.
    pub fn commit(mut self) -> Result<(Digest, u64)> {
        let hw = self.inner.take().expect("commit once");
        let (buf, digest, size) = hw.finish();
        let f = buf.into_inner().map_err(|e| EngineError::io(&self.tmp, e.into_error()))?;
        f.sync_all().at(&self.tmp)?;
        drop(f);
        let what = self.what.clone().unwrap_or_else(|| "blob".to_string());
        if let Some(exp) = &self.expected_size
            && *exp != size
        {
            let _ = fs::remove_file(&self.tmp);
            return Err(EngineError::SizeMismatch { what, expected: *exp, actual: size });
        }
        if let Some(exp) = &self.expected
            && *exp != digest
        {
            let _ = fs::remove_file(&self.tmp);
            return Err(EngineError::DigestMismatch { what, expected: exp.to_string(), actual: digest.to_string() });
        }
        let dst = self.blobs.join(digest.hex());
        fs::rename(&self.tmp, &dst).at(&dst)?;
        sync_dir(&self.blobs);
        Ok((digest, size))
    }
}

impl Write for IngestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().expect("not committed").flush()
    }
}

impl Drop for IngestWriter {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_verify_and_reject() {
        let t = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(t.path()).unwrap();
        let d = cs.put_bytes(b"abc").unwrap();
        assert_eq!(d, Digest::of(b"abc"));
        assert_eq!(cs.read(&d).unwrap(), b"abc");

        let mut w = cs.writer(Some(Digest::of(b"xyz")), None).unwrap();
        w.write_all(b"not xyz").unwrap();
        assert!(matches!(w.commit(), Err(EngineError::DigestMismatch { .. })));
        assert_eq!(fs::read_dir(t.path().join("ingest")).unwrap().count(), 0);
        assert_eq!(cs.list().unwrap(), vec![d]);

        let mut w = cs.writer(None, Some(2)).unwrap();
        w.write_all(b"abc").unwrap();
        assert!(matches!(w.commit(), Err(EngineError::SizeMismatch { .. })));
    }
}
