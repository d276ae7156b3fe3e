//! cgroup v1 and v2 readers. A container's cgroup is given as [`CgroupPaths`]: one
//! directory per v1 controller, or the one v2 directory.
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// v1 controller and v2 file names, as the kernel spells them.
pub mod files {
    pub const V1_CPUACCT_USAGE: &str = "cpuacct.usage";
    pub const V1_MEMORY_USAGE: &str = "memory.usage_in_bytes";
    pub const V1_MEMORY_LIMIT: &str = "memory.limit_in_bytes";
    pub const V1_MEMORY_STAT: &str = "memory.stat";
    pub const V1_MEMORY_OOM_CONTROL: &str = "memory.oom_control";
    pub const V1_BLKIO_BYTES: &str = "blkio.throttle.io_service_bytes";
    pub const V1_BLKIO_BYTES_RECURSIVE: &str = "blkio.throttle.io_service_bytes_recursive";
    pub const PIDS_CURRENT: &str = "pids.current";
    pub const CGROUP_PROCS: &str = "cgroup.procs";
    pub const V2_CPU_STAT: &str = "cpu.stat";
    pub const V2_MEMORY_CURRENT: &str = "memory.current";
    pub const V2_MEMORY_MAX: &str = "memory.max";
    pub const V2_MEMORY_STAT: &str = "memory.stat";
    pub const V2_MEMORY_EVENTS: &str = "memory.events";
    pub const V2_IO_STAT: &str = "io.stat";
}
use files::*;

/// Where a container's cgroup lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CgroupPaths {
    V1 { cpuacct: PathBuf, memory: PathBuf, pids: PathBuf, blkio: PathBuf },
    V2 { dir: PathBuf },
}

/// One reading of a container's cgroup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgroupSample {
    /// Total CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// Memory usage as docker reports it: usage minus inactive file cache.
    pub memory: u64,
    /// The memory limit, or None when unlimited.
    pub memory_limit: Option<u64>,
    pub pids: u64,
    pub blkio_read: u64,
    pub blkio_write: u64,
}

/// Figures one sample can lend the next: see [`CgroupPaths::sample_reusing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reuse {
    pub cpu_ns: u64,
    /// Raw memory usage (before subtracting the inactive file cache).
    pub usage: u64,
    pub inactive: u64,
    pub limit: Option<u64>,
    pub pids: u64,
}

/// Values at or above this are "no limit" in cgroup v1 (PAGE_COUNTER_MAX * page size).
const V1_UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_F000;

/// Where sample reads come from: a fresh open per read ([`Fresh`]), or files kept open
/// between samples and re-read from offset 0 ([`OpenFiles`]; the kernel regenerates cgroup
/// and procfs seq files on every read at 0).
pub trait Source {
    /// Read `dir/name`. Within one container, `name` identifies the file (a kept-open
    /// source keys on it, so no path is built or hashed per read).
    fn read<'a>(&mut self, dir: &Path, name: &'static str, buf: &'a mut String) -> io::Result<&'a str>;
}

/// Open, read, close.
pub struct Fresh;

impl Source for Fresh {
    fn read<'a>(&mut self, dir: &Path, name: &'static str, buf: &'a mut String) -> io::Result<&'a str> {
        read_into(&dir.join(name), buf)
    }
}

