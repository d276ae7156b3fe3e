//! Container records in the state database: what `create` decided (the [`RunConfig`]) and
//! what the monitor observed (state, pid, exit code, OOM kill, times). The database is the
//! single source of truth shared by every berth process; the monitor is the only writer of
//! a running container's exit.
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::store::db::Db;
use crate::store::volumes::VolumeMount;

/// `--restart`: parsed once when the container is created, stored as docker spells it
/// (`no`, `always`, `unless-stopped`, `on-failure[:N]`), read back into this enum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Restart {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure {
        max_retries: u32,
    },
}

impl Restart {
    /// Parse docker's spelling; an empty string is `no`, as docker takes it.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || EngineError::InvalidArgument(format!("invalid restart policy: {s}"));
        Ok(match s.split_once(':') {
            Some(("on-failure", n)) => Restart::OnFailure { max_retries: n.parse().map_err(|_| bad())? },
            Some(_) => return Err(bad()),
            None => match s {
                "" | "no" => Restart::No,
                "always" => Restart::Always,
                "unless-stopped" => Restart::UnlessStopped,
                "on-failure" => Restart::OnFailure { max_retries: 0 },
                _ => return Err(bad()),
            },
        })
    }

    /// docker's `HostConfig.RestartPolicy.Name`.
    pub fn name(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::UnlessStopped => "unless-stopped",
            Restart::OnFailure { .. } => "on-failure",
        }
    }

    /// docker's `HostConfig.RestartPolicy.MaximumRetryCount`.
    pub fn max_retries(self) -> u32 {
        match self {
            Restart::OnFailure { max_retries } => max_retries,
            _ => 0,
        }
    }

    /// Whether the monitor starts the container again after it exited with `code`, having
    /// restarted it `restarts` times already (the user did not stop it).
    pub fn restarts_after(self, code: i32, restarts: i64) -> bool {
        match self {
            Restart::No => false,
            Restart::Always | Restart::UnlessStopped => true,
            Restart::OnFailure { max_retries } => code != 0 && (max_retries == 0 || restarts < i64::from(max_retries)),
        }
    }

    /// Whether `berth system boot` starts the container again (docker's rule when the
    /// daemon comes up): `always`, and `unless-stopped` unless the user stopped it.
    pub fn starts_at_boot(self, stopped_by_user: bool) -> bool {
        match self {
            Restart::Always => true,
            Restart::UnlessStopped => !stopped_by_user,
            Restart::No | Restart::OnFailure { .. } => false,
        }
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Restart::OnFailure { max_retries } if *max_retries > 0 => write!(f, "on-failure:{max_retries}"),
            other => f.write_str(other.name()),
        }
    }
}

