//! `import`: a plain rootfs tar (optionally gzip/zstd compressed) becomes a one-layer image
//! with a fresh config, as `docker import` makes. The input is staged in `ingest/` and
//! checked to be a tar before anything enters the store, so garbage changes nothing.
//! Also the `--change` instructions that `import` and `commit` apply to a config.
use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::error::{EngineError, IoResultExt, Result};
use crate::image::archive::tar_error;
use crate::image::commit::{NewImage, commit_image};
use crate::image::compression::{Compression, decompress};
use crate::image::layer::ensure_layer;
use crate::image::reference::Reference;
use crate::store::digest::{Digest, HashingReader, HashingWriter};
use crate::store::images::{ImageStore, Rollback};

/// `--change`s applied to an empty container config, checked before a byte is read.
pub fn parse_changes(changes: &[String]) -> Result<Map<String, Value>> {
    let mut config = Map::new();
    for c in changes {
        apply_change(&mut config, c)?;
    }
    Ok(config)
}

/// A staged input file, removed unless committed.
struct StagedFile(PathBuf);

impl Drop for StagedFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArchive(msg.into())
}

/// Import `reader` as an image with container config `config` (see [`parse_changes`]),
/// tagged `tag`; returns its ID (`sha256:…`).
pub fn import(
    store: &ImageStore,
    mut reader: impl Read,
    tag: Option<Reference>,
    config: Map<String, Value>,
    message: Option<String>,
) -> Result<String> {
    let staged = StagedFile(store.content.ingest_path());
    let f = File::create(&staged.0).at(&staged.0)?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(256 * 1024, f));
    io::copy(&mut reader, &mut w).ctx(|| "reading the import stream".to_string())?;
    let (bw, blob, size) = w.finish();
    bw.into_inner().map_err(|e| EngineError::io(&staged.0, e.into_error()))?;
    if size == 0 {
        return Err(bad("the import stream is empty"));
    }

    // Check it is a tar and compute its diff_id before it enters the store.
    let what = "the imported tarball";
    let (compression, plain) = decompress(File::open(&staged.0).at(&staged.0)?, what)?;
    let diff_id = if compression == Compression::None {
        check_tar(plain, what)?;
        blob.clone()
    } else {
        let mut hr = HashingReader::new(plain);
        check_tar(&mut hr, what)?;
        io::copy(&mut hr, &mut io::sink()).map_err(|e| bad(format!("reading {what}: {e}")))?;
        hr.finish().1
    };

    let mut rb = Rollback::new(store);
    if !store.content.contains(&blob) {
        store.content.commit_file(&staged.0, &blob)?;
        rb.blobs.push(blob.clone());
    }
    let existed = store.layer(&diff_id)?.is_some();
    ensure_layer(store, &blob, compression.oci_layer_media_type(), Some(&diff_id))?;
    if !existed {
        rb.layers.push(diff_id.clone());
    }
    let config = config_json(config, &diff_id, message.as_deref());
    let config_digest = store.content.put_bytes(&config)?;
    rb.blobs.push(config_digest.clone());
    let id = commit_image(store, &NewImage { config_digest, manifest: None, tags: tag.into_iter().collect(), repo_digest: None })?;
    rb.disarm();
    Ok(id.to_string())
}

/// Read through every entry, so a truncated or corrupt tar is refused here.
fn check_tar(r: impl Read, what: &str) -> Result<()> {
    let mut ar = tar::Archive::new(r);
    for e in ar.entries().map_err(|e| tar_error(what, &e))? {
        let mut e = e.map_err(|e| tar_error(what, &e))?;
        let want = e.size();
        let got = io::copy(&mut e, &mut io::sink()).map_err(|err| bad(format!("reading {what}: {err}")))?;
        if got != want {
            return Err(bad(format!("{what} is truncated")));
        }
    }
    Ok(())
}

