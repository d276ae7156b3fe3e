//! The CLI against a Docker Engine API: the verbs on a private dockerd, and the ways a
//! daemon can fail a user (nothing listening, a socket without permission, a daemon that
//! accepts but never answers, an API too old) — each one clear line and exit 1 within 5 s.
mod common;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;

/// Run `berth -H host args…`; (output, elapsed).
fn berth_at(b: &Berth, host: &str, args: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let o = b.cmd().arg("-H").arg(host).args(args).output().unwrap();
    (o, t0.elapsed())
}

/// A failure a user can read: exit 1, one line on stderr, nothing on stdout, within 5 s.
fn clear_failure(o: &Output, took: Duration, expect: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "exit code; stderr: {err}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains(expect), "{err:?} should mention {expect:?}");
    assert!(stdout(o).is_empty(), "{}", stdout(o));
}

#[test]
fn nothing_listening_is_a_clear_error() {
    let b = Berth::new();
    let sock = b.dir.path().join("no-daemon.sock");
    let (o, t) = berth_at(&b, &format!("unix://{}", sock.display()), &["ps"]);
    clear_failure(&o, t, "cannot connect to the Docker daemon");
    assert!(stderr(&o).contains("no socket at"), "{}", stderr(&o));
    // A TCP port nobody listens on.
    let port = free_port();
    let (o, t) = berth_at(&b, &format!("tcp://127.0.0.1:{port}"), &["images"]);
    clear_failure(&o, t, "connection refused");
    // DOCKER_HOST is honoured by --docker.
    let t0 = Instant::now();
    let o = b.cmd().env("DOCKER_HOST", format!("unix://{}", sock.display())).args(["--docker", "ps"]).output().unwrap();
    clear_failure(&o, t0.elapsed(), &sock.display().to_string());
}

#[test]
fn unsupported_scheme_is_a_clear_error() {
    let b = Berth::new();
    let (o, t) = berth_at(&b, "ftp://example", &["ps"]);
    clear_failure(&o, t, "unsupported Docker host");
}

