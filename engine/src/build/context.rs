//! The build context: where COPY and ADD read, as the docker CLI would send it.
//!
//! It comes from a directory (`berth build DIR`), a tar on stdin (`berth build - <
//! ctx.tar`, gzip or zstd compressed too), or is empty with a bare Dockerfile on stdin
//! (`berth build - < Dockerfile`); `-f PATH` names a Dockerfile anywhere (relative to the current
//! directory, as docker reads it), `-f -` reads it from stdin. A tar is unpacked into a
//! staging directory with the hardened extractor of `ctrfs` (no `..`, nothing written
//! through a symlink).
//!
//! The directory is walked by file descriptor (`ctrfs::walk`: `O_PATH | O_NOFOLLOW` per
//! entry), so symlinks are recorded as symlinks and never followed out of the context,
//! with the `.dockerignore` rules applied as Docker's tar writer applies them: an excluded
//! directory is not entered unless a `!pattern` names something below it, and children
//! inherit their parent's per-pattern results. `<Dockerfile>.dockerignore` next to the
//! Dockerfile takes precedence over the context's `.dockerignore`. Like the legacy
//! builder, the Dockerfile and `.dockerignore` are part of the context unless a pattern
//! excludes them.
//!
//! [`content_hash`] is the cache's view of a set of files (path, type, mode, owner,
//! content); [`Context::select`] resolves a COPY source (a path or a wildcard) to the
//! entries it copies.
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, SFlag};
use sha2::{Digest as _, Sha256};

use super::dockerignore::{IgnoreMatcher, ParentMatches};
use super::error::{BuildError, Result};

/// What `berth build` was given as its context argument.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ContextArg {
    Dir(PathBuf),
    /// `-`: a tar, or a lone Dockerfile.
    Stdin,
}

/// `-f`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DockerfileArg {
    /// Relative to the current directory for a directory context, to the tar's root for
    /// a tar context.
    Path(PathBuf),
    Stdin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    Symlink(String),
    /// Devices, fifos, sockets: copied as such by the executor.
    Other,
}

/// One file of the context, as COPY will see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContextEntry {
    /// Relative to the context root, `/`-separated, cleaned.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits (with setuid/setgid/sticky).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
}

#[derive(Debug)]
pub(crate) struct Context {
    /// The directory COPY reads from (the user's, or the staging dir of a tar).
    pub root: Option<PathBuf>,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Where the Dockerfile came from, for messages.
    pub dockerfile_name: String,
    pub ignore: IgnoreMatcher,
    /// Included entries, sorted by path.
    pub entries: Vec<ContextEntry>,
    _staging: Option<tempfile::TempDir>,
}