impl From<Restart> for String {
    fn from(r: Restart) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for Restart {
    type Error = EngineError;
    fn try_from(s: String) -> Result<Self> {
        Restart::parse(&s)
    }
}

/// Everything `create` decided about a container, stored as JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// The image's (or `--entrypoint`'s) entrypoint.
    pub entrypoint: Vec<String>,
    /// The command (image default or the user's).
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    pub hostname: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub labels: BTreeMap<String, String>,
    pub restart: Restart,
    pub auto_remove: bool,
    /// docker's NetworkMode: `host`, `none`, `container:<id>`, or the name of the primary
    /// network (`bridge` or a user network; the connections are `container_networks` rows;
    /// `default` in records made before networks existed means `bridge`).
    pub network: String,
    /// `-p` as asked for (host ports are picked at each start).
    pub ports: Vec<crate::api::PortSpec>,
    /// The image's `EXPOSE` and `--expose`.
    pub exposed: Vec<crate::api::ExposedPort>,
    /// `-P`.
    pub publish_all: bool,
    pub dns: Vec<std::net::IpAddr>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub extra_hosts: Vec<crate::api::ExtraHost>,
    pub mac_address: Option<crate::api::MacAddress>,
    pub privileged: bool,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
    /// `--cap-add` / `--cap-drop` (names with or without `CAP_`, or `ALL`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--read-only` root filesystem.
    pub read_only: bool,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--tmpfs PATH[:OPTIONS]`.
    pub tmpfs: Vec<String>,
    /// `-v HOST:CONTAINER[:ro]` bind mounts.
    pub binds: Vec<String>,
    /// Named and anonymous volumes (`volumes/<name>/_data`), in mount order.
    pub volumes: Vec<VolumeMount>,
    pub stop_signal: Option<String>,
}

impl RunConfig {
    /// The process argv: entrypoint then cmd.
    pub fn args(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Created,
    Running,
    Paused,
    /// Exited, and the restart policy will start it again.
    Restarting,
    Exited,
    Dead,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Paused => "paused",
            State::Restarting => "restarting",
            State::Exited => "exited",
            State::Dead => "dead",
        }
    }
    fn parse(s: &str) -> State {
        match s {
            "created" => State::Created,
            "running" => State::Running,
            "paused" => State::Paused,
            "restarting" => State::Restarting,
            "exited" => State::Exited,
            _ => State::Dead,
        }
    }
}

/// One container as stored. Times are unix nanoseconds (0: never).
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_name: String,
    pub config: RunConfig,
    pub created: i64,
    pub state: State,
    pub pid: i32,
    pub pid_start: u64,
    pub monitor_pid: i32,
    pub monitor_start: u64,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub restart_count: i64,
    /// `--runtime PATH`: an OCI runtime binary (absolute path); empty for the built-in
    /// libcontainer.
    pub runtime: String,
}

impl ContainerRecord {
    /// A container just created: nothing has run yet.
    pub fn created(id: String, name: String, image_id: String, image_name: String, config: RunConfig, created: i64) -> Self {
        ContainerRecord {
            id,
            name,
            image_id,
            image_name,
            config,
            created,
            state: State::Created,
            pid: 0,
            pid_start: 0,
            monitor_pid: 0,
            monitor_start: 0,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: 0,
            finished_at: 0,
            restart_count: 0,
            runtime: String::new(),
        }
    }
}

const COLS: &str = "id, name, image_id, image_name, config, created, state, pid, pid_start, monitor_pid, monitor_start, exit_code, \
                    oom_killed, error, started_at, finished_at, restart_count, runtime";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    let cfg: String = r.get(4)?;
    Ok(ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: r.get(2)?,
        image_name: r.get(3)?,
        config: serde_json::from_str(&cfg).unwrap_or_default(),
        created: r.get(5)?,
        state: State::parse(&r.get::<_, String>(6)?),
        pid: r.get(7)?,
        pid_start: r.get::<_, i64>(8)? as u64,
        monitor_pid: r.get(9)?,
        monitor_start: r.get::<_, i64>(10)? as u64,
        exit_code: r.get(11)?,
        oom_killed: r.get::<_, i64>(12)? != 0,
        error: r.get(13)?,
        started_at: r.get(14)?,
        finished_at: r.get(15)?,
        restart_count: r.get(16)?,
        runtime: r.get(17)?,
    })
}

pub fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// A fresh 64-hex container id.
pub fn new_id() -> String {
    (0..4).map(|_| format!("{:016x}", fastrand::u64(..))).collect()
}

/// Insert a new container. Unless the name is `explicit_name`, a taken one is replaced by
/// `another_name()` (retrying on collision); a taken explicit name is a Conflict, as docker
/// reports it.
pub fn insert(db: &mut Db, rec: &ContainerRecord, explicit_name: bool, another_name: impl Fn() -> String) -> Result<String> {
    let cfg =
        serde_json::to_string(&rec.config).map_err(|e| EngineError::Json { what: "encoding the container config".into(), source: e })?;
    for attempt in 0..100 {
        let name = if explicit_name || attempt == 0 { rec.name.clone() } else { another_name() };
        let taken: Option<String> = db.query_opt("SELECT id FROM containers WHERE name = ?1", [&name], |r| r.get(0))?;
        if let Some(other) = taken {
            if explicit_name {
                return Err(EngineError::Conflict(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            continue;
        }
        let res = db.write(|tx| {
            tx.execute(
                "INSERT INTO containers (id, name, image_id, image_name, config, created, state, runtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![rec.id, name, rec.image_id, rec.image_name, cfg, rec.created, rec.state.as_str(), rec.runtime],
            )
        });
        match res {
            Ok(_) => return Ok(name),
            // Another process took the name between our check and the insert.
            Err(EngineError::Database { source: rusqlite::Error::SqliteFailure(e, _), .. })
                if e.code == rusqlite::ErrorCode::ConstraintViolation && !explicit_name =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(EngineError::Conflict("could not find a free container name".into()))
}

pub fn get(db: &Db, id: &str) -> Result<Option<ContainerRecord>> {
    db.query_opt(&format!("SELECT {COLS} FROM containers WHERE id = ?1"), [id], row)
}

/// All containers, newest first.
pub fn list(db: &Db) -> Result<Vec<ContainerRecord>> {
    db.query_all(&format!("SELECT {COLS} FROM containers ORDER BY created DESC"), [], row)
}

/// Resolve what a user typed, as docker does: full ID, then exact name, then a unique ID
/// prefix. An ambiguous prefix is an error.
pub fn resolve(db: &Db, s: &str) -> Result<ContainerRecord> {
    let key = s.strip_prefix('/').unwrap_or(s);
    if key.is_empty() {
        return Err(EngineError::ContainerNotFound(s.to_string()));
    }
    if let Some(r) = get(db, key)? {
        return Ok(r);
    }
    if let Some(r) = db.query_opt(&format!("SELECT {COLS} FROM containers WHERE name = ?1"), [key], row)? {
        return Ok(r);
    }
    if key.bytes().all(|b| b.is_ascii_hexdigit()) && key.len() < 64 {
        let mut v =
            db.query_all(&format!("SELECT {COLS} FROM containers WHERE id LIKE ?1"), [format!("{}%", key.to_ascii_lowercase())], row)?;
        match v.len() {
            0 => {}
            1 => return Ok(v.remove(0)),
            _ => return Err(EngineError::InvalidArgument(format!("multiple IDs found with provided prefix: {key}"))),
        }
    }
    Err(EngineError::ContainerNotFound(s.to_string()))
}

pub fn delete(db: &mut Db, id: &str) -> Result<()> {
    db.write(|tx| tx.execute("DELETE FROM containers WHERE id = ?1", [id]))?;
    Ok(())
}

/// The monitor started the container.
pub fn set_running(db: &mut Db, id: &str, pid: i32, pid_start: u64, started_at: i64) -> Result<()> {
    db.write(|tx| {
        tx.execute(
            "UPDATE containers SET state = 'running', pid = ?2, pid_start = ?3, started_at = ?4, finished_at = 0, exit_code = 0, \
             oom_killed = 0, error = '' WHERE id = ?1",
            params![id, pid, pid_start as i64, started_at],
        )
    })?;
    Ok(())
}

/// Mark that the user stopped the container (or clear it on start).
pub fn set_manual_stop(db: &mut Db, id: &str, on: bool) -> Result<()> {
    db.write(|tx| tx.execute("UPDATE containers SET manual_stop = ?2 WHERE id = ?1", params![id, on as i64]))?;
    Ok(())
}

pub fn manual_stop(db: &Db, id: &str) -> Result<Option<bool>> {
    db.query_opt("SELECT manual_stop FROM containers WHERE id = ?1", [id], |r| r.get::<_, i64>(0).map(|v| v != 0))
}

/// Between two runs of a restarting container.
pub fn set_restarting(db: &mut Db, id: &str) -> Result<()> {
    db.write(|tx| tx.execute("UPDATE containers SET state = 'restarting', restart_count = restart_count + 1 WHERE id = ?1", [id]))?;
    Ok(())
}

/// `pause`/`unpause` flip a running container's state.
pub fn set_paused(db: &mut Db, id: &str, paused: bool) -> Result<()> {
    let (to, from) = if paused { ("paused", "running") } else { ("running", "paused") };
    db.write(|tx| tx.execute("UPDATE containers SET state = ?2 WHERE id = ?1 AND state = ?3", params![id, to, from]))?;
    Ok(())
}

pub fn rename(db: &mut Db, id: &str, name: &str) -> Result<()> {
    let taken: Option<String> = db.query_opt("SELECT id FROM containers WHERE name = ?1", [name], |r| r.get(0))?;
    if let Some(other) = taken {
        return Err(EngineError::Conflict(format!(
            "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
        )));
    }
    db.write(|tx| tx.execute("UPDATE containers SET name = ?2 WHERE id = ?1", params![id, name]))?;
    Ok(())
}

/// Record a container event (`berth events`); attributes get the container's name and image.
/// Best effort: an event that cannot be written never fails the operation it describes.
pub fn event(db: &mut Db, rec: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
    let mut attrs = vec![("image", rec.image_name.clone()), ("name", rec.name.clone())];
    attrs.extend(extra.iter().cloned());
    crate::store::events::record(db, "container", action, &rec.id, &attrs);
}

/// The monitor is done with the container.
pub fn clear_monitor(db: &mut Db, id: &str) -> Result<()> {
    db.write(|tx| tx.execute("UPDATE containers SET monitor_pid = 0, monitor_start = 0 WHERE id = ?1", [id]))?;
    Ok(())
}

pub fn set_monitor(db: &mut Db, id: &str, pid: i32, start: u64) -> Result<()> {
    db.write(|tx| tx.execute("UPDATE containers SET monitor_pid = ?2, monitor_start = ?3 WHERE id = ?1", params![id, pid, start as i64]))?;
    Ok(())
}

/// The container ended (or never started: `error` says why).
pub fn set_exited(db: &mut Db, id: &str, exit_code: i32, oom: bool, error: &str) -> Result<()> {
    db.write(|tx| {
        tx.execute(
            "UPDATE containers SET state = 'exited', pid = 0, pid_start = 0, exit_code = ?2, \
             oom_killed = ?3, error = ?4, finished_at = ?5 WHERE id = ?1",
            params![id, exit_code, oom as i64, error, now_nanos()],
        )
    })?;
    Ok(())
}

/// Whether any container uses the image.
pub fn image_in_use(db: &Db, image_id: &str) -> bool {
    db.query_opt("SELECT 1 FROM containers WHERE image_id = ?1 LIMIT 1", [image_id], |_| Ok(())).ok().flatten().is_some()
}

/// How many containers (running or not) use each image, by image ID.
pub fn count_by_image(db: &Db) -> Result<HashMap<String, u64>> {
    let rows: Vec<(String, i64)> =
        db.query_all("SELECT image_id, COUNT(*) FROM containers GROUP BY image_id", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.into_iter().map(|(k, v)| (k, v as u64)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, name: &str) -> ContainerRecord {
        ContainerRecord::created(id.into(), name.into(), "sha256:00".into(), "busybox".into(), RunConfig::default(), now_nanos())
    }

    #[test]
    fn resolve_like_docker() {
        let t = tempfile::tempdir().unwrap();
        let mut db = Db::open(t.path()).unwrap();
        let a = format!("abc1{}", "0".repeat(60));
        let b = format!("abc2{}", "0".repeat(60));
        let fresh = || new_id()[..8].to_string();
        insert(&mut db, &rec(&a, "web"), true, fresh).unwrap();
        insert(&mut db, &rec(&b, "db"), true, fresh).unwrap();
        assert_eq!(resolve(&db, "web").unwrap().id, a);
        assert_eq!(resolve(&db, "/db").unwrap().id, b);
        assert_eq!(resolve(&db, &a).unwrap().name, "web");
        assert_eq!(resolve(&db, "abc2").unwrap().name, "db");
        assert!(resolve(&db, "abc").unwrap_err().to_string().contains("multiple IDs"));
        assert!(matches!(resolve(&db, "nosuch"), Err(EngineError::ContainerNotFound(_))));
        let err = insert(&mut db, &rec(&new_id(), "web"), true, fresh).unwrap_err();
        assert!(err.to_string().contains("is already in use"), "{err}");
        // A random name that collides is replaced by another.
        let n = insert(&mut db, &rec(&new_id(), "web"), false, fresh).unwrap();
        assert_ne!(n, "web");
    }

    #[test]
    fn restart_policy_is_parsed_once_and_read_back() {
        for (s, r) in [
            ("no", Restart::No),
            ("", Restart::No),
            ("always", Restart::Always),
            ("unless-stopped", Restart::UnlessStopped),
            ("on-failure", Restart::OnFailure { max_retries: 0 }),
            ("on-failure:3", Restart::OnFailure { max_retries: 3 }),
        ] {
            assert_eq!(Restart::parse(s).unwrap(), r, "{s:?}");
        }
        for bad in ["sometimes", "always:3", "on-failure:x", "on-failure:-1", "No"] {
            let e = Restart::parse(bad).unwrap_err();
            assert!(matches!(e, EngineError::InvalidArgument(_)) && e.to_string().contains("invalid restart policy"), "{bad}: {e}");
        }
        // Stored as docker spells it; rows written before the enum read back the same way.
        let mut cfg = RunConfig { restart: Restart::OnFailure { max_retries: 2 }, ..Default::default() };
        let json = serde_json::to_value(&cfg).unwrap();
        assert_eq!(json["restart"], "on-failure:2");
        cfg.restart = Restart::UnlessStopped;
        let old: RunConfig = serde_json::from_str(r#"{"restart": "unless-stopped", "cmd": ["sh"]}"#).unwrap();
        assert_eq!(old.restart, cfg.restart);
        assert_eq!(serde_json::from_str::<RunConfig>("{}").unwrap().restart, Restart::No);

        let on_failure = Restart::OnFailure { max_retries: 2 };
        assert!(on_failure.restarts_after(1, 1) && !on_failure.restarts_after(1, 2) && !on_failure.restarts_after(0, 0));
        assert!(Restart::OnFailure { max_retries: 0 }.restarts_after(1, 1000));
        assert!(Restart::Always.restarts_after(0, 5) && !Restart::No.restarts_after(1, 0));
        assert!(Restart::Always.starts_at_boot(true) && Restart::UnlessStopped.starts_at_boot(false));
        assert!(!Restart::UnlessStopped.starts_at_boot(true) && !on_failure.starts_at_boot(false));
        assert_eq!((on_failure.name(), on_failure.max_retries()), ("on-failure", 2));
    }
}
