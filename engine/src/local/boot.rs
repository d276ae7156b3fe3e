//! `berth system boot`: what a daemon would do when it comes up after the host rebooted
//! (or after every monitor was killed). There is no daemon, so a boot unit runs this once
//! (`assets/berth-boot.service`). Containers that still have a live monitor are left alone;
//! the others have their stale runtime state cleared (the runtime's state dir and cgroup,
//! the rootfs mount, the network set-up; an active record becomes Exited (255), as docker shows a container
//! killed by a crash), and those whose restart policy is `always`, or `unless-stopped` and
//! not stopped by the user, are started again. `--rm` containers caught running are
//! removed, as docker removes them when it restarts.
use std::path::Path;

use crate::api::Result;
use crate::local::Inner;
use crate::monitor;
use crate::runtime::bundle::Paths;
use crate::runtime::process::alive;
use crate::runtime::rootfs;
use crate::store::containers::{self, ContainerRecord, State};

/// What boot did to one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootAction {
    /// Started again by its restart policy.
    Started,
    /// Left down (policy `no`/`on-failure`, or stopped by the user); stale state cleared.
    Cleaned,
    /// A `--rm` container that was running: removed.
    Removed,
    /// Its restart policy asked for a start that failed (the reason).
    Failed(String),
}

/// One container boot acted on: (full id, name, what happened).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootItem {
    pub id: String,
    pub name: String,
    pub action: BootAction,
}

pub(crate) fn boot(i: &Inner, exe: &Path) -> Result<Vec<BootItem>> {
    let mut out = Vec::new();
    // (Not in the `for` head: the database guard would live through the loop.)
    let recs = containers::list(&i.images.db())?;
    for rec in recs {
        if alive(rec.monitor_pid, rec.monitor_start) {
            continue;
        }
        // A sandbox without a running container: its network outlived it (a killed monitor).
        let has_net = crate::network::sandbox(&i.images.db(), &rec.id)?.is_some();
        let paths = Paths::new(&i.root, &rec.id);
        let was_active = matches!(rec.state, State::Running | State::Paused | State::Restarting);
        let stale = was_active || has_net || rootfs::is_mounted(&paths.rootfs()) || has_runtime_state(&i.root, &rec);
        if !stale && rec.state == State::Created {
            continue;
        }
        // Orphans of a killed monitor go too: nothing would record their exit.
        monitor::delete_runtime_state(&i.root, &rec);
        rootfs::unmount_rootfs(&paths)?;
        crate::network::stop(&mut i.images.db(), &i.root, &rec.id);
        if was_active {
            let mut db = i.images.db();
            containers::set_exited(&mut db, &rec.id, 255, false, "the host or the container's monitor went down")?;
            containers::clear_monitor(&mut db, &rec.id)?;
        }
        let item = |action| BootItem { id: rec.id.clone(), name: rec.name.clone(), action };
        if rec.config.auto_remove {
            if was_active {
                super::containers::remove(i, &rec.id, true, true)?;
                out.push(item(BootAction::Removed));
            }
            continue;
        }
        let manual = containers::manual_stop(&i.images.db(), &rec.id)?.unwrap_or(false);
        if rec.config.restart.starts_at_boot(manual) {
            match super::containers::start(i, exe, &rec.id, false) {
                Ok(_) => out.push(item(BootAction::Started)),
                Err(e) => out.push(item(BootAction::Failed(e.to_string()))),
            }
        } else if stale {
            out.push(item(BootAction::Cleaned));
        }
    }
    // Sandboxes of containers that are gone (`--rm` ones whose monitor died mid-teardown).
    let orphans: Vec<String> = {
        let db = i.images.db();
        crate::store::networks::sandboxes(&db)?
            .into_iter()
            .map(|s| s.container_id)
            .filter(|id| containers::get(&db, id).ok().flatten().is_none())
            .collect()
    };
    for id in orphans {
        crate::network::stop(&mut i.images.db(), &i.root, &id);
    }
    Ok(out)
}

fn has_runtime_state(root: &Path, rec: &ContainerRecord) -> bool {
    let dir = if rec.runtime.is_empty() { monitor::runtime_root(root) } else { monitor::external::state_root(root) };
    dir.join(&rec.id).exists()
}

impl super::LocalEngine {
    /// Bring containers back after a host reboot (see the module docs); what was done.
    pub async fn boot(&self) -> Result<Vec<BootItem>> {
        let exe = self.monitor_exe()?;
        self.blocking(move |i| boot(i, &exe)).await
    }
}