/// Read a build context. `staging` is where a tar from stdin is unpacked (removed when the
/// `Context` is dropped).
pub(crate) fn load(context: &ContextArg, dockerfile: Option<&DockerfileArg>, stdin: &mut dyn Read, staging: &Path) -> Result<Context> {
    match (context, dockerfile) {
        (ContextArg::Stdin, Some(DockerfileArg::Stdin)) => {
            Err(BuildError::Option("invalid argument: can't use stdin for both build context and dockerfile".into()))
        }
        (ContextArg::Dir(dir), df) => {
            let root = dir.canonicalize().map_err(|e| BuildError::context(dir, format!("unable to prepare context: {e}")))?;
            if !root.is_dir() {
                return Err(BuildError::context(dir, "unable to prepare context: not a directory"));
            }
            let (text, name, df_path) = match df {
                Some(DockerfileArg::Stdin) => (read_text(stdin, "-")?, "-".to_string(), None),
                Some(DockerfileArg::Path(p)) => {
                    let abs = std::path::absolute(p).map_err(|e| BuildError::io(p, e))?;
                    (read_file(&abs)?, p.display().to_string(), Some(abs))
                }
                None => {
                    let mut p = root.join("Dockerfile");
                    if !p.exists() && root.join("dockerfile").exists() {
                        p = root.join("dockerfile");
                    }
                    (read_file(&p)?, p.display().to_string(), Some(p))
                }
            };
            from_dir(root, text, name, df_path.as_deref(), None)
        }
        (ContextArg::Stdin, df) => {
            let mut reader = BufReader::with_capacity(64 * 1024, stdin);
            let head = reader.fill_buf().map_err(|e| BuildError::io("-", e))?.to_vec();
            let kind = sniff(&head);
            if kind == Sniff::Text {
                let mut text = String::new();
                reader
                    .read_to_string(&mut text)
                    .map_err(|_| BuildError::context("-", "stdin is neither a tar archive nor a UTF-8 Dockerfile"))?;
                return Ok(Context {
                    root: None,
                    dockerfile: text,
                    dockerfile_name: "-".into(),
                    ignore: IgnoreMatcher::default(),
                    entries: Vec::new(),
                    _staging: None,
                });
            }
            let tmp = tempfile::Builder::new().prefix("build-context-").tempdir_in(staging).map_err(|e| BuildError::io(staging, e))?;
            let input: Box<dyn Read> = match kind {
                Sniff::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
                Sniff::Zstd => Box::new(zstd::stream::read::Decoder::new(reader).map_err(|e| BuildError::io("-", e))?),
                _ => Box::new(reader),
            };
            let root = pathrs::Root::open(tmp.path()).map_err(|e| BuildError::io(tmp.path(), crate::ctrfs::pathrs_io(e)))?;
            crate::ctrfs::untar::extract(&root, Path::new("/"), input, crate::ctrfs::untar::Owner::Preserve, &|p| Some(p.to_path_buf()))
                .map_err(|e| BuildError::context("-", format!("reading the context tar: {e}")))?;
            let rel = match df {
                Some(DockerfileArg::Path(p)) => p.clone(),
                _ => PathBuf::from("Dockerfile"),
            };
            let in_ctx = tmp.path().join(
                clean_rel(&rel.to_string_lossy()).ok_or_else(|| BuildError::context(&rel, "the Dockerfile must be inside the context"))?,
            );
            let text = read_file(&in_ctx)?;
            let mut ctx = from_dir(tmp.path().to_path_buf(), text, rel.display().to_string(), Some(&in_ctx), None)?;
            ctx._staging = Some(tmp);
            Ok(ctx)
        }
    }
}

#[derive(PartialEq, Eq)]
enum Sniff {
    Tar,
    Gzip,
    Zstd,
    Text,
}

fn sniff(head: &[u8]) -> Sniff {
    if head.starts_with(&[0x1f, 0x8b]) {
        Sniff::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniff::Zstd
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Sniff::Tar
    } else {
        Sniff::Text
    }
}

fn read_text(r: &mut dyn Read, name: &str) -> Result<String> {
    let mut s = String::new();
    r.read_to_string(&mut s).map_err(|e| BuildError::io(name, e))?;
    Ok(s)
}

fn read_file(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BuildError::context(p, "Dockerfile not found"),
        _ => BuildError::io(p, e),
    })
}

/// A context made of a directory: walk it with the ignore rules. `ignore_text` overrides
/// the ignore file lookup (tests).
pub(crate) fn from_dir(
    root: PathBuf,
    dockerfile: String,
    dockerfile_name: String,
    dockerfile_path: Option<&Path>,
    ignore_text: Option<&str>,
) -> Result<Context> {
    let (ignore_file, text) = match ignore_text {
        Some(t) => (".dockerignore".to_string(), Some(t.to_string())),
        None => {
            let beside = dockerfile_path.map(|p| PathBuf::from(format!("{}.dockerignore", p.display())));
            let pick = beside.filter(|p| p.is_file()).unwrap_or_else(|| root.join(".dockerignore"));
            let text = match std::fs::read_to_string(&pick) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(BuildError::io(&pick, e)),
            };
            (pick.display().to_string(), text)
        }
    };
    let ignore = match &text {
        Some(t) => IgnoreMatcher::from_text(t, &ignore_file)?,
        None => IgnoreMatcher::default(),
    };
    let mut entries = walk_context(&root, &ignore)?;
    // The legacy builder always receives these two and drops them only when excluded.
    let rel_df = dockerfile_path.and_then(|p| p.strip_prefix(&root).ok()).map(|p| p.to_string_lossy().into_owned());
    for special in [Some(".dockerignore".to_string()), rel_df].into_iter().flatten() {
        let excluded = ignore.excludes(&special);
        let present = entries.iter().position(|e| e.path == special);
        match (excluded, present) {
            (true, Some(i)) => {
                entries.remove(i);
            }
            (false, None) => {
                if let Some(e) = stat_entry(&root, &special)? {
                    entries.push(e);
                    entries.sort_by(|a, b| a.path.cmp(&b.path));
                }
            }
            _ => {}
        }
    }
    Ok(Context { root: Some(root), dockerfile, dockerfile_name, ignore, entries, _staging: None })
}

