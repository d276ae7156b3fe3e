//! `cp`, `diff`, `export` and `commit` for `LocalEngine`.
//!
//! Which filesystem: a running container is reached through `/proc/<init pid>/root`, so `cp`
//! sees what its processes see, bind-mounted volumes included (as docker copies into and out
//! of mounts). A stopped container's overlay is mounted at its usual rootfs path for the
//! copy, under a lock that `start` also takes, and unmounted after; its `-v` binds are not
//! mounted then, so `cp` on a stopped container reads and writes the container's own
//! filesystem, not the bind-mounted host directories (documented in the README).
//! `export` and `commit` use the overlay alone (no /proc, no volumes), as docker does;
//! `diff` and `commit` read the upper dir and compare with the image's layers.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg, OFlag, open};
use nix::sys::stat::{Mode, SFlag, fstat};
use serde_json::{Map, Value, json};

use crate::api::*;
use crate::ctrfs::tarwrite::{TarOptions, write_tree};
use crate::ctrfs::untar::{Owner, extract};
use crate::ctrfs::walk::{Next, Node, list, walk};
use crate::ctrfs::{clean, pathrs_io};
use crate::error::IoResultExt;
use crate::image::commit::{NewImage, commit_image, read_config};
use crate::image::layer::ensure_layer;
use crate::image::reference::Reference;
use crate::local::Inner;
use crate::local::containers::{is_running, lookup};
use crate::runtime::bundle::Paths;
use crate::runtime::process::alive;
use crate::runtime::rootfs::is_mounted;
use crate::store::containers::{ContainerRecord, State};
use crate::store::digest::{Digest, HashingWriter};
use crate::store::images::{ImageStore, Rollback};

/// The lock `start` and a copy on a stopped container both take, so a container never
/// starts on (or loses) an overlay mounted for a copy.
pub(crate) fn fs_lock(paths: &Paths) -> Result<Flock<File>> {
    let p = paths.dir.join("fs.lock");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&p).at(&p)?;
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| EngineError::io(&p, e.into()))
}

/// A container's root directory for the duration of an operation.
struct Rooted {
    rec: ContainerRecord,
    path: PathBuf,
    /// Set when we mounted the overlay (unmounted on drop) or hold the lock.
    _mount: Option<TempMount>,
}

struct TempMount {
    paths: Paths,
    ours: bool,
    _lock: Flock<File>,
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if self.ours {
            let _ = crate::runtime::rootfs::unmount_rootfs(&self.paths);
        }
    }
}

/// `live`: a running container's view with its mounts (`cp`); else the overlay alone.
fn rooted(i: &Inner, id: &str, live: bool) -> Result<Rooted> {
    let rec = lookup(i, id)?;
    let paths = Paths::new(&i.root, &rec.id);
    if is_running(&rec) {
        if live {
            let path = PathBuf::from(format!("/proc/{}/root", rec.pid));
            return Ok(Rooted { rec, path, _mount: None });
        }
        if is_mounted(&paths.rootfs()) {
            return Ok(Rooted { rec, path: paths.rootfs(), _mount: None });
        }
        // Never a second overlay on the upper dir of a running container.
        return Err(EngineError::Conflict(format!("the filesystem of container {} is not mounted", &rec.id[..12])));
    }
    if rec.state == State::Restarting {
        // Its monitor is about to mount the overlay itself.
        return Err(EngineError::Conflict(format!("container {} is restarting, try again", &rec.id[..12])));
    }
    let lock = fs_lock(&paths)?;
    let target = paths.rootfs();
    if is_mounted(&target) {
        return Ok(Rooted { rec, path: target, _mount: Some(TempMount { paths, ours: false, _lock: lock }) });
    }
    mount_overlay(i, &rec, &paths)?;
    Ok(Rooted { rec, path: target, _mount: Some(TempMount { paths, ours: true, _lock: lock }) })
}

/// The image's layer directories, topmost first.
fn lower_dirs(i: &Inner, rec: &ContainerRecord) -> Result<Vec<PathBuf>> {
    let links = ImageStore::layer_links(&i.images.db(), &rec.image_id)?;
    let l = i.images.snapshots.root().join("l");
    Ok(links.iter().map(|x| l.join(x)).collect())
}

