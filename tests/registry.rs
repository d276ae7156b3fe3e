//! pull, push, login and logout against a real registry (Debian's docker-registry on
//! loopback), cross-checked with skopeo and a private dockerd.
// tests/common's Dockerd reaps its daemon in Drop (waitpid), which clippy cannot see.
#![allow(clippy::zombie_processes)]
mod common;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use sha2::Digest as _;

fn inspect(b: &Berth, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&b.ok(&["image", "inspect", name])).unwrap();
    v[0].clone()
}

fn one_line_error(err: &str) {
    assert_eq!(err.trim_end().lines().count(), 1, "expected one error line, got: {err}");
    assert!(err.starts_with("Error: "), "{err}");
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

#[test]
fn pull_oci_and_docker_v2s2_from_open_registry() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let b = Berth::new();
    let name = format!("{}/busybox", reg.addr());
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Using default tag: latest"), "{out}");
    assert!(out.contains("latest: Pulling from busybox"), "{out}");
    assert!(out.contains("7480b0b7a1b3: Pull complete"), "{out}");
    let manifest = image_digest("busybox", "manifest");
    assert!(out.contains(&format!("Digest: {manifest}")), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}:latest")), "{out}");
    assert_eq!(out.lines().last().unwrap(), format!("{name}:latest"));

    let config = image_digest("busybox", "config");
    let img = inspect(&b, &name);
    assert_eq!(img["Id"], config);
    assert_eq!(img["RepoDigests"], serde_json::json!([format!("{name}@{manifest}")]));
    assert_eq!(img["RootFS"]["Layers"], serde_json::json!([image_digest("busybox", "diff_id")]));
    let upper = img["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap().to_string();
    assert!(Path::new(&upper).join("bin/busybox").is_file(), "layer not unpacked in {upper}");
    let images = b.ok(&["images"]);
    assert!(images.lines().any(|l| l.starts_with(&name) && l.contains("latest") && l.contains(&config[7..19])), "{images}");

    // The Docker v2.2 form of the same image: same ID, layer already there.
    let out = b.ok(&["pull", &format!("{name}:v2s2")]);
    assert!(out.contains("7480b0b7a1b3: Already exists"), "{out}");
    assert!(!out.contains("Using default tag"), "{out}");
    assert_eq!(inspect(&b, &format!("{name}:v2s2"))["Id"], config);
    assert_eq!(inspect(&b, &format!("{name}:v2s2"))["RepoDigests"].as_array().unwrap().len(), 2);
    // Pulling again changes nothing and says so.
    let out = b.ok(&["pull", &format!("{name}:v2s2")]);
    assert!(out.contains(&format!("Status: Image is up to date for {name}:v2s2")), "{out}");
    // By digest: no new tag, the repo digest resolves.
    let out = b.ok(&["pull", "-q", &format!("{name}@{manifest}")]);
    assert_eq!(out.trim(), format!("{name}@{manifest}"));
    assert_eq!(inspect(&b, &format!("{name}@{manifest}"))["Id"], config);
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 1);
    assert_eq!(std::fs::read_dir(b.root().join("ingest")).unwrap().count(), 0);
}