/// One container's files held open across samples: a `pread` instead of
/// open+read+close, which on this machine's v1 hierarchy costs most of a sample (path walk
/// and kernfs open/release). A handful of files per container, so a small vector keyed by
/// the file's static name beats a map keyed by path (no allocation, no hashing).
#[derive(Default)]
pub struct OpenFiles {
    files: Vec<(&'static str, fs::File)>,
    /// pread target, sized once; grows only for a file larger than it.
    scratch: Vec<u8>,
}

impl OpenFiles {
    /// Read the file known as `name`, opening `path()` the first time.
    pub fn read_keyed<'a>(&mut self, name: &'static str, path: impl FnOnce() -> PathBuf, buf: &'a mut String) -> io::Result<&'a str> {
        use std::os::unix::fs::FileExt;
        let i = match self.files.iter().position(|(n, _)| std::ptr::eq(*n, name) || *n == name) {
            Some(i) => i,
            None => {
                let path = path();
                match fs::File::open(&path) {
                    Ok(f) => {
                        self.files.push((name, f));
                        self.files.len() - 1
                    }
                    // Out of descriptors: read without keeping the file.
                    Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return read_into(&path, buf),
                    Err(e) => return Err(e),
                }
            }
        };
        let f = &self.files[i].1;
        if self.scratch.len() < 4096 {
            self.scratch.resize(4096, 0);
        }
        // One pread fills the buffer with the whole (small) file; reading again for the EOF
        // would make the kernel regenerate a seq file (memory.stat twice). Only a full
        // buffer means there may be more.
        let mut len = 0;
        loop {
            let n = f.read_at(&mut self.scratch[len..], len as u64)?;
            len += n;
            if len < self.scratch.len() || n == 0 {
                break;
            }
            let grown = self.scratch.len() * 2;
            self.scratch.resize(grown, 0);
        }
        let text = std::str::from_utf8(&self.scratch[..len])
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: not UTF-8")))?;
        buf.clear();
        buf.push_str(text);
        Ok(buf.trim_end())
    }
}

impl Source for OpenFiles {
    fn read<'a>(&mut self, dir: &Path, name: &'static str, buf: &'a mut String) -> io::Result<&'a str> {
        self.read_keyed(name, || dir.join(name), buf)
    }
}

/// Read a small file into `buf` (reused across reads to avoid allocating per sample).
fn read_into<'a>(path: &Path, buf: &'a mut String) -> io::Result<&'a str> {
    buf.clear();
    fs::File::open(path)?.read_to_string(buf)?;
    Ok(buf.trim_end())
}

fn read_u64(src: &mut dyn Source, dir: &Path, name: &'static str, buf: &mut String) -> io::Result<u64> {
    let s = src.read(dir, name, buf)?;
    s.trim().parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{}/{name}: not a number: {s:?}", dir.display())))
}

/// `key value` lines (memory.stat, cpu.stat): the value of `key`.
pub fn flat_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// v1 `blkio.throttle.io_service_bytes`: sums of `MAJ:MIN Read N` / `MAJ:MIN Write N`.
pub fn parse_v1_blkio(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let (Some(_dev), Some(op), Some(n)) = (it.next(), it.next(), it.next()) else { continue };
        let n: u64 = n.parse().unwrap_or(0);
        match op {
            "Read" => r += n,
            "Write" => w += n,
            _ => {}
        }
    }
    (r, w)
}

