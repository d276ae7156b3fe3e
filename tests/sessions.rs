//! Attach and exec sessions through the `ContainerBackend` trait on the embedded engine,
//! the way the dashboard's terminal pane uses them: real containers, a real PTY, window
//! sizes, exit codes.
mod common;
use std::time::{Duration, Instant};

use berth_engine::api::{ContainerBackend, ExecOptions, Session};
use berth_engine::local::LocalEngine;
use bytes::Bytes;
use common::*;
use futures_util::StreamExt;

/// Read the session's output until `want` appears (or fail after 10 s).
async fn expect(s: &mut Session, seen: &mut String, want: &str) {
    let t0 = Instant::now();
    while !seen.contains(want) {
        assert!(t0.elapsed() < Duration::from_secs(10), "timed out waiting for {want:?}; output so far: {seen:?}");
        match tokio::time::timeout(Duration::from_secs(10), s.output.next()).await {
            Ok(Some(Ok(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Err(e))) => panic!("session error: {e}"),
            Ok(None) => panic!("session ended before {want:?}; output: {seen:?}"),
            Err(_) => panic!("timed out waiting for {want:?}; output so far: {seen:?}"),
        }
    }
}

fn setup() -> (Berth, LocalEngine) {
    let b = Berth::new();
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let e = LocalEngine::open(&b.root()).unwrap().with_monitor_exe(env!("CARGO_BIN_EXE_berth").into());
    (b, e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_shell_with_a_tty_follows_window_size_and_exit_code() {
    let (b, e) = setup();
    let id = b.ok(&["run", "-d", "--name", "sess", "testimg/busybox", "sleep", "300"]).trim().to_string();
    assert_eq!(e.shell("sess").await.unwrap(), vec!["/bin/sh".to_string()]);
    let mut s = e
        .exec_session(&id, ExecOptions { cmd: vec!["/bin/sh".into()], tty: true, size: Some((24, 80)), ..Default::default() })
        .await
        .unwrap();
    let mut seen = String::new();
    s.input.send(Bytes::from("stty size; echo $((6*7))\n")).await.unwrap();
    expect(&mut s, &mut seen, "24 80").await;
    expect(&mut s, &mut seen, "42").await;
    s.resize.send((30, 100)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    seen.clear();
    s.input.send(Bytes::from("stty size\n")).await.unwrap();
    expect(&mut s, &mut seen, "30 100").await;
    s.input.send(Bytes::from("exit 3\n")).await.unwrap();
    while s.output.next().await.is_some() {}
    assert_eq!(s.exit.await.unwrap(), Some(3));
    b.ok(&["rm", "-f", "sess"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_without_tty_and_attach_to_a_tty_container() {
    let (b, e) = setup();
    b.ok(&["run", "-d", "--name", "plain", "testimg/busybox", "sleep", "300"]);
    let mut s = e
        .exec_session(
            "plain",
            ExecOptions { cmd: vec!["sh".into(), "-c".into(), "echo out; echo err >&2; exit 5".into()], ..Default::default() },
        )
        .await
        .unwrap();
    let mut seen = String::new();
    expect(&mut s, &mut seen, "out").await;
    while let Some(Ok(b)) = s.output.next().await {
        seen.push_str(&String::from_utf8_lossy(&b));
    }
    assert!(seen.contains("err"), "{seen}");
    assert_eq!(s.exit.await.unwrap(), Some(5));

    b.ok(&["run", "-d", "-i", "-t", "--name", "tty", "testimg/busybox", "sh"]);
    let mut a = e.attach_session("tty", Some((20, 70))).await.unwrap();
    let mut seen = String::new();
    a.input.send(Bytes::from("echo $((2+3))x; stty size\n")).await.unwrap();
    expect(&mut a, &mut seen, "5x").await;
    expect(&mut a, &mut seen, "20 70").await;
    a.input.send(Bytes::from("exit 4\n")).await.unwrap();
    while a.output.next().await.is_some() {}
    assert_eq!(a.exit.await.unwrap(), Some(4));

    // A stopped container: one clear error, no session.
    let err = e
        .exec_session("tty", ExecOptions { cmd: vec!["true".into()], ..Default::default() })
        .await
        .err()
        .expect("exec into a stopped container must fail");
    assert!(err.to_string().contains("not running"), "{err}");
    b.ok(&["rm", "-f", "plain", "tty"]);
}