#[test]
fn htpasswd_registry_needs_login() {
    let reg = Registry::start(Some(("testuser", "testpassword")));
    reg.push_fixtures();
    let b = Berth::new();
    b.ok(&["images"]);
    let name = format!("{}/busybox", reg.addr());
    let before = b.snapshot_tree();
    let err = b.fails(&["pull", &name]);
    one_line_error(&err);
    assert!(err.contains("unauthorized"), "{err}");
    assert_eq!(b.snapshot_tree(), before);

    let login = |pass: &str| {
        let mut c = b.cmd();
        c.args(["login", "-u", "testuser", "--password-stdin", &reg.addr()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(format!("{pass}\n").as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let cfg = b.config_dir().join("config.json");
    let out = login("wrong");
    assert!(!out.status.success());
    one_line_error(&stderr(&out));
    assert!(stderr(&out).contains("incorrect username or password"), "{}", stderr(&out));
    assert!(!cfg.exists());

    let out = login("testpassword");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Login Succeeded");
    assert_eq!(std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    assert_eq!(v["auths"][reg.addr()]["auth"], "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"); // base64("testuser:testpassword")

    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(inspect(&b, &name)["Id"], image_digest("busybox", "config"));

    // Push needs the credentials too.
    b.ok(&["tag", &name, &format!("{}/mine/bb:1", reg.addr())]);
    let out = b.ok(&["push", &format!("{}/mine/bb:1", reg.addr())]);
    assert!(out.contains(&format!("1: digest: {}", image_digest("busybox", "manifest"))), "{out}");

    let out = b.ok(&["logout", &reg.addr()]);
    assert_eq!(out.trim(), format!("Removing login credentials for {}", reg.addr()));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    assert!(v["auths"].get(reg.addr()).is_none(), "{v}");
    one_line_error(&b.fails(&["pull", &format!("{name}:v2s2")]));

    // Without a TTY and without -u: a clear error, nothing written.
    let err = b.fails(&["login", &reg.addr()]);
    one_line_error(&err);
    assert!(err.contains("non TTY"), "{err}");

    // docker's own config.json is read as a fallback.
    let dcfg = b.dir.path().join("docker-config");
    std::fs::create_dir_all(&dcfg).unwrap();
    std::fs::write(
        dcfg.join("config.json"),
        format!(r#"{{"auths":{{"http://{}":{{"auth":"dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"}}}}}}"#, reg.addr()),
    )
    .unwrap();
    b.ok(&["pull", &format!("{name}:v2s2")]);
}

#[test]
fn multiarch_default_and_platform_flag() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let b = Berth::new();
    let name = format!("{}/multiarch", reg.addr());
    b.ok(&["pull", &name]);
    let img = inspect(&b, &name);
    assert_eq!(img["Id"], image_digest("multiarch/amd64", "config"));
    assert_eq!(img["Architecture"], "amd64");
    assert_eq!(img["RepoDigests"], serde_json::json!([format!("{name}@{}", image_digest("multiarch", "index"))]));

    let out = b.ok(&["pull", "--platform", "linux/arm64", &name]);
    assert!(out.contains("7480b0b7a1b3: Already exists"), "{out}");
    let img = inspect(&b, &name);
    assert_eq!(img["Id"], image_digest("multiarch/arm64", "config"));
    assert_eq!(img["Architecture"], "arm64");
    // The amd64 image is still there, now untagged.
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 2);

    let before = b.snapshot_tree();
    let err = b.fails(&["pull", "--platform", "linux/s390x", &name]);
    one_line_error(&err);
    assert!(err.contains("no matching manifest for linux/s390x"), "{err}");
    let err = b.fails(&["pull", "--platform", "linux", &name]);
    one_line_error(&err);
    assert!(err.contains("invalid platform"), "{err}");
    assert_eq!(b.snapshot_tree(), before);
}

#[test]
fn zstd_and_uncompressed_layers() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let b = Berth::new();
    let name = format!("{}/busybox-zstd", reg.addr());
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("fb833bbbf8f9: Pull complete"), "{out}");
    let img = inspect(&b, &name);
    assert_eq!(img["Id"], image_digest("busybox-zstd", "config"));
    let upper = img["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap().to_string();
    assert!(Path::new(&upper).join("bin/busybox").is_file());

    let b = Berth::new();
    let name = format!("{}/hello-tar", reg.addr());
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("30644833668f: Pull complete"), "{out}");
    assert_eq!(inspect(&b, &name)["Id"], image_digest("hello-tar", "config"));
    assert_eq!(inspect(&b, &name)["RootFS"]["Layers"], serde_json::json!([image_digest("hello-tar", "diff_id")]));
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let b = Berth::new();
    b.ok(&["images"]);
    let before = b.snapshot_tree();
    let free = free_port();
    let cases = [
        (format!("{}/BusyBox", reg.addr()), "invalid reference format"),
        ("busybox@sha256:123".to_string(), "invalid reference format"),
        (format!("{}/busybox:nope", reg.addr()), "manifest unknown"),
        (format!("{}/nosuchrepo", reg.addr()), "not found"),
        (format!("127.0.0.1:{free}/busybox"), "cannot connect"),
    ];
    for (r, want) in &cases {
        let err = b.fails(&["pull", r]);
        one_line_error(&err);
        assert!(err.contains(want), "{r}: {err}");
    }
    for missing in [format!("{}/busybox:nope", reg.addr()), format!("{}/nosuchrepo", reg.addr())] {
        assert!(b.fails(&["pull", &missing]).starts_with("Error: No such image: "), "{missing}");
    }
    for (r, want) in [("127.0.0.1:1/x@sha256:0000", "invalid reference format"), ("nosuch:1", "No such image")] {
        let err = b.fails(&["push", r]);
        one_line_error(&err);
        assert!(err.contains(want), "{r}: {err}");
    }
    assert_eq!(b.snapshot_tree(), before);
}

/// A TCP relay to the registry that can slow its responses down (so a test can act while a
/// blob is in flight). When the registry goes away mid-response, the client sees the cut.
struct SlowProxy {
    port: u16,
    slow: Arc<AtomicBool>,
}

impl SlowProxy {
    fn start(upstream: u16) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let slow = Arc::new(AtomicBool::new(true));
        let s = slow.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let Ok(u) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let (mut c2, mut u2) = (c.try_clone().unwrap(), u.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut u2);
                    let _ = u2.shutdown(std::net::Shutdown::Write);
                });
                let s = s.clone();
                let (mut c, mut u) = (c, u);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match u.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if c.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                        if s.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(8));
                        }
                    }
                    let _ = c.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Self { port, slow }
    }
}

