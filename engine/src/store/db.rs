//! The state database: one SQLite file (WAL) that every berth process opens at once, the
//! single source of truth for images, tags and layers (containers, networks and volumes
//! join later). Schema changes go through `user_version` migrations.
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::error::{EngineError, Result};

pub const DB_FILE: &str = "berth.db";

/// Schema, one entry per version; never edit an entry once released, append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE images (
    id              TEXT PRIMARY KEY,      -- sha256:<config digest>
    manifest_digest TEXT,                  -- the manifest we keep in the content store
    manifest_media_type TEXT,
    created         INTEGER NOT NULL,      -- unix seconds, from the image config
    size            INTEGER NOT NULL,      -- unpacked bytes of all layers
    added           INTEGER NOT NULL       -- unix seconds when it entered this store
);
CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    diff_id  TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX image_layers_diff ON image_layers(diff_id);
CREATE TABLE tags (
    name     TEXT PRIMARY KEY,             -- docker.io/library/alpine:latest
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX tags_image ON tags(image_id);
CREATE TABLE repo_digests (
    name     TEXT PRIMARY KEY,             -- docker.io/library/alpine@sha256:...
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE TABLE layers (
    diff_id  TEXT PRIMARY KEY,             -- sha256 of the uncompressed tar
    snapshot TEXT NOT NULL,                -- directory name under snapshots/
    link     TEXT NOT NULL,                -- short name under snapshots/l/
    size     INTEGER NOT NULL              -- unpacked bytes
);
CREATE TABLE layer_blobs (
    digest     TEXT PRIMARY KEY,           -- blob in the content store
    diff_id    TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL
);
CREATE INDEX layer_blobs_diff ON layer_blobs(diff_id);
"#,
    r#"
CREATE TABLE containers (
    id            TEXT PRIMARY KEY,        -- 64 hex
    name          TEXT NOT NULL UNIQUE,    -- without the leading '/'
    image_id      TEXT NOT NULL,           -- sha256:<config digest>
    image_name    TEXT NOT NULL,           -- what the user typed (docker's .Config.Image)
    config        TEXT NOT NULL,           -- JSON: runtime::RunConfig
    created       INTEGER NOT NULL,        -- unix nanoseconds
    state         TEXT NOT NULL,           -- created|running|paused|exited|dead
    pid           INTEGER NOT NULL DEFAULT 0,
    pid_start     INTEGER NOT NULL DEFAULT 0, -- /proc/<pid>/stat starttime, guards against pid reuse
    monitor_pid   INTEGER NOT NULL DEFAULT 0,
    monitor_start INTEGER NOT NULL DEFAULT 0,
    exit_code     INTEGER NOT NULL DEFAULT 0,
    oom_killed    INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    started_at    INTEGER NOT NULL DEFAULT 0,
    finished_at   INTEGER NOT NULL DEFAULT 0,
    restart_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX containers_image ON containers(image_id);
"#,
    r#"
-- set by stop/rm so the restart policy leaves the container down; cleared by start
ALTER TABLE containers ADD COLUMN manual_stop INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL,           -- unix nanoseconds
    type       TEXT NOT NULL,              -- container
    action     TEXT NOT NULL,              -- create, start, die, oom, kill, pause, unpause, rename, destroy, stop
    actor      TEXT NOT NULL,              -- container id
    attributes TEXT NOT NULL               -- JSON object: name, image, exitCode, signal...
);
CREATE INDEX events_time ON events(time);
"#,
    r#"
-- `--runtime PATH`: the OCI runtime binary driven by the monitor ('' = libcontainer, built in)
ALTER TABLE containers ADD COLUMN runtime TEXT NOT NULL DEFAULT '';
"#,
    r#"
CREATE TABLE volumes (
    name      TEXT PRIMARY KEY,            -- docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+; anonymous: 64 hex
    created   INTEGER NOT NULL,            -- unix nanoseconds
    anonymous INTEGER NOT NULL DEFAULT 0,  -- created for a container (`-v /path`, the image's VOLUME)
    labels    TEXT NOT NULL DEFAULT '{}'   -- JSON object
);
CREATE TABLE container_volumes (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    volume       TEXT NOT NULL REFERENCES volumes(name),
    destination  TEXT NOT NULL,
    PRIMARY KEY (container_id, destination)
);
CREATE INDEX container_volumes_volume ON container_volumes(volume);
"#,
    r#"
CREATE TABLE networks (
    id        TEXT PRIMARY KEY,            -- 64 hex
    name      TEXT NOT NULL UNIQUE,        -- `bridge` is the default network
    driver    TEXT NOT NULL,               -- bridge
    subnet    TEXT NOT NULL,               -- 10.89.0.0/24
    gateway   TEXT NOT NULL,               -- the bridge's address (and aardvark-dns's)
    ip_range  TEXT NOT NULL DEFAULT '',    -- containers' addresses come from here ('' = the subnet)
    internal  INTEGER NOT NULL DEFAULT 0,  -- no route out
    dns       INTEGER NOT NULL DEFAULT 1,  -- names answered by aardvark-dns (user networks)
    bridge    TEXT NOT NULL,               -- the host's bridge interface
    builtin   INTEGER NOT NULL DEFAULT 0,  -- the default network: never removed
    labels    TEXT NOT NULL DEFAULT '{}',  -- JSON object
    options   TEXT NOT NULL DEFAULT '{}',  -- JSON object (-o)
    created   INTEGER NOT NULL             -- unix nanoseconds
);
-- What a container is connected to, kept while it is stopped; the first row is its primary network.
CREATE TABLE container_networks (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    network_id   TEXT NOT NULL REFERENCES networks(id),
    aliases      TEXT NOT NULL DEFAULT '[]', -- JSON array (--network-alias, connect --alias)
    ipv4         TEXT NOT NULL DEFAULT '',   -- --ip / connect --ip ('' = any)
    PRIMARY KEY (container_id, network_id)
);
CREATE INDEX container_networks_network ON container_networks(network_id);
-- A set-up container's address on a network (the IP lease). No foreign key to containers:
-- a lease lives until the network is torn down, which may be after the row is gone (--rm).
CREATE TABLE endpoints (
    network_id   TEXT NOT NULL REFERENCES networks(id),
    container_id TEXT NOT NULL,
    ip           TEXT NOT NULL,
    mac          TEXT NOT NULL,
    endpoint_id  TEXT NOT NULL,
    ifname       TEXT NOT NULL,
    PRIMARY KEY (network_id, container_id),
    UNIQUE (network_id, ip)
);
CREATE INDEX endpoints_container ON endpoints(container_id);
-- A container's network namespace (a bind-mounted file) and what the driver set up in it,
-- kept until it is torn down (teardown needs the same input as setup).
CREATE TABLE sandboxes (
    container_id TEXT PRIMARY KEY,
    netns        TEXT NOT NULL,
    config       TEXT NOT NULL,            -- JSON: network::Sandbox
    created      INTEGER NOT NULL
);
"#,
];

/// A connection to the state database.
pub struct Db {
    conn: Connection,
    path: PathBuf,
    /// Closed by [`Db::sleep`]: `conn` is an empty in-memory database until [`Db::wake`].
    asleep: bool,
}

/// A value that changes whenever any process commits to the database under `root`: the
/// size, mtime and inode of the database and its WAL (a commit appends to the WAL; a
/// checkpoint rewrites the database; a WAL reset replaces frames and moves the mtime).
/// One `stat` pair instead of a query: an idle dashboard polls this every second.
pub fn change_token(root: &Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::MetadataExt;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let db = root.join(DB_FILE);
    let m = std::fs::metadata(&db).ok()?;
    (m.ino(), m.size(), m.mtime(), m.mtime_nsec()).hash(&mut h);
    let mut wal = db.into_os_string();
    wal.push("-wal");
    // No WAL (yet, or after the last connection closed): the database alone says it.
    if let Ok(m) = std::fs::metadata(&wal) {
        (m.ino(), m.size(), m.mtime(), m.mtime_nsec()).hash(&mut h);
    }
    Some(h.finish())
}

impl Db {
    pub fn open(root: &Path) -> Result<Self> {
        let path = root.join(DB_FILE);
        let err = |source| EngineError::Database { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        let mut db = Db { conn, path, asleep: false };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let err = |source| EngineError::Database { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let v: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
        if v as usize > MIGRATIONS.len() {
            return Err(EngineError::Other(format!(
                "state database {} has schema version {v}, newer than this berth understands ({})",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            tx.execute_batch(m).map_err(err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Close the database file while the process idles for a long time (the container
    /// monitor): frees SQLite's caches and schema and its mapping of the WAL index.
    /// [`Db::wake`] opens it again; until then queries see an empty database.
    pub fn sleep(&mut self) {
        if let Ok(c) = Connection::open_in_memory() {
            self.conn = c;
            self.asleep = true;
        }
    }

    /// Reopen the database after [`Db::sleep`] (nothing to do otherwise).
    pub fn wake(&mut self) -> Result<()> {
        if !self.asleep {
            return Ok(());
        }
        let root = self.path.parent().unwrap_or(Path::new("/"));
        *self = Db::open(root)?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn err(&self, source: rusqlite::Error) -> EngineError {
        EngineError::Database { path: self.path.clone(), source }
    }

    /// Run `f` in an IMMEDIATE transaction (takes the write lock up front, so two
    /// processes never deadlock upgrading read locks).
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T> {
        let path = self.path.clone();
        let err = |source| EngineError::Database { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let out = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }

    pub fn query_opt<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        self.conn.query_row(sql, p, f).optional().map_err(|e| self.err(e))
    }

    pub fn query_all<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = st.query_map(p, f).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<T>>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_token_moves_with_a_commit_from_any_connection_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Db::open(dir.path()).unwrap();
        let b = Db::open(dir.path()).unwrap();
        let t0 = change_token(dir.path()).unwrap();
        // Reads do not move it.
        let _: i64 = b.conn().query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!(change_token(dir.path()), Some(t0));
        a.write(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER)")).unwrap();
        let t1 = change_token(dir.path()).unwrap();
        assert_ne!(t0, t1);
        b.conn().execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_ne!(change_token(dir.path()), Some(t1), "a commit by another connection");
        assert_eq!(change_token(&dir.path().join("nope")), None);
    }
}