fn entry_from(path: String, st: &nix::sys::stat::FileStat, link: Option<String>) -> ContextEntry {
    let fmt = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let kind = if fmt == SFlag::S_IFREG {
        EntryKind::File
    } else if fmt == SFlag::S_IFDIR {
        EntryKind::Dir
    } else if fmt == SFlag::S_IFLNK {
        EntryKind::Symlink(link.unwrap_or_default())
    } else {
        EntryKind::Other
    };
    ContextEntry { path, kind, mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid, size: st.st_size as u64 }
}

fn stat_entry(root: &Path, rel: &str) -> Result<Option<ContextEntry>> {
    let p = root.join(rel);
    match nix::sys::stat::lstat(&p) {
        Ok(st) => {
            let link = std::fs::read_link(&p).ok().map(|l| l.to_string_lossy().into_owned());
            Ok(Some(entry_from(rel.to_string(), &st, link)))
        }
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(BuildError::io(p, std::io::Error::from_raw_os_error(e as i32))),
    }
}

/// Docker's tar-writer walk over the context with the ignore rules.
fn walk_context(root: &Path, ignore: &IgnoreMatcher) -> Result<Vec<ContextEntry>> {
    let top: OwnedFd = open(root, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| BuildError::io(root, std::io::Error::from_raw_os_error(e as i32)))?;
    let mut entries = Vec::new();
    let mut parents: Vec<(String, ParentMatches)> = Vec::new();
    let result = crate::ctrfs::walk::walk(top, &mut |node| {
        if node.rel.is_empty() {
            return Ok(crate::ctrfs::walk::Next::Descend);
        }
        let rel = node.rel.to_string();
        while let Some((dir, _)) = parents.last() {
            if rel.starts_with(&format!("{dir}/")) {
                break;
            }
            parents.pop();
        }
        let is_dir = node.kind() == SFlag::S_IFDIR;
        let (skip, info) = ignore.matches(&rel, parents.last().map(|(_, i)| i));
        if is_dir {
            parents.push((rel.clone(), info));
        }
        if skip {
            if is_dir && ignore.may_reinclude_under(&rel) {
                return Ok(crate::ctrfs::walk::Next::Descend);
            }
            return Ok(crate::ctrfs::walk::Next::Skip);
        }
        let link = if node.kind() == SFlag::S_IFLNK {
            let target = nix::fcntl::readlinkat(node.fd, "").map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            Some(target.to_string_lossy().into_owned())
        } else {
            None
        };
        entries.push(entry_from(rel, node.st, link));
        Ok(crate::ctrfs::walk::Next::Descend)
    });
    result.map_err(|e| BuildError::io(root, e))?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// A context-relative path, cleaned; `None` when it climbs out of the context.
fn clean_rel(p: &str) -> Option<String> {
    let cleaned = super::dockerignore::go_clean(&format!("/{p}"));
    let rel = cleaned.trim_start_matches('/');
    if p.split('/').filter(|c| !c.is_empty() && *c != ".").fold(0i32, |depth, c| {
        if depth < 0 {
            depth
        } else if c == ".." {
            depth - 1
        } else {
            depth + 1
        }
    }) < 0
    {
        return None;
    }
    Some(if rel.is_empty() { ".".into() } else { rel.to_string() })
}

impl Context {
    /// The entries a COPY source names: a path (a directory brings everything below it,
    /// `.` the whole context) or a wildcard (Go's `filepath.Match` on whole paths). A
    /// source that climbs out of the context, or names nothing included, is an error.
    pub(crate) fn select(&self, source: &str) -> Result<Vec<&ContextEntry>> {
        let rel = clean_rel(source.trim_start_matches('/'))
            .ok_or_else(|| BuildError::context(source, "forbidden path outside the build context"))?;
        let not_found = || BuildError::context(source, "file not found in build context or excluded by .dockerignore");
        if rel == "." {
            return Ok(self.entries.iter().collect());
        }
        let under = |dir: &str| {
            let prefix = format!("{dir}/");
            self.entries.iter().filter(move |e| e.path.starts_with(&prefix))
        };
        let mut out: Vec<&ContextEntry> = Vec::new();
        if has_wildcards(&rel) {
            for e in &self.entries {
                match go_match(&rel, &e.path) {
                    Err(()) => return Err(BuildError::context(source, "syntax error in pattern")),
                    Ok(true) => {
                        out.push(e);
                        if e.kind == EntryKind::Dir {
                            out.extend(under(&e.path));
                        }
                    }
                    Ok(false) => {}
                }
            }
        } else if let Some(e) = self.entries.iter().find(|e| e.path == rel) {
            out.push(e);
            if e.kind == EntryKind::Dir {
                out.extend(under(&e.path));
            }
        } else if under(&rel).next().is_some() {
            // A directory that is itself excluded but has re-included children.
            out.extend(under(&rel));
        }
        if out.is_empty() {
            return Err(not_found());
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path);
        Ok(out)
    }

    /// The content hash of some entries (see [`content_hash`]), reading their files.
    pub(crate) fn hash_entries(&self, entries: &[&ContextEntry]) -> Result<String> {
        let mut items = Vec::with_capacity(entries.len());
        let root = match &self.root {
            Some(r) => Some(pathrs::Root::open(r).map_err(|e| BuildError::io(r, crate::ctrfs::pathrs_io(e)))?),
            None => None,
        };
        for e in entries {
            let digest = match (&e.kind, &root) {
                (EntryKind::File, Some(root)) => {
                    let io = |err: std::io::Error| BuildError::io(&e.path, err);
                    let handle = root.resolve_nofollow(&e.path).map_err(|err| io(crate::ctrfs::pathrs_io(err)))?;
                    let mut f = handle.reopen(pathrs::flags::OpenFlags::O_RDONLY).map_err(|err| io(crate::ctrfs::pathrs_io(err)))?;
                    let mut h = Sha256::new();
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = f.read(&mut buf).map_err(io)?;
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                    hex::encode(h.finalize())
                }
                (EntryKind::Symlink(t), _) => t.clone(),
                _ => String::new(),
            };
            items.push(HashItem { path: e.path.clone(), kind: kind_char(&e.kind), mode: e.mode, uid: e.uid, gid: e.gid, digest });
        }
        Ok(content_hash(&items))
    }
}

fn kind_char(k: &EntryKind) -> char {
    match k {
        EntryKind::File => 'f',
        EntryKind::Dir => 'd',
        EntryKind::Symlink(_) => 'l',
        EntryKind::Other => 'o',
    }
}

/// One file as the cache sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HashItem {
    pub path: String,
    /// `f`ile, `d`ir, `l`ink, `o`ther.
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// sha256 of a file's content, a link's target, empty for the rest.
    pub digest: String,
}