fn config_json(container: Map<String, Value>, diff_id: &Digest, message: Option<&str>) -> Vec<u8> {
    let (arch, variant) = crate::image::hello::host_platform();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let comment = message.map(str::to_string).unwrap_or_else(|| "Imported from -".to_string());
    let mut cfg = json!({
        "architecture": arch,
        "comment": comment,
        "config": container,
        "created": now,
        "history": [{"created": now, "comment": comment}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    });
    if let Some(v) = variant {
        cfg["variant"] = json!(v);
    }
    serde_json::to_vec(&cfg).expect("serialising a JSON value")
}

const SUPPORTED: &str = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR";

/// Apply one `--change` (a Dockerfile instruction) to the container config.
pub fn apply_change(cfg: &mut Map<String, Value>, change: &str) -> Result<()> {
    let change = change.trim();
    let (kw, rest) = change.split_once(char::is_whitespace).unwrap_or((change, ""));
    let rest = rest.trim();
    let kw = kw.to_ascii_uppercase();
    let err = |why: &str| EngineError::InvalidArgument(format!("--change {change:?}: {why}"));
    if kw.is_empty() {
        return Err(err(&format!("empty instruction (use one of {SUPPORTED})")));
    }
    if rest.is_empty() && SUPPORTED.split(", ").any(|s| s == kw) {
        return Err(err(&format!("{kw} needs an argument")));
    }
    match kw.as_str() {
        "CMD" | "ENTRYPOINT" => {
            let v = if rest.starts_with('[') {
                serde_json::from_str::<Vec<String>>(rest).map_err(|e| err(&format!("not a JSON array of strings: {e}")))?
            } else {
                vec!["/bin/sh".to_string(), "-c".to_string(), rest.to_string()]
            };
            cfg.insert(if kw == "CMD" { "Cmd" } else { "Entrypoint" }.to_string(), json!(v));
        }
        "ENV" => {
            for (k, v) in key_values(rest).map_err(|e| err(&e))? {
                with_array(cfg, "Env", |env| {
                    env.retain(|e| e.as_str().is_none_or(|s| s.split_once('=').map(|x| x.0) != Some(k.as_str())));
                    env.push(json!(format!("{k}={v}")));
                });
            }
        }
        "LABEL" => {
            for (k, v) in key_values(rest).map_err(|e| err(&e))? {
                with_object(cfg, "Labels", |m| {
                    m.insert(k, json!(v));
                });
            }
        }
        "EXPOSE" => {
            for w in words(rest).map_err(|e| err(&e))? {
                for p in expose_ports(&w).ok_or_else(|| err(&format!("invalid port {w:?}")))? {
                    with_object(cfg, "ExposedPorts", |m| {
                        m.insert(p, json!({}));
                    });
                }
            }
        }
        "VOLUME" => {
            let vols = if rest.starts_with('[') {
                serde_json::from_str::<Vec<String>>(rest).map_err(|e| err(&format!("not a JSON array of strings: {e}")))?
            } else {
                words(rest).map_err(|e| err(&e))?
            };
            for v in vols {
                if v.is_empty() {
                    return Err(err("empty volume path"));
                }
                with_object(cfg, "Volumes", |m| {
                    m.insert(v, json!({}));
                });
            }
        }
        "WORKDIR" | "USER" | "STOPSIGNAL" => {
            let mut w = words(rest).map_err(|e| err(&e))?;
            if w.len() != 1 {
                return Err(err(&format!("{kw} takes exactly one argument")));
            }
            let (key, value) = match kw.as_str() {
                // Relative to the current one, as docker's commit and import take it.
                "WORKDIR" => ("WorkingDir", workdir(cfg.get("WorkingDir").and_then(Value::as_str).unwrap_or(""), &w[0])),
                "USER" => ("User", w.remove(0)),
                _ => ("StopSignal", w.remove(0)),
            };
            cfg.insert(key.to_string(), json!(value));
        }
        _ => return Err(err(&format!("{kw} is not supported (use one of {SUPPORTED})"))),
    }
    Ok(())
}

/// Edit the object at `key`, made one if it is missing or not an object (images committed
/// by docker carry `"Labels": null`, `"Volumes": null`, `"ExposedPorts": null`).
fn with_object(cfg: &mut Map<String, Value>, key: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
    let v = cfg.entry(key).or_insert(Value::Null);
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    if let Value::Object(m) = v {
        edit(m);
    }
}

/// Edit the array at `key`, made one if it is missing or not an array (`"Env": null`).
fn with_array(cfg: &mut Map<String, Value>, key: &str, edit: impl FnOnce(&mut Vec<Value>)) {
    let v = cfg.entry(key).or_insert(Value::Null);
    if !v.is_array() {
        *v = Value::Array(Vec::new());
    }
    if let Value::Array(a) = v {
        edit(a);
    }
}

/// docker's `WORKDIR` for commit and import changes: an absolute path as given, a relative
/// one joined to the current working directory (`/` when there is none), cleaned lexically.
fn workdir(current: &str, requested: &str) -> String {
    if requested.starts_with('/') {
        return requested.to_string();
    }
    let joined = format!("{current}/{requested}");
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `k=v k2="v 2"` pairs, or the legacy `key value with spaces` form.
fn key_values(s: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let first = s.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        let (k, v) = s.split_once(char::is_whitespace).ok_or_else(|| format!("{s:?} needs a value (KEY=VALUE)"))?;
        let v = words(v.trim())?.join(" ");
        return Ok(vec![(k.to_string(), v)]);
    }
    words(s)?
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("{w:?} is not KEY=VALUE")),
        })
        .collect()
}

/// Split on whitespace with shell-like quoting: `"..."` (backslash escapes), `'...'`, `\x`.
fn words(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().ok_or("unterminated quote")?),
                        Some(c) => cur.push(c),
                        None => return Err("unterminated quote".into()),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or("trailing backslash")?);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `80`, `80/udp`, `8000-8002/tcp` → `["80/tcp"]`, … (ranges of at most 65536 ports).
