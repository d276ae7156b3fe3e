//! `import`: a plain rootfs tar (optionally gzip/zstd compressed) becomes a one-layer image
//! with a fresh config, as `docker import` makes. The input is staged in `ingest/` and
//! checked to be a tar before anything enters the store, so garbage changes nothing.
use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use tokio_util::io::SyncIoBridge;

use crate::api::{ByteReader, EngineError, Result};
use crate::error::IoResultExt;
use crate::image::archive::{Rollback, tar_error};
use crate::image::compression::{Compression, decompress};
use crate::image::digest::{Digest, HashingReader, HashingWriter};
use crate::image::reference::Reference;
use crate::local::{Inner, LocalEngine};
use crate::store::images::NewImage;

/// Import `input` as an image; returns its ID (`sha256:…`).
pub async fn import(
    engine: &LocalEngine,
    input: ByteReader,
    reference: Option<String>,
    changes: Vec<String>,
    message: Option<String>,
) -> Result<String> {
    // Bad arguments are refused before a byte is read.
    let tag = reference.as_deref().map(Reference::parse_tagged).transpose()?;
    let mut config = Map::new();
    for c in &changes {
        apply_change(&mut config, c)?;
    }
    let reader = SyncIoBridge::new(input);
    engine.blocking(move |inner| import_blocking(inner, reader, tag, config, message)).await
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

fn import_blocking(
    inner: &Inner,
    mut reader: impl Read,
    tag: Option<Reference>,
    config: Map<String, Value>,
    message: Option<String>,
) -> Result<String> {
    let store = &inner.images;
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
    store.ensure_layer(&blob, compression.oci_layer_media_type(), Some(&diff_id))?;
    if !existed {
        rb.layers.push(diff_id.clone());
    }
    let config = config_json(config, &diff_id, message.as_deref());
    let config_digest = store.content.put_bytes(&config)?;
    rb.blobs.push(config_digest.clone());
    let id = store.commit_image(&NewImage { config_digest, manifest: None, tags: tag.into_iter().collect(), repo_digest: None })?;
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
                let env = cfg.entry("Env").or_insert_with(|| json!([])).as_array_mut().expect("Env is an array");
                env.retain(|e| e.as_str().is_none_or(|s| s.split_once('=').map(|x| x.0) != Some(k.as_str())));
                env.push(json!(format!("{k}={v}")));
            }
        }
        "LABEL" => {
            for (k, v) in key_values(rest).map_err(|e| err(&e))? {
                cfg.entry("Labels").or_insert_with(|| json!({})).as_object_mut().expect("Labels is an object").insert(k, json!(v));
            }
        }
        "EXPOSE" => {
            for w in words(rest).map_err(|e| err(&e))? {
                for p in expose_ports(&w).ok_or_else(|| err(&format!("invalid port {w:?}")))? {
                    cfg.entry("ExposedPorts")
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .expect("ExposedPorts is an object")
                        .insert(p, json!({}));
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
                cfg.entry("Volumes").or_insert_with(|| json!({})).as_object_mut().expect("Volumes is an object").insert(v, json!({}));
            }
        }
        "WORKDIR" | "USER" | "STOPSIGNAL" => {
            let mut w = words(rest).map_err(|e| err(&e))?;
            if w.len() != 1 {
                return Err(err(&format!("{kw} takes exactly one argument")));
            }
            let key = match kw.as_str() {
                "WORKDIR" => "WorkingDir",
                "USER" => "User",
                _ => "StopSignal",
            };
            cfg.insert(key.to_string(), json!(w.remove(0)));
        }
        _ => return Err(err(&format!("{kw} is not supported (use one of {SUPPORTED})"))),
    }
    Ok(())
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