/// The hash of a set of files (order does not matter): `sha256:<hex>` over each file's
/// path, type, mode, owner and content digest. Modification times are left out, so a
/// touched but unchanged file keeps the cache.
pub(crate) fn content_hash(items: &[HashItem]) -> String {
    let mut sorted: Vec<&HashItem> = items.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for i in sorted {
        for field in [i.path.as_str(), &i.kind.to_string(), &format!("{:o}", i.mode), &i.uid.to_string(), &i.gid.to_string(), &i.digest] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Docker's `containsWildcards`: `*`, `?` or `[` not escaped by `\`.
fn has_wildcards(p: &str) -> bool {
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Go's `filepath.Match`: `*` and `?` stop at `/`, `[...]` classes with `^`, `\` escapes.
pub(crate) fn go_match(pattern: &str, name: &str) -> std::result::Result<bool, ()> {
    let mut pat: &str = pattern;
    let mut name: &str = name;
    'outer: while !pat.is_empty() {
        let (star, chunk, rest) = scan_chunk(pat);
        pat = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains('/'));
        }
        if let Some(t) = match_chunk(chunk, name)?
            && (t.is_empty() || !pat.is_empty())
        {
            name = t;
            continue;
        }
        if star {
            for (i, c) in name.char_indices() {
                if c == '/' {
                    break;
                }
                let after = &name[i + c.len_utf8()..];
                if let Some(t) = match_chunk(chunk, after)? {
                    if pat.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'outer;
                }
            }
        }
        while !pat.is_empty() {
            let (_, chunk, rest) = scan_chunk(pat);
            pat = rest;
            match_chunk(chunk, "")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(p: &str) -> (bool, &str, &str) {
    let trimmed = p.trim_start_matches('*');
    let star = trimmed.len() != p.len();
    let bytes = trimmed.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &trimmed[..i], &trimmed[i..])
}

/// Match `chunk` at the start of `s`: `Some(rest)` on a match, errors on a bad pattern.
fn match_chunk<'a>(chunk: &str, s: &'a str) -> std::result::Result<Option<&'a str>, ()> {
    let mut chunk: Vec<char> = chunk.chars().collect();
    chunk.reverse();
    let mut s_iter = s;
    let mut failed = false;
    while let Some(c) = chunk.pop() {
        let cur = if failed { None } else { s_iter.chars().next() };
        if !failed && cur.is_none() {
            failed = true;
        }
        match c {
            '[' => {
                let negated = chunk.last() == Some(&'^');
                if negated {
                    chunk.pop();
                }
                let mut matched = false;
                let mut n = 0;
                loop {
                    if chunk.last() == Some(&']') && n > 0 {
                        chunk.pop();
                        break;
                    }
                    let lo = class_char(&mut chunk)?;
                    let hi = if chunk.last() == Some(&'-') {
                        chunk.pop();
                        class_char(&mut chunk)?
                    } else {
                        lo
                    };
                    if let Some(r) = cur
                        && lo <= r
                        && r <= hi
                    {
                        matched = true;
                    }
                    n += 1;
                }
                if let Some(r) = cur {
                    if matched == negated {
                        failed = true;
                    }
                    s_iter = &s_iter[r.len_utf8()..];
                }
            }
            '?' => {
                if let Some(r) = cur {
                    if r == '/' {
                        failed = true;
                    }
                    s_iter = &s_iter[r.len_utf8()..];
                }
            }
            _ => {
                let lit = if c == '\\' { chunk.pop().ok_or(())? } else { c };
                if let Some(r) = cur {
                    if r != lit {
                        failed = true;
                    }
                    s_iter = &s_iter[r.len_utf8()..];
                }
            }
        }
    }
    Ok(if failed { None } else { Some(s_iter) })
}