/// Mount the container's overlay as its monitor would, but with absolute lowerdirs (this
/// process has other threads, so no chdir as the monitor does).
fn mount_overlay(i: &Inner, rec: &ContainerRecord, paths: &Paths) -> Result<()> {
    for d in [paths.upper(), paths.work(), paths.rootfs()] {
        std::fs::create_dir_all(&d).at(&d)?;
    }
    let mut lower: Vec<String> = lower_dirs(i, rec)?.iter().map(|p| p.display().to_string()).collect();
    if lower.is_empty() {
        let empty = paths.dir.join("empty");
        std::fs::create_dir_all(&empty).at(&empty)?;
        lower.push(empty.display().to_string());
    }
    let opts = format!("lowerdir={},upperdir={},workdir={},index=off", lower.join(":"), paths.upper().display(), paths.work().display());
    if opts.len() >= 4000 {
        return Err(EngineError::Unsupported(format!(
            "container {}: too many image layers to mount its filesystem while it is stopped; start it first",
            &rec.id[..12]
        )));
    }
    nix::mount::mount(Some("overlay"), &paths.rootfs(), Some("overlay"), nix::mount::MsFlags::empty(), Some(opts.as_str()))
        .map_err(|e| EngineError::io_ctx(format!("mounting the filesystem of container {}", &rec.id[..12]), e.into()))
}

fn open_root(r: &Rooted) -> Result<pathrs::Root> {
    // Following the last component on purpose: `/proc/<pid>/root` is a magic link to the
    // container's root (pathrs' own open refuses links there).
    let fd = open(&r.path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| EngineError::io(&r.path, e.into()))?;
    // The pid was checked before the open: make sure it is still the container's init (not
    // a reused pid), now that the fd pins whatever root it pointed to.
    if r.path.starts_with("/proc") && !alive(r.rec.pid, r.rec.pid_start) {
        return Err(EngineError::Conflict(format!("container {} stopped during the copy, try again", &r.rec.id[..12])));
    }
    Ok(pathrs::Root::from_fd(fd))
}

fn not_found(path: &str, id: &str) -> impl Fn(pathrs::error::Error) -> EngineError {
    move |e| {
        let io = pathrs_io(e);
        match io.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP) => {
                EngineError::PathNotFound { path: path.to_string(), container: id.to_string() }
            }
            _ => EngineError::io_ctx(format!("{path} in container {id}"), io),
        }
    }
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn stat(i: &Inner, id: &str, path: &str) -> Result<PathStat> {
    let r = rooted(i, id, true)?;
    let root = open_root(&r)?;
    let p = clean(path);
    let h = root.resolve_nofollow(&p).map_err(not_found(path, id))?;
    let st = fstat(&h).map_err(|e| EngineError::io_ctx(format!("{path} in container {id}"), e.into()))?;
    let mut link_target = String::new();
    if st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFLNK.bits() {
        let t = nix::fcntl::readlinkat(&h, "").map_err(|e| EngineError::io_ctx(format!("{path} in container {id}"), e.into()))?;
        let t = Path::new(&t);
        let abs = if t.is_absolute() { t.to_path_buf() } else { p.parent().unwrap_or(Path::new("/")).join(t) };
        link_target = clean(&abs.to_string_lossy()).display().to_string();
    }
    Ok(PathStat {
        name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into()),
        size: st.st_size,
        mode: st.st_mode,
        mtime: rfc3339(st.st_mtime),
        link_target,
    })
}

/// docker's rule: the last component is followed only when the path ends in `/` or `/.`.
fn follows_last(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.")
}

pub(crate) fn copy_from(i: &Inner, id: &str, path: &str, out: impl Write) -> Result<()> {
    let r = rooted(i, id, true)?;
    let root = open_root(&r)?;
    let p = clean(path);
    let h = if follows_last(path) { root.resolve(&p) } else { root.resolve_nofollow(&p) }.map_err(not_found(path, id))?;
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
    let opts = TarOptions { root_name: Some(&name), ..Default::default() };
    let mut out = write_tree(OwnedFd::from(h), &opts, out).ctx(|| format!("copying {path} from container {id}"))?;
    out.flush().ctx(|| format!("copying {path} from container {id}"))
}