/// v2 `io.stat`: sums of `rbytes=` and `wbytes=` over devices.
pub fn parse_v2_io(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        for kv in l.split_whitespace().skip(1) {
            match kv.split_once('=') {
                Some(("rbytes", v)) => r += v.parse::<u64>().unwrap_or(0),
                Some(("wbytes", v)) => w += v.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (r, w)
}

impl CgroupPaths {
    /// The cgroup of a container named `rel` (e.g. `berth/<id>`) under the hierarchy
    /// mounted at `root` (normally /sys/fs/cgroup), v2 if `root` is a unified mount.
    pub fn under(root: &Path, rel: &str, v2: bool) -> Self {
        let rel = rel.trim_start_matches('/');
        if v2 {
            CgroupPaths::V2 { dir: root.join(rel) }
        } else {
            CgroupPaths::V1 {
                cpuacct: root.join("cpuacct").join(rel),
                memory: root.join("memory").join(rel),
                pids: root.join("pids").join(rel),
                blkio: root.join("blkio").join(rel),
            }
        }
    }

    /// The directory whose `cgroup.procs` lists the container's processes.
    pub fn procs_dir(&self) -> &Path {
        match self {
            CgroupPaths::V1 { pids, .. } => pids,
            CgroupPaths::V2 { dir } => dir,
        }
    }

    pub fn exists(&self) -> bool {
        self.procs_dir().is_dir()
    }

    /// Read everything in one pass. `buf` is scratch space reused across calls.
    pub fn sample(&self, buf: &mut String) -> io::Result<CgroupSample> {
        self.sample_from(&mut Fresh, buf)
    }

    /// [`Self::sample`] through `src` (e.g. files kept open between samples).
    pub fn sample_from(&self, src: &mut dyn Source, buf: &mut String) -> io::Result<CgroupSample> {
        self.sample_reusing(src, buf, None).map(|(s, _)| s)
    }

    /// Like [`Self::sample_from`], but lending figures from the previous call (`reuse`, what
    /// it returned) to skip reads that cannot have changed or change rarely:
    /// - the memory limit is not reread;
    /// - `memory.stat` (~10 µs of kernel time per read on v1 here, more than all the other
    ///   files together) is skipped while the raw usage equals the previous one;
    /// - when the CPU time did not move, no task of the cgroup ran, so none forked, exited or
    ///   faulted memory in: pids and memory usage are taken as they were. (Reclaim can still
    ///   shrink memory from outside, and block and network counters move without the
    ///   container's CPU — those are always read.)
    ///
    /// Callers pass `None` now and then so every figure is read afresh.
    pub fn sample_reusing(&self, src: &mut dyn Source, buf: &mut String, reuse: Option<Reuse>) -> io::Result<(CgroupSample, Reuse)> {
        let (cpu_ns, mem_dir, stat_name, pids_dir) = match self {
            CgroupPaths::V1 { cpuacct, memory, pids, .. } => (read_u64(src, cpuacct, V1_CPUACCT_USAGE, buf)?, memory, V1_MEMORY_STAT, pids),
            CgroupPaths::V2 { dir } => {
                (flat_keyed(src.read(dir, V2_CPU_STAT, buf)?, "usage_usec").unwrap_or(0) * 1000, dir, V2_MEMORY_STAT, dir)
            }
        };
        let next = match reuse {
            Some(r) if r.cpu_ns == cpu_ns => r,
            _ => {
                let usage = match self {
                    CgroupPaths::V1 { .. } => read_u64(src, mem_dir, V1_MEMORY_USAGE, buf)?,
                    CgroupPaths::V2 { .. } => read_u64(src, mem_dir, V2_MEMORY_CURRENT, buf)?,
                };
                let limit = match (reuse, self) {
                    (Some(r), _) => r.limit,
                    (None, CgroupPaths::V1 { .. }) => Some(read_u64(src, mem_dir, V1_MEMORY_LIMIT, buf)?).filter(|l| *l < V1_UNLIMITED),
                    (None, CgroupPaths::V2 { .. }) => match src.read(mem_dir, V2_MEMORY_MAX, buf)? {
                        "max" => None,
                        s => s.parse().ok(),
                    },
                };
                let inactive = match reuse {
                    Some(r) if r.usage == usage => r.inactive,
                    // v1 reports the hierarchy's total first; "inactive_file" is v2's name.
                    _ => {
                        let s = src.read(mem_dir, stat_name, buf)?;
                        flat_keyed(s, "total_inactive_file").or_else(|| flat_keyed(s, "inactive_file")).unwrap_or(0)
                    }
                };
                let pids = read_u64(src, pids_dir, PIDS_CURRENT, buf).unwrap_or(0);
                Reuse { cpu_ns, usage, inactive, limit, pids }
            }
        };
        let (blkio_read, blkio_write) = match self {
            // The recursive file is what docker reads; the plain one on older kernels.
            CgroupPaths::V1 { blkio, .. } => match src.read(blkio, V1_BLKIO_BYTES_RECURSIVE, buf) {
                Ok(s) => parse_v1_blkio(s),
                Err(_) => src.read(blkio, V1_BLKIO_BYTES, buf).map(parse_v1_blkio).unwrap_or((0, 0)),
            },
            CgroupPaths::V2 { dir } => src.read(dir, V2_IO_STAT, buf).map(parse_v2_io).unwrap_or((0, 0)),
        };
        let s = CgroupSample {
            cpu_ns,
            memory: if next.inactive < next.usage { next.usage - next.inactive } else { next.usage },
            memory_limit: next.limit,
            pids: next.pids,
            blkio_read,
            blkio_write,
        };
        Ok((s, next))
    }

    /// Whether the kernel OOM-killed a process in this cgroup.
    pub fn oom_killed(&self) -> bool {
        let mut buf = String::new();
        match self {
            CgroupPaths::V1 { memory, .. } => {
                read_into(&memory.join(V1_MEMORY_OOM_CONTROL), &mut buf).ok().and_then(|s| flat_keyed(s, "oom_kill")).is_some_and(|n| n > 0)
            }
            CgroupPaths::V2 { dir } => {
                read_into(&dir.join(V2_MEMORY_EVENTS), &mut buf).ok().and_then(|s| flat_keyed(s, "oom_kill")).is_some_and(|n| n > 0)
            }
        }
    }

    /// PIDs (host namespace) of every process in the cgroup and its children.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        let mut out = Vec::new();
        collect_procs(self.procs_dir(), &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

fn collect_procs(dir: &Path, out: &mut Vec<i32>) -> io::Result<()> {
    let text = fs::read_to_string(dir.join(CGROUP_PROCS))?;
    out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    for e in fs::read_dir(dir)?.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let _ = collect_procs(&e.path(), out);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, name: &str, text: &str) {
        fs::create_dir_all(p).unwrap();
        fs::write(p.join(name), text).unwrap();
    }

    #[test]
    fn v2_fake_tree() {
        let t = tempfile::tempdir().unwrap();
        let cg = CgroupPaths::under(t.path(), "berth/abc", true);
        let d = t.path().join("berth/abc");
        write(&d, V2_CPU_STAT, "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n");
        write(&d, V2_MEMORY_CURRENT, "73400320\n");
        write(&d, V2_MEMORY_MAX, "max\n");
        write(&d, V2_MEMORY_STAT, "anon 67108864\nfile 6291456\nkernel 0\nactive_file 2097152\ninactive_file 4194304\n");
        write(&d, PIDS_CURRENT, "3\n");
        write(
            &d,
            V2_IO_STAT,
            "8:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 dbytes=0 dios=0\n253:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
        );
        write(&d, CGROUP_PROCS, "100\n101\n");
        write(&d.join("child"), CGROUP_PROCS, "102\n");
        write(&d, V2_MEMORY_EVENTS, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        let s = cg.sample(&mut String::new()).unwrap();
        assert_eq!(
            s,
            CgroupSample {
                cpu_ns: 2_500_000_000,
                memory: 73400320 - 4194304,
                memory_limit: None,
                pids: 3,
                blkio_read: 1048577,
                blkio_write: 4098
            }
        );
        write(&d, V2_MEMORY_MAX, "104857600\n");
        assert_eq!(cg.sample(&mut String::new()).unwrap().memory_limit, Some(100 << 20));
        assert_eq!(cg.pids().unwrap(), vec![100, 101, 102]);
        assert!(cg.oom_killed());
        // Reuse: the limit is held until a fresh read; memory.stat is reread only when the
        // usage moved; nothing but block I/O is reread while the CPU time stands still.
        let fresh = |cg: &CgroupPaths, r| cg.sample_reusing(&mut Fresh, &mut String::new(), r).unwrap();
        let (_, raw) = fresh(&cg, None);
        assert_eq!((raw.usage, raw.inactive, raw.pids), (73400320, 4194304, 3));
        write(&d, V2_MEMORY_MAX, "1234567\n");
        write(&d, V2_MEMORY_CURRENT, "73400321\n");
        write(&d, PIDS_CURRENT, "4\n");
        write(&d, V2_IO_STAT, "8:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
        let (held, _) = fresh(&cg, Some(raw));
        assert_eq!((held.memory, held.memory_limit, held.pids), (73400320 - 4194304, Some(100 << 20), 3));
        assert_eq!((held.blkio_read, held.blkio_write), (1, 2));
        // The CPU moved: usage and pids are reread; the usage moved, so memory.stat is too.
        write(&d, V2_CPU_STAT, "usage_usec 999999\nuser_usec 1\nsystem_usec 1\n");
        write(&d, V2_MEMORY_STAT, "inactive_file 0\n");
        let (moved, raw2) = fresh(&cg, Some(raw));
        assert_eq!((moved.memory, moved.memory_limit, moved.pids), (73400321, Some(100 << 20), 4));
        // Same usage next time: memory.stat's figure is lent, even if the file changed.
        write(&d, V2_CPU_STAT, "usage_usec 1999999\nuser_usec 1\nsystem_usec 1\n");
        write(&d, V2_MEMORY_STAT, "inactive_file 21\n");
        assert_eq!(fresh(&cg, Some(raw2)).0.memory, 73400321);
        // A fresh read sees everything.
        let (all, _) = fresh(&cg, None);
        assert_eq!((all.memory, all.memory_limit), (73400321 - 21, Some(1234567)));
    }

    #[test]
    fn v1_fake_tree() {
        let t = tempfile::tempdir().unwrap();
        let cg = CgroupPaths::under(t.path(), "/berth/abc", false);
        let CgroupPaths::V1 { cpuacct, memory, pids, blkio } = cg.clone() else { panic!() };
        write(&cpuacct, V1_CPUACCT_USAGE, "123456789\n");
        write(&memory, V1_MEMORY_USAGE, "10000000\n");
        write(&memory, V1_MEMORY_LIMIT, "9223372036854771712\n");
        write(&memory, V1_MEMORY_STAT, "cache 300\nrss 100\ninactive_file 200\ntotal_inactive_file 1000000\n");
        write(&memory, V1_MEMORY_OOM_CONTROL, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        write(&pids, PIDS_CURRENT, "7\n");
        write(&pids, CGROUP_PROCS, "5\n");
        write(
            &blkio,
            V1_BLKIO_BYTES_RECURSIVE,
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n",
        );
        let s = cg.sample(&mut String::new()).unwrap();
        assert_eq!(
            s,
            CgroupSample { cpu_ns: 123456789, memory: 9_000_000, memory_limit: None, pids: 7, blkio_read: 4096, blkio_write: 8192 }
        );
        write(&memory, V1_MEMORY_LIMIT, "16777216\n");
        assert_eq!(cg.sample(&mut String::new()).unwrap().memory_limit, Some(16 << 20));
        assert!(!cg.oom_killed());
        write(&memory, V1_MEMORY_OOM_CONTROL, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        assert!(cg.oom_killed());
        assert_eq!(cg.pids().unwrap(), vec![5]);
    }

    #[test]
    fn open_files_reread_changed_content() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        fs::write(&p, "1\n").unwrap();
        let mut src = OpenFiles::default();
        let mut buf = String::new();
        assert_eq!(src.read(t.path(), "f", &mut buf).unwrap(), "1");
        // Rewritten in place (as the kernel regenerates a cgroup file), longer than one buffer.
        let big = "x".repeat(40000);
        fs::write(&p, &big).unwrap();
        assert_eq!(src.read(t.path(), "f", &mut buf).unwrap(), big);
        fs::write(&p, "2\n").unwrap();
        assert_eq!(src.read(t.path(), "f", &mut buf).unwrap(), "2");
        assert!(src.read(t.path(), "missing", &mut buf).is_err());
    }

    #[test]
    fn missing_cgroup_is_an_error_not_a_panic() {
        let t = tempfile::tempdir().unwrap();
        assert!(CgroupPaths::under(t.path(), "nope", true).sample(&mut String::new()).is_err());
        assert!(CgroupPaths::under(t.path(), "nope", false).sample(&mut String::new()).is_err());
    }

    #[test]
    fn real_v1_root_reads() {
        // This machine's own v1 hierarchy (root cgroup files exist on any v1 host).
        let root = Path::new("/sys/fs/cgroup");
        if !root.join("memory").join(V1_MEMORY_USAGE).exists() {
            eprintln!("skipping: no cgroup v1 memory controller at /sys/fs/cgroup/memory");
            return;
        }
        let cg = CgroupPaths::under(root, "", false);
        let s = cg.sample(&mut String::new()).unwrap();
        assert!(s.cpu_ns > 0 && s.memory > 0, "{s:?}");
    }
}