fn class_char(chunk: &mut Vec<char>) -> std::result::Result<char, ()> {
    match chunk.pop() {
        None | Some('-') | Some(']') => Err(()),
        Some('\\') => {
            let c = chunk.pop().ok_or(())?;
            if chunk.is_empty() { Err(()) } else { Ok(c) }
        }
        Some(c) => {
            if chunk.is_empty() {
                Err(())
            } else {
                Ok(c)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            let p = d.path().join(f);
            if let Some(dir) = f.strip_suffix('/') {
                std::fs::create_dir_all(d.path().join(dir)).unwrap();
            } else {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, f.as_bytes()).unwrap();
            }
        }
        d
    }

    fn paths(c: &Context) -> Vec<&str> {
        c.entries.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn a_directory_context_with_ignore_rules() {
        let d = tree(&["Dockerfile", "a.md", "README.md", "src/main.rs", "src/gen/x.rs", "target/debug/big", "target/keep.txt", "empty/"]);
        std::fs::write(d.path().join(".dockerignore"), "*.md\n!README.md\ntarget\n!target/keep.txt\n").unwrap();
        symlink("/etc/passwd", d.path().join("link")).unwrap();
        let c = load(&ContextArg::Dir(d.path().into()), None, &mut std::io::empty(), d.path()).unwrap();
        assert_eq!(c.dockerfile, "Dockerfile");
        assert_eq!(
            paths(&c),
            [
                ".dockerignore",
                "Dockerfile",
                "README.md",
                "empty",
                "link",
                "src",
                "src/gen",
                "src/gen/x.rs",
                "src/main.rs",
                "target/keep.txt"
            ]
        );
        let link = c.entries.iter().find(|e| e.path == "link").unwrap();
        assert_eq!(link.kind, EntryKind::Symlink("/etc/passwd".into()), "symlinks are recorded, never followed");
    }

    #[test]
    fn dockerfile_and_dockerignore_leave_only_when_excluded() {
        let d = tree(&["Dockerfile", "x"]);
        std::fs::write(d.path().join(".dockerignore"), "*\n!x\n").unwrap();
        let c = load(&ContextArg::Dir(d.path().into()), None, &mut std::io::empty(), d.path()).unwrap();
        assert_eq!(paths(&c), ["x"]);
    }

    #[test]
    fn dockerfile_dockerignore_beside_the_dockerfile_wins() {
        let d = tree(&["ctx/a", "ctx/b", "ctx/.dockerignore", "df/app.Dockerfile", "df/app.Dockerfile.dockerignore"]);
        std::fs::write(d.path().join("ctx/.dockerignore"), "a\n").unwrap();
        std::fs::write(d.path().join("df/app.Dockerfile.dockerignore"), "b\n").unwrap();
        let df = DockerfileArg::Path(d.path().join("df/app.Dockerfile"));
        let c = load(&ContextArg::Dir(d.path().join("ctx")), Some(&df), &mut std::io::empty(), d.path()).unwrap();
        assert_eq!(paths(&c), [".dockerignore", "a"]);
        assert_eq!(c.dockerfile, "df/app.Dockerfile");
    }

    #[test]
    fn stdin_tar_text_and_errors() {
        let d = tree(&["src/Dockerfile", "src/f", "src/sub/g"]);
        let mut tar_bytes = Vec::new();
        {
            let mut b = tar::Builder::new(&mut tar_bytes);
            b.append_dir_all(".", d.path().join("src")).unwrap();
            b.finish().unwrap();
        }
        let staging = tempfile::tempdir().unwrap();
        let c = load(&ContextArg::Stdin, None, &mut &tar_bytes[..], staging.path()).unwrap();
        assert_eq!(c.dockerfile, "src/Dockerfile");
        assert_eq!(paths(&c), ["Dockerfile", "f", "sub", "sub/g"]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
        let gz = gz.finish().unwrap();
        let c2 = load(&ContextArg::Stdin, Some(&DockerfileArg::Path("sub/g".into())), &mut &gz[..], staging.path()).unwrap();
        assert_eq!(c2.dockerfile, "src/sub/g");
        let root = c2.root.clone().unwrap();
        drop(c2);
        assert!(!root.exists(), "the staging dir goes with the context");

        let c = load(&ContextArg::Stdin, None, &mut &b"FROM busybox\n"[..], staging.path()).unwrap();
        assert_eq!((c.dockerfile.as_str(), c.entries.len(), c.root.is_none()), ("FROM busybox\n", 0, true));
        assert!(load(&ContextArg::Stdin, Some(&DockerfileArg::Stdin), &mut std::io::empty(), staging.path()).is_err());
        let e = load(&ContextArg::Dir(d.path().join("nope")), None, &mut std::io::empty(), staging.path()).unwrap_err();
        assert!(e.to_string().contains("unable to prepare context"), "{e}");
        let e = load(&ContextArg::Dir(d.path().into()), None, &mut std::io::empty(), staging.path()).unwrap_err();
        assert!(e.to_string().contains("Dockerfile not found"), "{e}");
        let df = DockerfileArg::Stdin;
        let c = load(&ContextArg::Dir(d.path().join("src")), Some(&df), &mut &b"FROM a\n"[..], staging.path()).unwrap();
        assert_eq!(c.dockerfile, "FROM a\n");

        let mut evil = Vec::new();
        {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
            h.set_cksum();
            let mut b = tar::Builder::new(&mut evil);
            b.append(&h, &b"x"[..]).unwrap();
            b.finish().unwrap();
        }
        assert!(load(&ContextArg::Stdin, None, &mut &evil[..], staging.path()).is_err());
        assert!(!staging.path().parent().unwrap().join("escape").exists());
    }

    #[test]
    fn select_sources_like_copy() {
        let d = tree(&["Dockerfile", "a.txt", "b.txt", "dir/x", "dir/sub/y", "other/z"]);
        let c = load(&ContextArg::Dir(d.path().into()), None, &mut std::io::empty(), d.path()).unwrap();
        let sel = |s: &str| c.select(s).map(|v| v.iter().map(|e| e.path.clone()).collect::<Vec<_>>());
        assert_eq!(sel("*.txt").unwrap(), ["a.txt", "b.txt"]);
        assert_eq!(sel("/dir").unwrap(), ["dir", "dir/sub", "dir/sub/y", "dir/x"]);
        assert_eq!(sel("./dir/../a.txt").unwrap(), ["a.txt"]);
        assert_eq!(sel("d*/s?b").unwrap(), ["dir/sub", "dir/sub/y"]);
        assert_eq!(sel(".").unwrap().len(), 9);
        assert!(sel("../etc/passwd").unwrap_err().to_string().contains("outside the build context"));
        assert!(sel("missing").unwrap_err().to_string().contains("not found"));
        assert!(sel("*.none").is_err());
    }

    #[test]
    fn content_hash_sees_content_mode_and_path_not_mtime() {
        let d = tree(&["Dockerfile", "a", "b"]);
        let hash = |d: &Path| {
            let c = load(&ContextArg::Dir(d.into()), None, &mut std::io::empty(), d).unwrap();
            let sel = c.select("a").unwrap();
            c.hash_entries(&sel).unwrap()
        };
        let h0 = hash(d.path());
        assert!(h0.starts_with("sha256:"));
        filetime::set_file_mtime(d.path().join("a"), filetime::FileTime::from_unix_time(1, 0)).unwrap();
        assert_eq!(hash(d.path()), h0, "mtime is not part of it");
        std::fs::set_permissions(d.path().join("a"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let h1 = hash(d.path());
        assert_ne!(h1, h0);
        std::fs::write(d.path().join("a"), "changed").unwrap();
        assert_ne!(hash(d.path()), h1);
        let item = |p: &str| HashItem { path: p.into(), kind: 'f', mode: 0o644, uid: 0, gid: 0, digest: "d".into() };
        assert_eq!(content_hash(&[item("x"), item("y")]), content_hash(&[item("y"), item("x")]));
        assert_ne!(content_hash(&[item("x")]), content_hash(&[item("y")]));
        assert_ne!(content_hash(&[HashItem { uid: 1, ..item("x") }]), content_hash(&[item("x")]));
    }

    #[test]
    fn go_match_cases() {
        for (p, n, want) in [
            ("*.txt", "a.txt", true),
            ("*.txt", "d/a.txt", false),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("a\\*b", "a*b", true),
            ("*/*", "a/b", true),
            ("a*b*c", "axxbyyc", true),
            ("é?", "éx", true),
        ] {
            assert_eq!(go_match(p, n), Ok(want), "{p} {n}");
        }
        for bad in ["[", "a[", "[]", "x\\"] {
            assert!(go_match(bad, "x").is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn go_match_never_panics(p in "[a-c*?\\[\\]\\\\^/-]{0,10}", n in "[a-c/é-]{0,10}") {
            let _ = go_match(&p, &n);
        }
        #[test]
        fn clean_rel_never_escapes(p in "[a./]{0,16}") {
            if let Some(r) = clean_rel(&p) {
                proptest::prop_assert!(!r.split('/').any(|c| c == ".."));
                proptest::prop_assert!(!r.starts_with('/'));
            }
        }
    }
}