pub(crate) fn copy_to(i: &Inner, id: &str, path: &str, input: impl std::io::Read, copy_uid_gid: bool) -> Result<()> {
    let r = rooted(i, id, true)?;
    let root = open_root(&r)?;
    let p = clean(path);
    let h = root.resolve(&p).map_err(not_found(path, id))?;
    let st = fstat(&h).map_err(|e| EngineError::io_ctx(format!("{path} in container {id}"), e.into()))?;
    if st.st_mode & SFlag::S_IFMT.bits() != SFlag::S_IFDIR.bits() {
        return Err(EngineError::InvalidArgument(format!("extraction point is not a directory: {path}")));
    }
    let owner = if copy_uid_gid { Owner::Preserve } else { Owner::Fixed(0, 0) };
    extract(&root, &p, input, owner, &|x| Some(x.to_path_buf())).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => EngineError::InvalidArchive(e.to_string()),
        _ => EngineError::io_ctx(format!("copying into {path} in container {}", &r.rec.id[..12]), e),
    })
}

pub(crate) fn export(i: &Inner, id: &str, out: impl Write) -> Result<()> {
    let r = rooted(i, id, false)?;
    let top = open(&r.path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| EngineError::io(&r.path, e.into()))?;
    let mut out = write_tree(top, &TarOptions::default(), out).ctx(|| format!("exporting container {id}"))?;
    out.flush().ctx(|| format!("exporting container {id}"))
}

fn is_whiteout(st: &nix::sys::stat::FileStat) -> bool {
    st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFCHR.bits() && st.st_rdev == 0
}

fn opaque(p: &Path) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"].iter().any(|n| xattr::get(p, n).ok().flatten().is_some_and(|v| v == b"y"))
}

/// Whether `rel` exists in the image's layers (top first), honouring whiteouts and opaque dirs.
fn in_lower(lowers: &[PathBuf], rel: &str) -> bool {
    for l in lowers {
        if let Ok(st) = nix::sys::stat::lstat(&l.join(rel)) {
            return !is_whiteout(&st);
        }
        let mut anc = Path::new(rel).parent();
        while let Some(a) = anc.filter(|a| !a.as_os_str().is_empty()) {
            let p = l.join(a);
            if let Ok(st) = nix::sys::stat::lstat(&p)
                && (is_whiteout(&st) || (st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits() && opaque(&p)))
            {
                return false;
            }
            anc = a.parent();
        }
    }
    false
}

/// Mount points the runtime creates in the rootfs when the image lacks them (docker keeps
/// these in its hidden init layer): not the user's changes.
fn runtime_stubs(rec: &ContainerRecord) -> Vec<String> {
    let mut v: Vec<String> = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/proc", "/sys", "/dev"].map(String::from).to_vec();
    for b in &rec.config.binds {
        if let Some(c) = b.split(':').nth(1) {
            v.push(clean(c).display().to_string());
        }
    }
    for t in &rec.config.tmpfs {
        v.push(clean(t.split(':').next().unwrap_or(t)).display().to_string());
    }
    v
}

fn is_stub(stubs: &[String], lowers: &[PathBuf], rel: &str, n: &Node<'_>) -> bool {
    let p = format!("/{rel}");
    let kind = n.kind();
    stubs.contains(&p)
        && (kind == SFlag::S_IFDIR || (kind == SFlag::S_IFREG && n.st.st_size == 0))
        && !in_lower(lowers, rel)
        && n.dir.is_none_or(|d| list(d).is_ok_and(|l| l.is_empty()))
}

fn open_upper(paths: &Paths) -> Result<Option<OwnedFd>> {
    let upper = paths.upper();
    match open(&upper, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(EngineError::io(&upper, e.into())),
    }
}

