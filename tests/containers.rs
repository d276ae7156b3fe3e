//! Real containers, as root: `run`, exit codes, isolation checked from inside, limits and
//! OOM kills, stop/kill escalation, the monitor outliving the front end, `--rm` cleanup,
//! and bad input that changes nothing.
mod common;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_engine::image::digest::Digest;
use berth_engine::image::reference::Reference;
use berth_engine::store::images::{ImageStore, NewImage};
use common::*;

/// Import the fixture OCI layout `oci/<name>` into the store as `<name>:latest` through the
/// ImageStore (test-only; `berth load` lands separately).
fn import_fixture(b: &Berth, name: &str) {
    let dir = images().join("oci").join(name);
    let store = ImageStore::open(&b.root()).unwrap();
    let blob = |d: &str| std::fs::read(dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let m = &index["manifests"][0];
    let mdigest = m["digest"].as_str().unwrap();
    let mbytes = blob(mdigest);
    let manifest: serde_json::Value = serde_json::from_slice(&mbytes).unwrap();
    assert_eq!(store.content.put_bytes(&mbytes).unwrap().as_str(), mdigest);
    let cdigest = manifest["config"]["digest"].as_str().unwrap();
    let cbytes = blob(cdigest);
    store.content.put_bytes(&cbytes).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&cbytes).unwrap();
    for (i, l) in manifest["layers"].as_array().unwrap().iter().enumerate() {
        let d = l["digest"].as_str().unwrap();
        store.content.put_bytes(&blob(d)).unwrap();
        let diff = Digest::parse(config["rootfs"]["diff_ids"][i].as_str().unwrap()).unwrap();
        store.ensure_layer(&Digest::parse(d).unwrap(), l["mediaType"].as_str().unwrap(), Some(&diff)).unwrap();
    }
    store
        .commit_image(&NewImage {
            config_digest: Digest::parse(cdigest).unwrap(),
            manifest: Some((Digest::parse(mdigest).unwrap(), m["mediaType"].as_str().unwrap().to_string())),
            tags: vec![Reference::parse(&format!("{name}:latest")).unwrap()],
            repo_digest: None,
        })
        .unwrap();
}

fn busybox() -> Berth {
    let b = Berth::new();
    import_fixture(&b, "busybox");
    b
}

/// Run berth; (exit code, stdout, stderr).
fn run(b: &Berth, args: &[&str]) -> (i32, String, String) {
    let o = b.cmd().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mounts_under(p: &Path) -> Vec<String> {
    let m = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = p.display().to_string();
    m.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&p)).map(String::from).collect()
}

/// Processes whose command line mentions `needle` (e.g. a container id).
fn processes_with(needle: &str) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&c).contains(needle)
        {
            v.push(pid);
        }
    }
    v
}

fn cgroup_dirs(id: &str) -> Vec<String> {
    let mut v = Vec::new();
    for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        for sub in std::fs::read_dir(base).map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>()).unwrap_or_default() {
            let p = sub.join("berth").join(id);
            if p.exists() {
                v.push(p.display().to_string());
            }
        }
        let p = Path::new(base).join("berth").join(id);
        if p.exists() {
            v.push(p.display().to_string());
        }
    }
    v
}

#[test]
fn run_rm_echo_prints_and_leaves_nothing() {
    let b = busybox();
    let (code, out, err) = run(&b, &["run", "--rm", "--name", "hi", "busybox", "echo", "hi"]);
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&b.root()).is_empty(), "{:?}", mounts_under(&b.root()));
    let left: Vec<_> = std::fs::read_dir(b.root().join("containers")).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
    let rt: Vec<_> = std::fs::read_dir(b.root().join("rt")).map(|r| r.flatten().collect()).unwrap_or_default();
    assert!(rt.is_empty(), "{rt:?}");
    assert!(processes_with(&b.root().display().to_string()).is_empty());
}

/// Development helper: `BERTH_DEV_ROOT=/tmp/x cargo test --test containers dev_import -- --ignored`.
#[test]
#[ignore]
fn dev_import() {
    let Some(root) = std::env::var_os("BERTH_DEV_ROOT") else { return };
    let b = Berth::new();
    import_fixture(&b, "busybox");
    let _ = std::fs::remove_dir_all(&root);
    run_ok(Command::new("cp").arg("-a").arg(b.root()).arg(&root));
}
