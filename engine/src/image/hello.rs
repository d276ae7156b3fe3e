//! The built-in offline `hello` image: a static program compiled from assets/hello/hello.c
//! (by engine/build.rs) and embedded in berth, so a newcomer without network can run
//! `hello` on the first try. The image is built deterministically (fixed times, uid 0, no
//! compression) so its ID is the same on every machine whose compiler gives the same binary.
use serde_json::json;

use crate::error::Result;
use crate::image::commit::{NewImage, commit_image};
use crate::image::layer::ensure_layer;
use crate::image::reference::Reference;
use crate::store::digest::Digest;
use crate::store::images::ImageStore;

/// The static hello program.
pub const BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello"));

/// Canonical tag the image is created under.
pub const TAG: &str = "hello:latest";

/// Time stamp of every file and of the config: 2024-01-01T00:00:00Z.
const EPOCH: u64 = 1_704_067_200;
const CREATED: &str = "2024-01-01T00:00:00Z";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// Whether a name the user typed means the built-in image (and nothing else resolved it).
pub fn is_hello_name(name: &str) -> bool {
    matches!(name, "hello" | "hello:latest" | "docker.io/library/hello" | "docker.io/library/hello:latest")
}

/// The host's platform as image configs spell it: (architecture, variant).
pub fn host_platform() -> (&'static str, Option<&'static str>) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", Some("v8")),
        "x86" => ("386", None),
        "arm" => ("arm", Some("v7")),
        "powerpc64" => ("ppc64le", None),
        "loongarch64" => ("loong64", None),
        other => (other, None),
    }
}

/// The layer: one uncompressed tar holding `/hello`.
pub fn layer_tar() -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(BINARY.len() as u64);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(EPOCH);
    let mut b = tar::Builder::new(Vec::new());
    // Writing into a Vec cannot fail, and "hello" is a valid ustar name.
    b.append_data(&mut h, "hello", BINARY).expect("tar into memory");
    b.into_inner().expect("tar into memory")
}

/// The image config (exact bytes; the image ID is their digest).
pub fn config_json(diff_id: &Digest) -> Vec<u8> {
    let (arch, variant) = host_platform();
    let mut cfg = json!({
        "architecture": arch,
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/hello"],
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [
            {"created": CREATED, "created_by": "COPY hello / # built into berth", "comment": "berth's built-in hello image"},
            {"created": CREATED, "created_by": "CMD [\"/hello\"]", "empty_layer": true},
        ],
    });
    if let Some(v) = variant {
        cfg["variant"] = json!(v);
    }
    serde_json::to_vec(&cfg).expect("serialising a JSON value")
}

/// Create the image in the store (idempotent) and return its ID.
pub fn create(store: &ImageStore) -> Result<Digest> {
    let layer = layer_tar();
    let diff_id = Digest::of(&layer);
    if !store.content.contains(&diff_id) {
        store.content.put_bytes(&layer)?;
    }
    ensure_layer(store, &diff_id, LAYER_MEDIA_TYPE, Some(&diff_id))?;
    let config_digest = store.content.put_bytes(&config_json(&diff_id))?;
    commit_image(store, &NewImage { config_digest, manifest: None, tags: vec![Reference::parse(TAG)?], repo_digest: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_runnable_layout() {
        assert_eq!(layer_tar(), layer_tar());
        let layer = layer_tar();
        let mut a = tar::Archive::new(&layer[..]);
        let names: Vec<String> = a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["hello"]);
        assert!(BINARY.starts_with(b"\x7fELF"));
        let d = Digest::of(&layer);
        assert_eq!(config_json(&d), config_json(&d));
        let cfg = crate::image::config::ImageConfig::parse(&config_json(&d)).unwrap();
        assert_eq!(cfg.diff_ids().unwrap(), vec![d]);
        assert_eq!(cfg.config.unwrap().cmd.unwrap(), ["/hello"]);
    }

    #[test]
    fn creates_once_with_a_stable_id() {
        let t = tempfile::tempdir().unwrap();
        let store = ImageStore::open(t.path()).unwrap();
        let a = create(&store).unwrap();
        let b = create(&store).unwrap();
        assert_eq!(a, b);
        let rec = crate::image::resolve::resolve(&store, "hello").unwrap();
        assert_eq!(rec.id, a);
        assert_eq!(rec.tags, ["docker.io/library/hello:latest"]);
    }
}