pub(crate) fn changes(i: &Inner, id: &str) -> Result<Vec<FsChange>> {
    let rec = lookup(i, id)?;
    let paths = Paths::new(&i.root, &rec.id);
    let lowers = lower_dirs(i, &rec)?;
    let stubs = runtime_stubs(&rec);
    let Some(top) = open_upper(&paths)? else { return Ok(Vec::new()) };
    let mut out: Vec<FsChange> = Vec::new();
    let mut stubbed: Vec<String> = Vec::new();
    walk(top, &mut |n: &Node<'_>| {
        if n.rel.is_empty() {
            return Ok(Next::Descend);
        }
        let path = format!("/{}", n.rel);
        if is_whiteout(n.st) {
            out.push(FsChange { kind: ChangeKind::Deleted, path });
            return Ok(Next::Skip);
        }
        if is_stub(&stubs, &lowers, n.rel, n) {
            stubbed.push(path);
            return Ok(Next::Skip);
        }
        let existed = in_lower(&lowers, n.rel);
        out.push(FsChange { kind: if existed { ChangeKind::Modified } else { ChangeKind::Added }, path: path.clone() });
        // An opaque dir hides everything the image had in it.
        if existed
            && let Some(d) = n.dir
            && crate::ctrfs::tarwrite::is_opaque(d)
        {
            let upper_names = list(d)?;
            if let Some(l) = lowers.iter().find(|l| l.join(n.rel).is_dir()) {
                for name in std::fs::read_dir(l.join(n.rel))?.flatten().map(|e| e.file_name()) {
                    if !upper_names.contains(&name) {
                        out.push(FsChange { kind: ChangeKind::Deleted, path: format!("{path}/{}", name.to_string_lossy()) });
                    }
                }
            }
        }
        Ok(Next::Descend)
    })
    .ctx(|| format!("reading the changes of container {id}"))?;
    // Directories copied up only because the runtime put a mount point in them.
    let keep = |c: &FsChange| {
        c.kind != ChangeKind::Modified
            || !stubbed.iter().any(|s| s.starts_with(&format!("{}/", c.path)))
            || out.iter().any(|o| o.path.starts_with(&format!("{}/", c.path)))
    };
    let mut out: Vec<FsChange> = out.iter().filter(|c| keep(c)).cloned().collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Thaws the container again when the commit is done, whatever happened.
struct Paused<'a> {
    i: &'a Inner,
    id: Option<String>,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.id {
            let _ = crate::local::containers::pause(self.i, id, false);
        }
    }
}

pub(crate) fn commit(i: &Inner, id: &str, o: &CommitOptions) -> Result<String> {
    // Every argument is checked before anything is read or written.
    let tag = o.reference.as_deref().map(Reference::parse_tagged).transpose()?;
    let mut probe = Map::new();
    for c in &o.changes {
        crate::image::import::apply_change(&mut probe, c)?;
    }
    let rec = lookup(i, id)?;
    let base_id = Digest::parse(&rec.image_id)?;
    let (base_bytes, _) = read_config(&i.images, &base_id)?;
    let mut cfg: Value = serde_json::from_slice(&base_bytes).map_err(|e| EngineError::InvalidImage(format!("{}: {e}", rec.image_id)))?;
    let paths = Paths::new(&i.root, &rec.id);
    let lowers = lower_dirs(i, &rec)?;
    let stubs = runtime_stubs(&rec);

    let mut paused = Paused { i, id: None };
    if o.pause && is_running(&rec) && rec.state == State::Running {
        crate::local::containers::pause(i, &rec.id, true)?;
        paused.id = Some(rec.id.clone());
    }
    let store = &i.images;
    let staged = Staged(store.content.ingest_path());
    let f = File::create(&staged.0).at(&staged.0)?;
    let blob_w = HashingWriter::new(BufWriter::with_capacity(256 * 1024, f));
    let gz = flate2::write::GzEncoder::new(blob_w, flate2::Compression::fast());
    let diff_w = HashingWriter::new(gz);
    let skip = |rel: &str, n: &Node<'_>| is_stub(&stubs, &lowers, rel, n);
    let opts = TarOptions { root_name: None, whiteouts: true, skip: Some(&skip) };
    let what = || format!("committing container {id}");
    let diff_w = match open_upper(&paths)? {
        Some(top) => write_tree(top, &opts, diff_w).ctx(what)?,
        None => {
            let mut b = tar::Builder::new(diff_w);
            b.finish().ctx(what)?;
            b.into_inner().ctx(what)?
        }
    };
    let (gz, diff_id, _) = diff_w.finish();
    let blob_w = gz.finish().ctx(what)?;
    let (bw, blob, _) = blob_w.finish();
    let f = bw.into_inner().map_err(|e| EngineError::io(&staged.0, e.into_error()))?;
    f.sync_all().at(&staged.0)?;
    drop(paused);

    let mut rb = Rollback::new(store);
    if !store.content.contains(&blob) {
        store.content.commit_file(&staged.0, &blob)?;
        rb.blobs.push(blob.clone());
    }
    let existed = store.layer(&diff_id)?.is_some();
    ensure_layer(store, &blob, crate::image::compression::Compression::Gzip.oci_layer_media_type(), Some(&diff_id))?;
    if !existed {
        rb.layers.push(diff_id.clone());
    }
    let config = commit_config(&mut cfg, &rec, o, &diff_id)?;
    let config_digest = store.content.put_bytes(&config)?;
    rb.blobs.push(config_digest.clone());
    let new = commit_image(store, &NewImage { config_digest, manifest: None, tags: tag.into_iter().collect(), repo_digest: None })?;
    rb.disarm();
    Ok(new.to_string())
}

struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The image's config with the container's settings, the `--change`s, the new layer and a
/// history entry (docker's `commit` does the same).
fn commit_config(cfg: &mut Value, rec: &ContainerRecord, o: &CommitOptions, diff_id: &Digest) -> Result<Vec<u8>> {
    let c = &rec.config;
    if !cfg.is_object() {
        return Err(EngineError::InvalidImage(format!("{}: the config is not an object", rec.image_id)));
    }
    let mut cc = cfg.get("config").and_then(Value::as_object).cloned().unwrap_or_default();
    let arr = |v: &[String]| if v.is_empty() { Value::Null } else { json!(v) };
    cc.insert("Cmd".into(), arr(&c.cmd));
    cc.insert("Entrypoint".into(), arr(&c.entrypoint));
    cc.insert("Env".into(), json!(c.env));
    cc.insert("WorkingDir".into(), json!(c.workdir));
    cc.insert("User".into(), json!(c.user));
    cc.insert("Labels".into(), if c.labels.is_empty() { Value::Null } else { json!(c.labels) });
    cc.insert("Hostname".into(), json!(c.hostname));
    cc.insert("Image".into(), json!(rec.image_id));
    cc.insert("Tty".into(), json!(c.tty));
    cc.insert("OpenStdin".into(), json!(c.open_stdin));
    for ch in &o.changes {
        crate::image::import::apply_change(&mut cc, ch)?;
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let obj = cfg.as_object_mut().expect("checked above");
    obj.insert("config".into(), Value::Object(cc));
    obj.insert("created".into(), json!(now));
    obj.insert("container".into(), json!(rec.id));
    match &o.author {
        Some(a) => obj.insert("author".into(), json!(a)),
        None => obj.remove("author"),
    };
    let rootfs = obj.entry("rootfs").or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    match rootfs.get_mut("diff_ids").and_then(Value::as_array_mut) {
        Some(d) => d.push(json!(diff_id.to_string())),
        None => rootfs["diff_ids"] = json!([diff_id.to_string()]),
    }
    let mut h = Map::new();
    h.insert("created".into(), json!(now));
    if let Some(a) = &o.author {
        h.insert("author".into(), json!(a));
    }
    h.insert("created_by".into(), json!(c.args().join(" ")));
    if let Some(m) = &o.message {
        h.insert("comment".into(), json!(m));
    }
    match obj.get_mut("history").and_then(Value::as_array_mut) {
        Some(v) => v.push(Value::Object(h)),
        None => {
            obj.insert("history".into(), json!([h]));
        }
    }
    serde_json::to_vec(cfg).map_err(|e| EngineError::Json { what: "encoding the image config".into(), source: e })
}
