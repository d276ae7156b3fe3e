//! Safe layer unpacking into a snapshot directory.
use std::io::Read;
use std::path::Path;

use crate::error::{EngineError, Result};

/// What an unpack wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Bytes of regular-file content written.
    pub bytes: u64,
    /// Entries processed.
    pub entries: u64,
}

/// Unpack one layer tar (already decompressed) into `dest`, an empty directory.
// TEMP (runtime branch): a naive unpack so containers can be tested before the safe
// unpacker lands; no whiteouts, no path checks. Drop this commit when merging.
pub fn unpack_layer<R: Read>(reader: R, dest: &Path) -> Result<UnpackStats> {
    let mut a = tar::Archive::new(reader);
    a.set_preserve_permissions(true);
    a.set_preserve_ownerships(true);
    a.unpack(dest).map_err(|e| EngineError::InvalidArchive(e.to_string()))?;
    let bytes = walk_size(dest);
    Ok(UnpackStats { bytes, entries: 0 })
}

fn walk_size(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => n += walk_size(&e.path()),
                Ok(t) if t.is_file() => n += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    n
}