#[test]
fn socket_without_permission_is_a_clear_error() {
    let b = Berth::new();
    let dir = b.dir.path().join("pub");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(b.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.join("docker.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root ignores file modes: the client runs as nobody.
    let t0 = Instant::now();
    let o = std::process::Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_berth"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .arg("ps")
        .env("HOME", "/nonexistent")
        .env("BERTH_ROOT", b.dir.path().join("root"))
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    clear_failure(&o, t0.elapsed(), "permission denied");
    assert!(stderr(&o).contains(&sock.display().to_string()), "names the socket: {}", stderr(&o));
}

#[test]
fn daemon_that_never_answers_times_out() {
    let b = Berth::new();
    let sock = b.dir.path().join("silent.sock");
    // Connections complete in the kernel's backlog, but nobody ever reads or answers.
    let _listener = UnixListener::bind(&sock).unwrap();
    let (o, t) = berth_at(&b, &format!("unix://{}", sock.display()), &["ps", "-a"]);
    clear_failure(&o, t, "no answer within");
}

/// A fake daemon that speaks just enough HTTP to say it is an old Docker (API 1.24).
fn old_daemon(sock: &std::path::Path) {
    let l = UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    let body = r#"{"Version":"1.12.6","ApiVersion":"1.24","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}"#;
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.24\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if c.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
}

#[test]
fn api_too_old_is_a_clear_error() {
    let b = Berth::new();
    let sock = b.dir.path().join("old.sock");
    old_daemon(&sock);
    let (o, t) = berth_at(&b, &format!("unix://{}", sock.display()), &["images"]);
    clear_failure(&o, t, "speaks API 1.24; berth needs 1.41 or newer");
}

/// The verbs that take any backend, against a real dockerd, with docker's CLI as the referee.
#[test]
fn verbs_against_a_private_dockerd() {
    let registry = Registry::start(None);
    registry.push_fixtures();
    let d = Dockerd::start();
    d.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let b = Berth::new();
    let h = d.host();
    let ok = |args: &[&str]| {
        let (o, _) = berth_at(&b, &h, args);
        assert!(o.status.success(), "berth {args:?}: {}", stderr(&o));
        stdout(&o)
    };
    let fails = |args: &[&str], expect: &str| {
        let (o, t) = berth_at(&b, &h, args);
        clear_failure(&o, t, expect);
    };

    // images, pull from the loopback registry, rmi.
    let out = ok(&["images"]);
    assert!(out.contains("testimg/busybox") && out.contains("latest"), "{out}");
    let name = format!("{}/hello:v2s2", registry.addr());
    let out = ok(&["pull", &name]);
    assert!(out.contains(&image_digest("hello", "config")[7..19]) || out.contains("Status:"), "{out}");
    assert!(d.ok(&["images", "-q", "--no-trunc", &name]).contains(&image_digest("hello", "config")), "docker sees the pull");
    let out = ok(&["rmi", &name]);
    assert!(out.contains(&format!("Untagged: {name}")), "{out}");
    assert!(d.ok(&["images", "-q", &name]).trim().is_empty());
    fails(&["rmi", "testimg/nope:nope"], "No such image");

    // Containers made by docker, driven by berth.
    let sleeper =
        d.ok(&["run", "-d", "--name", "sleeper", "testimg/busybox:latest", "sh", "-c", "echo hello-from-docker; exec sleep 1000"]);
    let sleeper = sleeper.trim();
    let o = d.docker().args(["run", "--name", "exit5", "testimg/busybox:latest", "sh", "-c", "exit 5"]).output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let ps = ok(&["ps"]);
    assert!(ps.contains("sleeper") && !ps.contains("exit5"), "{ps}");
    let ps = ok(&["ps", "-a"]);
    assert!(ps.contains("sleeper") && ps.contains("exit5") && ps.contains("Exited (5)"), "{ps}");
    assert_eq!(ok(&["ps", "-aq", "--no-trunc", "--filter", "name=sleeper"]).trim(), sleeper);
    assert_eq!(ok(&["wait", "exit5"]).trim(), "5");
    let logs = ok(&["logs", "sleeper"]);
    assert_eq!(logs.trim(), "hello-from-docker");
    assert_eq!(ok(&["inspect", "--format", "{{.State.Running}}", "sleeper"]).trim(), "true");
    let v: serde_json::Value = serde_json::from_str(&ok(&["inspect", "exit5"])).unwrap();
    assert_eq!(v[0]["State"]["ExitCode"], 5);

    ok(&["stop", "-t", "1", "sleeper"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", "sleeper"]).trim(), "false 137");
    d.ok(&["start", "sleeper"]);
    ok(&["kill", "sleeper"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.Running}}", "sleeper"]).trim(), "false");
    fails(&["kill", "sleeper"], "is not running");
    ok(&["rm", "sleeper", "exit5"]);
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty());

    for verb in [&["logs", "nope"][..], &["stop", "nope"], &["kill", "nope"], &["rm", "nope"], &["wait", "nope"]] {
        fails(verb, "No such container: nope");
    }
    // Like docker: `[]` on stdout, the error on stderr.
    let (o, _) = berth_at(&b, &h, &["inspect", "nope"]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(1), "[]"));
    assert_eq!(stderr(&o).trim(), "Error: No such object: nope");

    // Containers made by berth on dockerd: run in the foreground (output, exit code),
    // run -d, exec (output and code), pause/unpause, rename, restart.
    let out = ok(&["run", "--rm", "testimg/busybox:latest", "sh", "-c", "echo from-berth-run"]);
    assert_eq!(out.trim(), "from-berth-run");
    // Without a TTY, stdout and stderr stay apart (run and exec), as with docker.
    let (o, _) = berth_at(&b, &h, &["run", "--rm", "testimg/busybox:latest", "sh", "-c", "echo to-out; echo to-err >&2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!((stdout(&o).trim(), stderr(&o).trim()), ("to-out", "to-err"));
    let (o, _) = berth_at(&b, &h, &["run", "--name", "seven", "testimg/busybox:latest", "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.ExitCode}}", "seven"]).trim(), "7");
    let id = ok(&["run", "-d", "--name", "svc", "testimg/busybox:latest", "sleep", "600"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.Id}}", "svc"]).trim(), id.trim());
    assert_eq!(ok(&["exec", "svc", "sh", "-c", "echo $((6*7))"]).trim(), "42");
    let (o, _) = berth_at(&b, &h, &["exec", "svc", "sh", "-c", "echo e-out; echo e-err >&2"]);
    assert_eq!((stdout(&o).trim(), stderr(&o).trim()), ("e-out", "e-err"));
    let (o, _) = berth_at(&b, &h, &["exec", "svc", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3));
    ok(&["pause", "svc"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.Paused}}", "svc"]).trim(), "true");
    ok(&["unpause", "svc"]);
    ok(&["rename", "svc", "svc2"]);
    ok(&["restart", "-t", "1", "svc2"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "svc2"]).trim().split(' ').next(), Some("true"));
    fails(&["exec", "nope", "true"], "No such container: nope");
    // events from dockerd: the same lines and --format as on the embedded engine.
    let by_id = format!("container={}", id.trim());
    let past = ok(&["events", "--since", "10m", "--until", "0s", "--filter", &by_id, "--format", "{{.Type}} {{.Action}}"]);
    for want in ["container pause", "container unpause", "container rename", "container restart"] {
        assert!(past.lines().any(|l| l == want), "{want:?} missing from:\n{past}");
    }
    let json = ok(&["events", "--since", "10m", "--until", "0s", "--filter", "event=pause", "--format", "json"]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap_or("")).expect("one JSON object a line");
    assert_eq!((first["Action"].as_str(), first["Actor"]["Attributes"]["name"].as_str()), (Some("pause"), Some("svc")));
    let plain = ok(&["events", "--since", "10m", "--until", "0s", "--filter", "event=unpause"]);
    assert!(plain.lines().next().is_some_and(|l| l.contains(" container unpause ") && l.contains("name=svc")), "{plain}");
    ok(&["rm", "-f", "svc2", "seven"]);
}

/// `--docker` follows the docker context (config.json's currentContext, or DOCKER_CONTEXT),
/// and DOCKER_HOST and -H win over it.
#[test]
fn docker_context_picks_the_endpoint() {
    use sha2::Digest;
    let b = Berth::new();
    let cfg = b.dir.path().join("docker-config");
    let ctx_sock = |name: &str| b.dir.path().join(format!("{name}.sock"));
    for name in ["current", "other"] {
        let meta = cfg.join("contexts/meta").join(hex::encode(sha2::Sha256::digest(name.as_bytes())));
        std::fs::create_dir_all(&meta).unwrap();
        let host = format!("unix://{}", ctx_sock(name).display());
        let json = serde_json::json!({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}});
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
    }
    std::fs::write(cfg.join("config.json"), r#"{"currentContext": "current"}"#).unwrap();
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let t0 = Instant::now();
        let o = b.cmd().envs(envs.iter().copied()).args(args).output().unwrap();
        let took = t0.elapsed();
        (o, took)
    };
    // Nothing listens on the contexts' sockets: the error names the one that was chosen.
    let (o, t) = run(&[], &["--docker", "ps"]);
    clear_failure(&o, t, &ctx_sock("current").display().to_string());
    let (o, t) = run(&[("DOCKER_CONTEXT", "other")], &["--docker", "ps"]);
    clear_failure(&o, t, &ctx_sock("other").display().to_string());
    let env_sock = b.dir.path().join("env.sock");
    let (o, t) = run(&[("DOCKER_HOST", &format!("unix://{}", env_sock.display()))], &["--docker", "ps"]);
    clear_failure(&o, t, &env_sock.display().to_string());
    // A named endpoint may be a docker context.
    let (o, t) = run(&[], &["--endpoint", "mine=other", "ps"]);
    clear_failure(&o, t, &ctx_sock("other").display().to_string());
    let (o, t) = run(&[], &["--endpoint", "mine=no-such-context", "ps"]);
    clear_failure(&o, t, "no docker context named \"no-such-context\"");
    let flag_sock = b.dir.path().join("flag.sock");
    let (o, t) = run(&[("DOCKER_CONTEXT", "other")], &["-H", &format!("unix://{}", flag_sock.display()), "ps"]);
    clear_failure(&o, t, &flag_sock.display().to_string());
}

/// Several endpoints are for the dashboard: a command given two is one clear line; a
/// malformed --endpoint is one clear line; `--endpoint NAME=HOST` alone drives that host.
#[test]
fn several_endpoints_on_the_command_line() {
    let b = Berth::new();
    let sock = b.dir.path().join("none.sock");
    let host = format!("unix://{}", sock.display());
    let run = |args: &[&str]| {
        let t0 = Instant::now();
        let o = b.cmd().args(args).output().unwrap();
        (o, t0.elapsed())
    };
    let (o, t) = run(&["-H", &host, "-H", "tcp://127.0.0.1:1", "ps"]);
    clear_failure(&o, t, "2 endpoints given (docker, 127.0.0.1): a command drives one");
    let (o, t) = run(&["--embedded", "-H", &host, "images"]);
    clear_failure(&o, t, "2 endpoints given (berth, docker)");
    let (o, t) = run(&["--endpoint", "nohost", "ps"]);
    clear_failure(&o, t, "expected NAME=HOST");
    let (o, t) = run(&["--endpoint", "bad name=unix:///x", "ps"]);
    clear_failure(&o, t, "the name takes letters");
    let (o, t) = run(&["--endpoint", &format!("mine={host}"), "ps"]);
    clear_failure(&o, t, &sock.display().to_string());
}