/// Write an OCI layout with one uncompressed layer holding `size` random bytes.
fn big_image_layout(dir: &Path, size: usize) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let mut data = vec![0u8; size];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut data).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(size as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "big.bin", &data[..]).unwrap();
    let layer = tar.into_inner().unwrap();
    let ld = sha256(&layer);
    std::fs::write(blobs.join(&ld[7..]), &layer).unwrap();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{ld}"]}},"history":[{{"created_by":"test"}}]}}"#
    );
    let cd = sha256(config.as_bytes());
    std::fs::write(blobs.join(&cd[7..]), &config).unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let md = sha256(manifest.as_bytes());
    std::fs::write(blobs.join(&md[7..]), &manifest).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#,
            manifest.len()
        ),
    )
    .unwrap();
    cd
}

fn skopeo_push(layout: &Path, dest: &str) {
    run_ok(
        Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:latest", layout.display()))
            .arg(format!("docker://{dest}")),
    );
}

#[test]
fn registry_killed_mid_blob_then_retry() {
    let reg = Registry::start(None);
    let work = tempfile::tempdir().unwrap();
    let config = big_image_layout(work.path(), 24 << 20);
    skopeo_push(work.path(), &format!("{}/big:latest", reg.addr()));
    let proxy = SlowProxy::start(reg.port);
    let b = Berth::new();
    b.ok(&["images"]);
    let name = format!("127.0.0.1:{}/big", proxy.port);
    let child = b.cmd().args(["pull", &name]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until the layer is streaming into ingest/, then kill the registry.
    let ingest = b.root().join("ingest");
    let t0 = Instant::now();
    loop {
        let biggest =
            std::fs::read_dir(&ingest).map(|rd| rd.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).max()).ok().flatten();
        if biggest.unwrap_or(0) > 2 << 20 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "the download never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    unsafe {
        libc::kill(reg.pid().unwrap(), libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "pull should fail: {}", stdout(&out));
    let err = stderr(&out);
    eprintln!("killed registry: {err}");
    one_line_error(&err);
    assert!(err.contains(&format!("127.0.0.1:{}", proxy.port)) && err.contains("download of layer"), "{err}");
    assert_eq!(b.ok(&["images", "-q"]), "");
    assert_eq!(std::fs::read_dir(&ingest).unwrap().count(), 0, "partial blob left in ingest/");
    assert!(b.fails(&["image", "inspect", &name]).contains("No such image"));

    // Same data dir, same port: the retry completes.
    run_ok(Command::new(fixture_scripts().join("start-registry.sh")).arg(reg.port.to_string()).arg(reg.dir.path()));
    proxy.slow.store(false, Ordering::Relaxed);
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(inspect(&b, &name)["Id"], config);
}

#[test]
fn push_is_seen_by_skopeo_and_docker() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let b = Berth::new();
    let src = format!("{}/busybox", reg.addr());
    b.ok(&["pull", &src]);
    let dst = format!("{}/pushed/bb:v1", reg.addr());
    b.ok(&["tag", &src, &dst]);
    let out = b.ok(&["push", &dst]);
    assert!(out.starts_with(&format!("The push refers to repository [{}/pushed/bb]", reg.addr())), "{out}");
    // The layer is linked from the repository it was pulled from, not uploaded again.
    assert!(out.contains("7480b0b7a1b3: Layer already exists"), "{out}");
    assert!(!out.contains("Pushing"), "{out}");
    // Unchanged pulled image: the very same manifest bytes.
    let manifest = image_digest("busybox", "manifest");
    assert!(out.contains(&format!("v1: digest: {manifest} size: ")), "{out}");
    let again = b.ok(&["push", &dst]);
    assert!(again.contains("7480b0b7a1b3: Layer already exists"), "{again}");

    let sk = run_ok(Command::new("skopeo").args(["inspect", "--tls-verify=false", &format!("docker://{dst}")]));
    let v: serde_json::Value = serde_json::from_slice(&sk.stdout).unwrap();
    assert_eq!(v["Digest"], manifest);
    assert_eq!(v["Layers"], serde_json::json!([image_digest("busybox", "digest")]));

    // An image whose only layer blob is an uncompressed tar and that has no manifest
    // (as `load` leaves it): berth gzips the layer and writes a Docker v2.2 manifest.
    let id = make_manifestless_hello(&b);
    let dst2 = format!("{}/pushed/hello:v1", reg.addr());
    b.ok(&["tag", &id, &dst2]);
    let out = b.ok(&["push", &dst2]);
    assert!(out.contains("Pushed"), "{out}");
    let sk = run_ok(Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{dst2}")]));
    let m: serde_json::Value = serde_json::from_slice(&sk.stdout).unwrap();
    assert_eq!(m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(m["layers"][0]["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip");
    assert_eq!(m["config"]["digest"], id);

    let d = Dockerd::start();
    for (name, want) in [(dst.as_str(), image_digest("busybox", "config")), (dst2.as_str(), id.clone())] {
        d.ok(&["pull", name]);
        let docker_id = d.ok(&["image", "inspect", "--format", "{{.Id}}", name]);
        assert_eq!(docker_id.trim(), want);
        assert_eq!(inspect(&b, name)["Id"], want);
    }
}

/// Put the `hello-tar` fixture into the store the way `load` would: the plain layer blob
/// and the config, no manifest. Returns the image ID.
fn make_manifestless_hello(b: &Berth) -> String {
    let oci = images().join("oci/hello-tar/blobs/sha256");
    let layer = std::fs::read(oci.join(&image_digest("hello-tar", "digest")[7..])).unwrap();
    let config = std::fs::read(oci.join(&image_digest("hello-tar", "config")[7..])).unwrap();
    let store = berth_engine::store::images::ImageStore::open(&b.root()).unwrap();
    let ld = store.content.put_bytes(&layer).unwrap();
    let diff = berth_engine::store::digest::Digest::parse(&image_digest("hello-tar", "diff_id")).unwrap();
    berth_engine::image::layer::ensure_layer(&store, &ld, "application/vnd.docker.image.rootfs.diff.tar", Some(&diff)).unwrap();
    let cd = store.content.put_bytes(&config).unwrap();
    let id = berth_engine::image::commit::commit_image(
        &store,
        &berth_engine::image::commit::NewImage { config_digest: cd, manifest: None, tags: vec![], repo_digest: None },
    )
    .unwrap();
    id.to_string()
}

/// Read from `r` until `want` has been seen (or fail after a while); returns all read.
fn read_until(r: &mut impl Read, want: &str, seen: &mut String) {
    let t0 = Instant::now();
    let mut buf = [0u8; 1024];
    while !seen.contains(want) {
        assert!(t0.elapsed() < Duration::from_secs(30), "never saw {want:?} in {seen:?}");
        let n = r.read(&mut buf).unwrap();
        assert!(n > 0, "output ended before {want:?}: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[test]
fn interactive_login_prompts_on_a_tty_without_echo() {
    let reg = Registry::start(Some(("testuser", "testpassword")));
    let b = Berth::new();
    // `script` gives berth a terminal; we type into it once each prompt is shown.
    let mut child = Command::new("script")
        .args(["-qec", &format!("{} login {}", env!("CARGO_BIN_EXE_berth"), reg.addr()), "/dev/null"])
        .env("BERTH_ROOT", b.root())
        .env("BERTH_CONFIG_DIR", b.config_dir())
        .env("DOCKER_CONFIG", b.dir.path().join("docker-config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut output, "Username: ", &mut seen);
    input.write_all(b"testuser\n").unwrap();
    read_until(&mut output, "Password: ", &mut seen);
    input.write_all(b"testpassword\n").unwrap();
    read_until(&mut output, "Login Succeeded", &mut seen);
    drop(input);
    assert!(child.wait().unwrap().success(), "{seen}");
    assert!(!seen.contains("testpassword"), "the password was echoed: {seen:?}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(b.config_dir().join("config.json")).unwrap()).unwrap();
    assert_eq!(v["auths"][reg.addr()]["auth"], "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk");
}

/// A registry front that only speaks Bearer: `/v2/` challenges, `/token` wants Basic
/// credentials `u:p` (as Docker Hub's token server does). Enough for `login`.
fn fake_bearer_registry() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let req = String::from_utf8_lossy(&req).to_string();
            let line = req.lines().next().unwrap_or("").to_string();
            let authorized = req.lines().any(|l| l.eq_ignore_ascii_case("authorization: basic dTpw")); // u:p
            let (status, headers, body) = if line.starts_with("GET /v2/ ") {
                let h = format!("Www-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\"\r\n");
                ("401 Unauthorized", h, "{}".to_string())
            } else if line.starts_with("GET /token?") && line.contains("account=u") && line.contains("service=fake") && authorized {
                ("200 OK", String::new(), r#"{"token":"t0k3n"}"#.to_string())
            } else {
                ("401 Unauthorized", String::new(), "{}".to_string())
            };
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn login_answers_a_bearer_challenge() {
    let port = fake_bearer_registry();
    let b = Berth::new();
    let server = format!("localhost:{port}");
    let out = b.cmd().args(["login", "-u", "u", "-p", "wrong", &server]).output().unwrap();
    assert!(!out.status.success());
    // docker's warning about -p, then the one error line.
    let err = stderr(&out);
    let (warning, error) = err.trim_end().split_once('\n').unwrap();
    assert!(warning.starts_with("WARNING!"), "{err}");
    one_line_error(error);
    assert!(error.contains("incorrect username or password"), "{err}");
    assert!(!b.config_dir().join("config.json").exists());
    let out = b.cmd().args(["login", "-u", "u", "-p", "p", &server]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Using --password via the CLI is insecure"), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Login Succeeded");
    assert_eq!(b.ok(&["logout", &format!("http://{server}/")]).trim(), format!("Removing login credentials for {server}"));
    assert_eq!(b.ok(&["logout", &server]).trim(), format!("Not logged in to {server}"));
}
