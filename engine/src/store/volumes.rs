//! Volume records and directories: `volumes` (name, created, anonymous, labels) and
//! `container_volumes` (who mounts which, removed with the container's row) in the state
//! database, and `volumes/<name>/_data` on disk. "In use" is a row in `container_volumes`,
//! so every berth process agrees on it; removal deletes the row only if none is there.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, IoResultExt, Result};
use crate::store::db::Db;

/// Directory under the state root.
pub const DIR: &str = "volumes";

/// A volume mounted into a container, as the container's record keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    pub name: String,
    pub destination: String,
    pub rw: bool,
    /// Created for this container (removed with `rm -v` / `--rm`).
    pub anonymous: bool,
}

/// docker's rule for volume names (two characters at least).
pub fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphanumeric() && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// One volume as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRecord {
    pub name: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub anonymous: bool,
    pub labels: BTreeMap<String, String>,
}

/// `volumes/<name>/_data`.
pub fn data_dir(root: &Path, name: &str) -> PathBuf {
    root.join(DIR).join(name).join("_data")
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VolumeRecord> {
    let labels: String = r.get(3)?;
    Ok(VolumeRecord {
        name: r.get(0)?,
        created: r.get(1)?,
        anonymous: r.get::<_, i64>(2)? != 0,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
    })
}

pub fn get(db: &Db, name: &str) -> Result<Option<VolumeRecord>> {
    db.query_opt("SELECT name, created, anonymous, labels FROM volumes WHERE name = ?1", [name], row)
}

pub fn list(db: &Db) -> Result<Vec<VolumeRecord>> {
    db.query_all("SELECT name, created, anonymous, labels FROM volumes ORDER BY name", [], row)
}

/// Containers using the volume (full IDs).
pub fn users(db: &Db, name: &str) -> Result<Vec<String>> {
    db.query_all("SELECT DISTINCT container_id FROM container_volumes WHERE volume = ?1 ORDER BY container_id", [name], |r| r.get(0))
}

/// Names of the containers mounting the volume, sorted.
pub fn user_names(db: &Db, name: &str) -> Result<Vec<String>> {
    db.query_all(
        "SELECT c.name FROM container_volumes cv JOIN containers c ON c.id = cv.container_id WHERE cv.volume = ?1 ORDER BY c.name",
        [name],
        |row| row.get(0),
    )
}

/// A fresh anonymous volume name (64 hex, like docker's).
pub fn anonymous_name() -> String {
    crate::store::containers::new_id()
}

/// Create the volume (directory first, then the row); an existing one is returned as is.
pub fn create(db: &mut Db, root: &Path, name: &str, anonymous: bool, labels: &BTreeMap<String, String>) -> Result<VolumeRecord> {
    if !valid_name(name) {
        return Err(EngineError::InvalidArgument(format!(
            "volume name {name:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
        )));
    }
    if let Some(v) = get(db, name)? {
        return Ok(v);
    }
    let dir = data_dir(root, name);
    std::fs::create_dir_all(&dir).at(&dir)?;
    let rec = VolumeRecord { name: name.to_string(), created: crate::store::containers::now_nanos(), anonymous, labels: labels.clone() };
    let l = serde_json::to_string(&rec.labels).unwrap_or_else(|_| "{}".into());
    // Another process may create the same name at once: the row that landed first wins.
    db.write(|tx| {
        tx.execute(
            "INSERT OR IGNORE INTO volumes (name, created, anonymous, labels) VALUES (?1, ?2, ?3, ?4)",
            params![rec.name, rec.created, anonymous as i64, l],
        )
    })?;
    get(db, name)?.ok_or_else(|| EngineError::VolumeNotFound(name.to_string()))
}

/// Record which volumes a container mounts.
pub fn link(db: &mut Db, container_id: &str, mounts: &[VolumeMount]) -> Result<()> {
    db.write(|tx| {
        for m in mounts {
            tx.execute(
                "INSERT OR REPLACE INTO container_volumes (container_id, volume, destination) VALUES (?1, ?2, ?3)",
                params![container_id, m.name, m.destination],
            )?;
        }
        Ok(())
    })
}

/// Remove a volume nobody uses: the row first (so no new user can link it), then the files.
pub fn remove(db: &mut Db, root: &Path, name: &str) -> Result<()> {
    if get(db, name)?.is_none() {
        return Err(EngineError::VolumeNotFound(name.to_string()));
    }
    let deleted = db.write(|tx| {
        tx.execute("DELETE FROM volumes WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM container_volumes WHERE volume = ?1)", [name])
    })?;
    if deleted == 0 {
        let ids: Vec<String> = users(db, name)?.iter().map(|i| i[..12.min(i.len())].to_string()).collect();
        return Err(EngineError::Conflict(format!("remove {name}: volume is in use - [{}]", ids.join(", "))));
    }
    let dir = root.join(DIR).join(name);
    crate::store::snapshots::remove_tree(&dir).at(&dir)
}

/// The container's anonymous volumes that no other container uses (call before its row goes).
pub fn anonymous_of(db: &Db, container_id: &str) -> Result<Vec<String>> {
    db.query_all(
        "SELECT cv.volume FROM container_volumes cv JOIN volumes v ON v.name = cv.volume \
         WHERE cv.container_id = ?1 AND v.anonymous = 1",
        [container_id],
        |r| r.get(0),
    )
}

/// Remove what [`anonymous_of`] named, once the container's row is gone; volumes another
/// container has taken up meanwhile (`--volumes-from` style sharing) stay.
pub fn remove_unused(db: &mut Db, root: &Path, names: &[String]) {
    for n in names {
        match remove(db, root, n) {
            Ok(()) | Err(EngineError::Conflict(_)) | Err(EngineError::VolumeNotFound(_)) => {}
            Err(e) => tracing::warn!("removing volume {n}: {e}"),
        }
    }
}

/// Like [`remove_unused`], but the directories are only renamed into `trash/` (cheap) and
/// returned for the caller to delete later: `run --rm` reports the exit code first and
/// unlinks after (an unlink costs up to a millisecond on this machine's ext4).
pub fn remove_unused_later(db: &mut Db, root: &Path, names: &[String]) -> Vec<PathBuf> {
    let mut later = Vec::new();
    let trash = root.join("trash");
    for n in names {
        let deleted = db.write(|tx| {
            tx.execute("DELETE FROM volumes WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM container_volumes WHERE volume = ?1)", [n])
        });
        if !matches!(deleted, Ok(1)) {
            continue;
        }
        let dir = root.join(DIR).join(n);
        let dest = trash.join(format!("volume-{n}-{:016x}", fastrand::u64(..)));
        if std::fs::create_dir_all(&trash).is_ok() && std::fs::rename(&dir, &dest).is_ok() {
            later.push(dest);
        } else {
            later.push(dir);
        }
    }
    later
}

/// Bytes under a directory (not following symlinks; hard links counted once per path).
pub fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    for e in rd.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if m.is_dir() {
            total += dir_size(&e.path());
        } else {
            total += m.len();
        }
    }
    total
}