fn expose_ports(w: &str) -> Option<Vec<String>> {
    let (ports, proto) = w.split_once('/').unwrap_or((w, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
        return None;
    }
    let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
    let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
    if a == 0 || b < a {
        return None;
    }
    Some((a..=b).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<Value> {
        let mut m = Map::new();
        for c in changes {
            apply_change(&mut m, c)?;
        }
        Ok(Value::Object(m))
    }

    #[test]
    fn changes_follow_dockerfile_forms() {
        let v = apply(&[
            r#"CMD ["/bin/sh", "-c", "echo hi"]"#,
            "entrypoint /init --flag",
            r#"ENV A=1 B="two words" C=x\ y"#,
            "ENV A 3",
            "ENV LEGACY some value",
            r#"LABEL org.example="a b" k=v"#,
            "EXPOSE 80 53/udp 8000-8001",
            r#"VOLUME ["/data", "/logs"]"#,
            "VOLUME /cache",
            "WORKDIR /srv",
            "USER 1000:1000",
            "STOPSIGNAL SIGINT",
        ])
        .unwrap();
        assert_eq!(v["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(v["Entrypoint"], json!(["/bin/sh", "-c", "/init --flag"]));
        assert_eq!(v["Env"], json!(["B=two words", "C=x y", "A=3", "LEGACY=some value"]));
        assert_eq!(v["Labels"], json!({"org.example": "a b", "k": "v"}));
        assert_eq!(v["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}));
        assert_eq!(v["Volumes"], json!({"/data": {}, "/logs": {}, "/cache": {}}));
        assert_eq!(v["WorkingDir"], json!("/srv"));
        assert_eq!(v["User"], json!("1000:1000"));
        assert_eq!(v["StopSignal"], json!("SIGINT"));
    }

    #[test]
    fn changes_replace_nulls_as_docker_committed_images_carry_them() {
        // A docker-committed image's config: nulls where docker has nothing.
        let base = json!({"Env": null, "Labels": null, "Volumes": null, "ExposedPorts": null, "WorkingDir": "/srv", "Cmd": null});
        for (change, key, want) in [
            ("LABEL a=b", "Labels", json!({"a": "b"})),
            ("VOLUME /v", "Volumes", json!({"/v": {}})),
            ("EXPOSE 80", "ExposedPorts", json!({"80/tcp": {}})),
            ("ENV X=1", "Env", json!(["X=1"])),
            ("CMD sh", "Cmd", json!(["/bin/sh", "-c", "sh"])),
            ("USER 1", "User", json!("1")),
            ("STOPSIGNAL SIGINT", "StopSignal", json!("SIGINT")),
            ("ENTRYPOINT [\"/x\"]", "Entrypoint", json!(["/x"])),
        ] {
            let mut m = base.as_object().unwrap().clone();
            apply_change(&mut m, change).unwrap();
            assert_eq!(m[key], want, "{change}");
        }
        // Any other shape where an object or list belongs is replaced, never a panic.
        let mut odd = json!({"Labels": "x", "Env": {"a": 1}, "Volumes": [1]}).as_object().unwrap().clone();
        for c in ["LABEL a=b", "ENV A=1", "VOLUME /v"] {
            apply_change(&mut odd, c).unwrap();
        }
        assert_eq!(Value::Object(odd), json!({"Labels": {"a": "b"}, "Env": ["A=1"], "Volumes": {"/v": {}}}));
    }

    #[test]
    fn a_relative_workdir_is_joined_to_the_current_one_as_docker_does() {
        // dockerd 20.10: `commit -c 'WORKDIR rel'` on a container in /srv gives /srv/rel,
        // `import -c 'WORKDIR rel'` gives /rel; `..` is cleaned.
        let mut m = json!({"WorkingDir": "/srv"}).as_object().unwrap().clone();
        apply_change(&mut m, "WORKDIR rel").unwrap();
        assert_eq!(m["WorkingDir"], "/srv/rel");
        apply_change(&mut m, "WORKDIR ../x").unwrap();
        assert_eq!(m["WorkingDir"], "/srv/x");
        apply_change(&mut m, "WORKDIR /abs/./y/").unwrap();
        assert_eq!(m["WorkingDir"], "/abs/./y/");
        assert_eq!(apply(&["WORKDIR rel"]).unwrap()["WorkingDir"], "/rel");
        assert_eq!(apply(&["WORKDIR ../../up"]).unwrap()["WorkingDir"], "/up");
        assert_eq!(workdir("", "."), "/");
    }

    #[test]
    fn bad_changes_are_refused() {
        for bad in [
            "RUN echo hi",
            "FROM scratch",
            "CMD",
            "CMD [\"unterminated\"",
            "EXPOSE http",
            "EXPOSE 0",
            "ENV =x",
            "LABEL \"a",
            "USER a b",
            "",
        ] {
            let e = apply(&[bad]).unwrap_err();
            assert!(matches!(e, EngineError::InvalidArgument(_)), "{bad}: {e}");
            assert!(!e.to_string().contains('\n'));
        }
        assert!(apply(&["RUN x"]).unwrap_err().to_string().contains("RUN is not supported"));
    }
}
