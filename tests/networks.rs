//! Networks and published ports with real namespaces and real netavark: a host client
//! reaching a container's server through `-p`/`-P` on 127.0.0.1 (TCP and UDP), containers
//! finding each other by name, alias, ID prefix and address on a user network while one on
//! another network cannot, `none`/`host`/`container:` modes, connect/disconnect on a running
//! container, bad input that leaves nothing behind, and a leak check (veths, bridges,
//! namespace files, firewall rules, leases) around 50 run/rm cycles and around SIGKILLed
//! monitors followed by `system boot`. Traffic goes only to loopback and to the namespaces
//! these tests make.
mod common;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use common::*;

fn skip_without_netavark() -> bool {
    if std::path::Path::new("/usr/lib/podman/netavark").exists() {
        return false;
    }
    eprintln!("SKIP: netavark is not installed (bash scripts/deps.sh test)");
    true
}

/// (exit code, stdout, stderr)
fn run(b: &Berth, args: &[&str]) -> (i32, String, String) {
    let o = b.cmd().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

/// An HTTP GET to 127.0.0.1:port, retried while the server comes up; the body.
fn http_get(port: u16, path: &str) -> String {
    let t0 = std::time::Instant::now();
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&format!("127.0.0.1:{port}").parse().unwrap(), Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })();
        match attempt {
            Ok(r) if r.contains("200 OK") => return r.split("\r\n\r\n").nth(1).unwrap_or_default().to_string(),
            r => assert!(t0.elapsed() < Duration::from_secs(10), "no answer from 127.0.0.1:{port}{path}: {r:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A static UDP echo server (tests/fixtures/udp_echo.c; the test image's busybox has no
/// UDP server), built once with gcc.
fn udp_echo() -> std::path::PathBuf {
    let out = workspace().join("target/udp-echo");
    let src = workspace().join("tests/fixtures/udp_echo.c");
    let script =
        format!("exec 9>'{o}.lock'; flock 9; [ -x '{o}' ] || gcc -static -O2 -o '{o}' '{s}'", o = out.display(), s = src.display());
    run_ok(std::process::Command::new("bash").arg("-c").arg(script));
    out
}

const HTTPD: &str = "mkdir -p /www && echo served-by-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www";

fn published_port(b: &Berth, ctr: &str, port: &str) -> u16 {
    let out = b.ok(&["port", ctr, port]);
    out.trim().rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("port {ctr} {port}: {out:?}"))
}

#[test]
fn published_ports_reach_the_container_over_tcp_and_udp() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    let port = free_port();
    let p = format!("127.0.0.1:{port}:80");
    b.ok(&["run", "-d", "--name", "web", "--hostname", "web1", "-p", &p, "busybox", "sh", "-c", HTTPD]);
    assert_eq!(http_get(port, "/index.html"), "served-by-web1\n");
    assert_eq!(b.ok(&["port", "web"]), format!("80/tcp -> 127.0.0.1:{port}\n"));
    let ps = b.ok(&["ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert_eq!(ps, format!("web 127.0.0.1:{port}->80/tcp\n"));
    let bindings = b.ok(&["inspect", "-f", "{{json .HostConfig.PortBindings}}", "web"]);
    assert_eq!(bindings.trim(), format!(r#"{{"80/tcp":[{{"HostIp":"127.0.0.1","HostPort":"{port}"}}]}}"#));

    // -P: the exposed port on a port the kernel picks.
    b.ok(&["run", "-d", "--name", "all", "--expose", "80", "-P", "busybox", "sh", "-c", HTTPD]);
    let any = published_port(&b, "all", "80");
    assert_eq!(http_get(any, "/index.html"), format!("served-by-{}\n", &b.ok(&["inspect", "-f", "{{.Id}}", "all"])[..12]));
    assert!(b.ok(&["ps", "--format", "{{.Ports}}", "-f", "name=all"]).contains(&format!("0.0.0.0:{any}->80/tcp")));

    // UDP: a datagram to the host port reaches the container, and its answer comes back.
    let echo = udp_echo();
    let uport = free_port();
    let (u, v) = (format!("127.0.0.1:{uport}:9999/udp"), format!("{}:/udp-echo:ro", echo.display()));
    b.ok(&["run", "-d", "--name", "udp", "-p", &u, "-v", &v, "busybox", "/udp-echo", "9999"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = [0u8; 64];
    let answer = (0..50).find_map(|_| {
        sock.send_to(b"datagram", ("127.0.0.1", uport)).unwrap();
        sock.recv(&mut buf).ok().map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    });
    assert_eq!(answer.as_deref(), Some("echo: datagram"), "UDP through 127.0.0.1:{uport}");
    assert!(b.ok(&["port", "udp"]).contains(&format!("9999/udp -> 127.0.0.1:{uport}")));

    // Stats count the container's eth0 traffic.
    let rx = b.ok(&["stats", "--no-stream", "--format", "{{.NetIO}}", "web"]);
    assert!(!rx.starts_with("0B /"), "net I/O of a container that served a request: {rx}");
}

#[test]
fn user_networks_resolve_names_and_are_isolated() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    b.ok(&["network", "create", "appnet"]);
    b.ok(&["network", "create", "othernet"]);
    b.ok(&["run", "-d", "--name", "db", "--network", "appnet", "--network-alias", "database", "busybox", "sleep", "300"]);
    b.ok(&["run", "-d", "--name", "outsider", "--network", "othernet", "busybox", "sleep", "300"]);
    let db_id = b.ok(&["inspect", "-f", "{{.Id}}", "db"]).trim().to_string();
    let db_ip = b.ok(&["inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "db"]).trim().to_string();
    let out_ip = b.ok(&["inspect", "-f", "{{.NetworkSettings.Networks.othernet.IPAddress}}", "outsider"]).trim().to_string();
    assert!(!db_ip.is_empty() && !out_ip.is_empty());
    for target in ["db", "database", &db_id[..12], db_ip.as_str()] {
        let (code, out, err) = run(&b, &["run", "--rm", "--network", "appnet", "busybox", "ping", "-c", "1", "-W", "2", target]);
        assert_eq!(code, 0, "ping {target} from appnet: {out}{err}");
        assert!(out.contains(&format!("({db_ip})")) || target == db_ip, "{target} resolved elsewhere: {out}");
    }
    // Another network's container is not reachable, by address or by name.
    let (code, out, _) = run(&b, &["run", "--rm", "--network", "appnet", "busybox", "ping", "-c", "1", "-W", "1", &out_ip]);
    assert_ne!(code, 0, "appnet reached othernet: {out}");
    let (code, _, _) = run(&b, &["run", "--rm", "--network", "othernet", "busybox", "ping", "-c", "1", "-W", "1", &db_ip]);
    assert_ne!(code, 0, "othernet reached appnet");
    // inspect shows docker's shapes.
    let net: serde_json::Value = serde_json::from_str(&b.ok(&["network", "inspect", "appnet"])).unwrap();
    let n = &net[0];
    assert_eq!(n["Name"], "appnet");
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["Containers"][&db_id]["Name"], "db");
    assert!(n["Containers"][&db_id]["IPv4Address"].as_str().unwrap().starts_with(&format!("{db_ip}/")));
    let ep: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "-f", "{{json .NetworkSettings.Networks.appnet}}", "db"])).unwrap();
    assert!(ep["Aliases"].as_array().unwrap().iter().any(|a| a == "database"), "{ep}");
    assert_eq!(ep["NetworkID"], n["Id"]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", "db"]), "appnet\n");
    // In use: refused, naming the user; unused: removed.
    let err = b.fails(&["network", "rm", "appnet"]);
    assert!(err.contains("has active endpoints") && err.contains("db"), "{err}");
    b.ok(&["rm", "-f", "db", "outsider"]);
    b.ok(&["network", "rm", "appnet"]);
    assert_eq!(b.ok(&["network", "prune", "-f"]), "Deleted Networks:\nothernet\n");
    assert_eq!(b.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]), "bridge bridge\n");
}

#[test]
fn internal_networks_have_no_way_out() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    b.ok(&["network", "create", "--internal", "--subnet", "10.89.250.0/24", "sealed"]);
    let out = b.ok(&["run", "--rm", "--network", "sealed", "busybox", "sh", "-c", "ip route; ip -o -4 addr show eth0"]);
    assert!(!out.contains("default"), "an internal network has no default route: {out}");
    assert!(out.contains("10.89.250."), "{out}");
    assert_eq!(b.ok(&["network", "inspect", "-f", "{{.Internal}}", "sealed"]), "true\n");
}

#[test]
fn none_host_and_container_modes() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    let none = b.ok(&["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]);
    assert_eq!(none.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    let host_ifaces: Vec<String> =
        std::fs::read_dir("/sys/class/net").unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let seen = b.ok(&["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]);
    for i in host_ifaces.iter().filter(|i| *i == "lo" || i.starts_with("eth")) {
        assert!(seen.split_whitespace().any(|s| s == i), "host mode misses {i}: {seen}");
    }
    b.ok(&["run", "-d", "--name", "xsrc", "busybox", "sh", "-c", "echo shared > /tmp/i && httpd -f -p 8080 -h /tmp"]);
    let x_ip = b.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "xsrc"]).trim().to_string();
    let joined = b.ok(&[
        "run",
        "--rm",
        "--network",
        "container:xsrc",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; sleep 0.3; wget -qO- http://127.0.0.1:8080/i",
    ]);
    assert!(joined.contains(&format!("inet {x_ip}/")), "container:x shares x's interfaces: {joined}");
    assert!(joined.ends_with("shared\n"), "{joined}");
    let err = b.fails(&["run", "--rm", "--network", "container:xsrc", "-p", "80", "busybox", "true"]);
    assert!(err.contains("conflicting options"), "{err}");
}

#[test]
fn connect_and_disconnect_a_running_container() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    b.ok(&["network", "create", "late"]);
    b.ok(&["run", "-d", "--name", "svc", "--network", "late", "busybox", "sleep", "300"]);
    b.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    assert!(!b.ok(&["exec", "box", "ls", "/sys/class/net"]).contains("eth1"));
    b.ok(&["network", "connect", "--alias", "boxy", "late", "box"]);
    assert!(b.ok(&["exec", "box", "ls", "/sys/class/net"]).contains("eth1"));
    let (code, out, err) = run(&b, &["exec", "svc", "ping", "-c", "1", "-W", "2", "boxy"]);
    assert_eq!(code, 0, "{out}{err}");
    let err = b.fails(&["network", "connect", "late", "box"]);
    assert!(err.contains("already exists"), "connecting twice: {err}");
    b.ok(&["network", "disconnect", "late", "box"]);
    assert!(!b.ok(&["exec", "box", "ls", "/sys/class/net"]).contains("eth1"));
    assert_eq!(b.ok(&["inspect", "-f", "{{len .NetworkSettings.Networks}}", "box"]), "1\n");
}

/// What a root's networking leaves on the host: its bridges and their ports, namespace
/// files, firewall rules naming its subnets or networks, and leases in its database.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    bridges: Vec<String>,
    ports_on_bridges: usize,
    netns_files: usize,
    rules: Vec<String>,
    leases: usize,
}

fn footprint(b: &Berth) -> Footprint {
    let nets: Vec<serde_json::Value> = b
        .ok(&["network", "ls", "-q", "--no-trunc"])
        .lines()
        .map(|id| serde_json::from_str::<serde_json::Value>(&b.ok(&["network", "inspect", id])).unwrap()[0].clone())
        .collect();
    let mut bridges = Vec::new();
    let mut ports = 0;
    let mut needles = Vec::new();
    let links = String::from_utf8_lossy(&std::process::Command::new("ip").args(["-o", "link"]).output().unwrap().stdout).into_owned();
    for n in &nets {
        let id = n["Id"].as_str().unwrap().to_string();
        let br = n["Options"]["com.docker.network.bridge.name"].as_str().map(String::from).unwrap_or(format!("br-{}", &id[..12]));
        if links.lines().any(|l| l.split(':').nth(1).map(|x| x.trim().split('@').next().unwrap() == br).unwrap_or(false)) {
            bridges.push(br.clone());
        }
        ports += links.lines().filter(|l| l.contains(&format!("master {br} "))).count();
        needles.push(n["IPAM"]["Config"][0]["Subnet"].as_str().unwrap().to_string());
        needles.push(id);
        needles.push(format!(" {br} "));
    }
    let rules_text = String::from_utf8_lossy(&std::process::Command::new("iptables-save").output().unwrap().stdout).into_owned();
    let rules = rules_text.lines().filter(|l| needles.iter().any(|n| l.contains(n.as_str()))).map(String::from).collect();
    let netns_files = std::fs::read_dir(b.root().join("netns")).map(|r| r.count()).unwrap_or(0);
    let db = berth_engine::store::db::Db::open(&b.root()).unwrap();
    let leases = berth_engine::store::networks::all_endpoints(&db).unwrap().len();
    Footprint { bridges, ports_on_bridges: ports, netns_files, rules, leases }
}

fn clean() -> Footprint {
    Footprint { bridges: vec![], ports_on_bridges: 0, netns_files: 0, rules: vec![], leases: 0 }
}

/// Every monitor of this root has exited (a `--rm` teardown runs after the exit code).
fn monitors_gone(b: &Berth) {
    let root = b.root().display().to_string();
    wait_for("the monitors to finish", Duration::from_secs(30), || {
        pids_with(&root).into_iter().all(|p| !cmdline_of(p).contains(" monitor "))
    });
}

#[test]
fn nothing_leaks_over_50_runs_and_after_killed_monitors() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    b.ok(&["network", "create", "leaknet"]);
    b.ok(&["run", "--rm", "busybox", "true"]);
    monitors_gone(&b);
    let before = footprint(&b);
    // (Rules are compared with the baseline only: a subnet may be one another process once
    // left rules for.)
    assert_eq!(Footprint { rules: vec![], ..footprint(&b) }, clean(), "a network with no container leaves nothing on the host");
    for i in 0..50 {
        let port = format!("127.0.0.1::{}", 80 + i % 3);
        let net = if i % 2 == 0 { "bridge" } else { "leaknet" };
        if i % 5 == 0 {
            b.ok(&["run", "-d", "--name", "cyc", "--network", net, "-p", &port, "busybox", "sleep", "30"]);
            b.ok(&["rm", "-f", "cyc"]);
        } else {
            b.ok(&["run", "--rm", "--network", net, "-p", &port, "busybox", "true"]);
        }
    }
    monitors_gone(&b);
    assert_eq!(footprint(&b), before, "after 50 run/rm cycles");

    // Monitors SIGKILLed while their containers run: nobody tears down until `system boot`.
    for n in ["k1", "k2"] {
        b.ok(&["run", "-d", "--name", n, "--network", "leaknet", "-p", "127.0.0.1::80", "busybox", "sleep", "300"]);
    }
    b.ok(&["run", "-d", "--name", "k3", "busybox", "sleep", "300"]);
    assert_ne!(footprint(&b), before);
    let root = b.root().display().to_string();
    for pid in pids_with(&root).into_iter().filter(|p| cmdline_of(*p).contains(" monitor ")) {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    monitors_gone(&b);
    let out = b.ok(&["system", "boot"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(footprint(&b), before, "after killed monitors and system boot");
    b.ok(&["rm", "-f", "k1", "k2", "k3"]);
    // The network's rules and bridge go with it.
    b.ok(&["network", "rm", "leaknet"]);
}

#[test]
fn bad_input_changes_nothing() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    b.ok(&["network", "create", "--subnet", "10.89.240.0/24", "taken"]);
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--rm", "-p", "80:80:80:80", "busybox", "true"], "invalid port spec"),
        (&["run", "--rm", "-p", "99999:80", "busybox", "true"], "invalid port spec"),
        (&["run", "--rm", "--network", "nosuchnet", "busybox", "true"], "network nosuchnet not found"),
        (&["run", "--rm", "--ip", "10.0.0.5", "busybox", "true"], "user defined networks"),
        (&["run", "--rm", "--add-host", "bad", "busybox", "true"], "add-host"),
        (&["run", "--rm", "--mac-address", "zz", "busybox", "true"], "mac address"),
    ];
    let before = b.snapshot_tree();
    for (args, want) in cases {
        let (code, _, err) = run(&b, args);
        assert_eq!(code, 125, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert_eq!(b.snapshot_tree(), before);
    assert!(b.ok(&["ps", "-aq"]).is_empty());
    for (args, want) in [
        (&["network", "create", "--subnet", "10.89.240.128/25", "overlap"][..], "overlaps"),
        (&["network", "create", "--subnet", "10.89.241.0/33", "badsubnet"][..], "invalid --subnet"),
        (&["network", "create", "taken"][..], "already exists"),
        (&["network", "rm", "nosuch"][..], "not found"),
        (&["network", "rm", "bridge"][..], "pre-defined"),
    ] {
        let err = b.fails(args);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A host port in use: an error at run, and no container, lease, namespace or rule left.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let spec = format!("127.0.0.1:{port}:80");
    let fp = footprint(&b);
    let (code, _, err) = run(&b, &["run", "--rm", "-p", &spec, "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("port is already allocated"), "{err}");
    let (code, _, err) = run(&b, &["run", "-d", "-p", &spec, "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(b.ok(&["ps", "-aq"]).is_empty());
    assert_eq!(footprint(&b), fp);
    drop(holder);
}

#[test]
fn coexists_with_dockerd_publishing_ports() {
    if skip_without_netavark() {
        return;
    }
    let b = busybox_root();
    let d = Dockerd::start();
    d.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let (bp, dp) = (free_port(), free_port());
    d.ok(&["run", "-d", "--name", "dweb", "-p", &format!("127.0.0.1:{dp}:80"), "testimg/busybox", "sh", "-c", HTTPD]);
    b.ok(&["run", "-d", "--name", "bweb", "--hostname", "bweb", "-p", &format!("127.0.0.1:{bp}:80"), "busybox", "sh", "-c", HTTPD]);
    assert_eq!(http_get(bp, "/index.html"), "served-by-bweb\n");
    assert!(http_get(dp, "/index.html").starts_with("served-by-"));
    // And berth through the Docker endpoint shows docker's ports like its own.
    let ps = b.ok(&["-H", &d.host(), "ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert_eq!(ps, format!("dweb 127.0.0.1:{dp}->80/tcp\n"));
    d.ok(&["rm", "-f", "dweb"]);
    b.ok(&["rm", "-f", "bweb"]);
}
