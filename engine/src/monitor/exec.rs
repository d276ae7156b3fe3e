//! `berth exec`: a process started inside a running container. libcontainer's tenant
//! builder forks like `build()` does, so it runs in a fresh single-threaded helper process
//! (`berth exec-helper`, dispatched before tokio) that inherits the caller's stdio, waits for
//! the process and exits with its code.
use std::collections::HashMap;
use std::path::Path;

use nix::sys::wait::{WaitStatus, waitpid};

use crate::runtime::bundle::{Paths, resolve_user};

/// What to run.
#[derive(Debug, Default, Clone)]
pub struct ExecSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub user: Option<String>,
}

impl ExecSpec {
    /// Helper command-line arguments after `exec-helper --root R ID`.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        for e in &self.env {
            v.push("--env".into());
            v.push(e.clone());
        }
        if let Some(c) = &self.cwd {
            v.push("--cwd".into());
            v.push(c.clone());
        }
        if let Some(u) = &self.user {
            v.push("--user".into());
            v.push(u.clone());
        }
        v.push("--".into());
        v.extend(self.args.iter().cloned());
        v
    }
}

/// Run `spec` in container `id` and return the exit code (126/127 when it cannot be
/// started, as docker does). Must be called in a single-threaded process.
pub fn run(root: &Path, id: &str, spec: &ExecSpec) -> i32 {
    let paths = Paths::new(root, id);
    let builder = match libcontainer::container::builder::ContainerBuilder::new(
        id.to_string(),
        libcontainer::syscall::syscall::SyscallType::default(),
    )
    .with_root_path(super::runtime_root(root))
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: {e}");
            return 125;
        }
    };
    let mut env = HashMap::new();
    for e in &spec.env {
        if let Some((k, v)) = e.split_once('=') {
            env.insert(k.to_string(), v.to_string());
        } else if let Ok(v) = std::env::var(e) {
            env.insert(e.clone(), v);
        }
    }
    let mut t = builder.as_tenant().with_container_args(spec.args.clone()).with_env(env).with_detach(false).with_cwd(spec.cwd.clone());
    if let Some(u) = &spec.user {
        match resolve_user(&paths.rootfs(), u) {
            Ok(r) => t = t.with_user(Some(r.uid)).with_group(Some(r.gid)).with_additional_gids(r.additional_gids),
            Err(e) => {
                eprintln!("Error: {e}");
                return 126;
            }
        }
    }
    let pid = match t.build() {
        Ok(p) => p,
        Err(e) => {
            let mut m = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                m.push_str(": ");
                m.push_str(&s.to_string());
                src = s.source();
            }
            let m = match m.rsplit_once("error in executing process : ") {
                Some((_, r)) => format!("exec: {r}"),
                None => m,
            };
            eprintln!("Error: {m}");
            return super::start_failure_code(&m);
        }
    };
    loop {
        match waitpid(nix::unistd::Pid::from_raw(pid.as_raw()), None) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 255,
        }
    }
}
