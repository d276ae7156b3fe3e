//! Network namespace files: `<root>/netns/<container id>`, a bind mount of a fresh network
//! namespace made before the runtime starts the container (the OCI spec points at the
//! path). The file keeps the namespace alive without any process in it, so the driver can
//! set it up before the container runs and tear it down after the container is gone,
//! however it went (a killed monitor included).
//!
//! [`create`] switches the calling thread into a new namespace and back: it is for the
//! single-threaded monitor (a multi-threaded caller would only move one thread, which is
//! still correct, but the monitor is where containers start).
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

use crate::error::{EngineError, IoResultExt, Result};

pub const DIR: &str = "netns";

pub fn path(root: &Path, container_id: &str) -> PathBuf {
    root.join(DIR).join(container_id)
}

/// Make a new network namespace with `lo` up and bind-mount it at `path`.
pub fn create(path: &Path) -> Result<()> {
    create_with(path, &[])
}

/// [`create`], with dummy interfaces named `stand_ins` in it: a namespace lost with its
/// interfaces (a reboot, or its file unmounted while nothing ran in it) is replaced by one
/// where the driver's teardown finds the container's interfaces to delete, so it goes on to
/// remove the bridge and the network's rules with the last container. Needs `ip`.
pub fn create_for_teardown(path: &Path, stand_ins: &[String]) -> Result<()> {
    create_with(path, stand_ins)
}

fn create_with(path: &Path, stand_ins: &[String]) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).at(d)?;
    }
    // A file left by a crash is reused (unmounted first).
    remove(path);
    std::fs::File::create(path).at(path)?;
    let orig = std::fs::File::open("/proc/thread-self/ns/net").at("/proc/thread-self/ns/net")?;
    let ctx = |what: &str, e: nix::errno::Errno| EngineError::io_ctx(format!("{what} for {}", path.display()), e.into());
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
        let _ = std::fs::remove_file(path);
        return Err(ctx("creating a network namespace", e));
    }
    let res = mount(Some("/proc/thread-self/ns/net"), path, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(|e| ctx("mounting the network namespace", e))
        .and_then(|()| loopback_up().map_err(|e| EngineError::io_ctx("bringing up the loopback interface", e)));
    for name in stand_ins {
        // A child started from this thread is in the new namespace too.
        let _ = std::process::Command::new("ip")
            .args(["link", "add", name, "type", "dummy"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    let back = setns(&orig, CloneFlags::CLONE_NEWNET);
    if let Err(e) = back {
        // Never go on in the wrong namespace.
        return Err(ctx("returning to the host network namespace", e));
    }
    if res.is_err() {
        remove(path);
    }
    res
}

/// Unmount and delete a namespace file (nothing to do when it is not there).
pub fn remove(path: &Path) {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => tracing::warn!("unmounting {}: {e}", path.display()),
    }
    let _ = std::fs::remove_file(path);
}

/// Whether `path` is a live namespace (a mounted nsfs file), not a plain file a reboot left.
pub fn is_live(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else { return false };
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd and a zeroed out-struct.
    if unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) } != 0 {
        return false;
    }
    st.f_type as i64 == NSFS_MAGIC
}

const NSFS_MAGIC: i64 = 0x6e73_6673;

/// `ip link set lo up` in the current network namespace.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: plain socket and ioctl calls on a zeroed ifreq.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut ok = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) == 0;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        ok = ok && libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) == 0;
        let err = std::io::Error::last_os_error();
        libc::close(sock);
        if ok { Ok(()) } else { Err(err) }
    }
}