/// `volume prune`: unused anonymous volumes (every unused one with `all`); (names, bytes).
pub fn prune(db: &mut Db, root: &Path, all: bool) -> Result<(Vec<String>, u64)> {
    let mut out = Vec::new();
    let mut freed = 0;
    for v in list(db)? {
        if !(all || v.anonymous) || !users(db, &v.name)?.is_empty() {
            continue;
        }
        let size = dir_size(&data_dir(root, &v.name));
        match remove(db, root, &v.name) {
            Ok(()) => {
                out.push(v.name);
                freed += size;
            }
            Err(EngineError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((out, freed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_volumes_stay_and_prune_takes_anonymous_ones() {
        let t = tempfile::tempdir().unwrap();
        let mut db = Db::open(t.path()).unwrap();
        let none = BTreeMap::new();
        create(&mut db, t.path(), "named", false, &none).unwrap();
        let anon = anonymous_name();
        create(&mut db, t.path(), &anon, true, &none).unwrap();
        assert!(data_dir(t.path(), &anon).is_dir());
        let id = crate::store::containers::new_id();
        let rec = crate::store::containers::ContainerRecord::created(
            id.clone(),
            "c1".into(),
            "sha256:00".into(),
            "img".into(),
            Default::default(),
            0,
        );
        crate::store::containers::insert(&mut db, &rec, true, || unreachable!()).unwrap();
        link(&mut db, &id, &[VolumeMount { name: "named".into(), destination: "/d".into(), rw: true, anonymous: false }]).unwrap();
        assert_eq!(user_names(&db, "named").unwrap(), ["c1"]);
        let err = remove(&mut db, t.path(), "named").unwrap_err();
        assert!(err.to_string().contains("volume is in use"), "{err}");
        assert!(matches!(remove(&mut db, t.path(), "nosuch"), Err(EngineError::VolumeNotFound(_))));
        let (gone, _) = prune(&mut db, t.path(), false).unwrap();
        assert_eq!(gone, vec![anon.clone()]);
        assert!(!t.path().join(DIR).join(&anon).exists());
        // The container's row going frees the named volume.
        crate::store::containers::delete(&mut db, &id).unwrap();
        assert!(users(&db, "named").unwrap().is_empty());
        remove(&mut db, t.path(), "named").unwrap();
        assert!(list(&db).unwrap().is_empty());
    }
}
