//! Containers: what `create` asks for, `ps` rows, `inspect` (docker's spelling), logs, top.
use super::*;
use serde::{Deserialize, Serialize};

/// What `create`/`run` asked for, in backend-neutral terms (docker's flags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerCreate {
    pub image: String,
    pub name: Option<String>,
    /// Overrides the image's CMD when non-empty.
    pub cmd: Vec<String>,
    /// `--entrypoint` (`Some("")` clears the image's).
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub open_stdin: bool,
    /// Close the container's stdin when the first attached client's input ends (docker's
    /// `StdinOnce`: `run -i` piping a file in). The embedded engine always does this without
    /// a TTY.
    pub stdin_once: bool,
    pub labels: std::collections::BTreeMap<String, String>,
    pub restart: Option<String>,
    pub auto_remove: bool,
    /// `--network`: None or `bridge` (the default network), `host`, `none`,
    /// `container:NAME`, or a network's name or ID.
    pub network: Option<String>,
    /// `-p/--publish`.
    pub ports: Vec<PortSpec>,
    /// `-P/--publish-all`: every exposed port (the image's and `expose`) on a free host port.
    pub publish_all: bool,
    /// `--expose`.
    pub expose: Vec<ExposedPort>,
    /// `--network-alias`: more DNS names on user networks.
    pub network_aliases: Vec<String>,
    /// `--ip`: the address on the (user) network.
    pub ipv4: Option<std::net::Ipv4Addr>,
    pub mac_address: Option<MacAddress>,
    /// `--dns`, `--dns-search`, `--dns-option`.
    pub dns: Vec<std::net::IpAddr>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--add-host`.
    pub extra_hosts: Vec<ExtraHost>,
    pub privileged: bool,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
    /// `--cap-add` / `--cap-drop` (names with or without `CAP_`, or `ALL`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--read-only` root filesystem.
    pub read_only: bool,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--tmpfs PATH[:OPTIONS]`.
    pub tmpfs: Vec<String>,
    /// `-v HOST:CONTAINER[:ro]` bind mounts, `-v NAME:CONTAINER[:ro]` named volumes,
    /// `-v CONTAINER` anonymous volumes.
    pub binds: Vec<String>,
    /// `--runtime`: an OCI runtime binary (embedded engine) or a runtime name (Docker).
    pub runtime: Option<String>,
}

/// One row of `ps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    /// The command line as docker shows it (entrypoint and cmd joined).
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    /// created, running, paused, exited, dead.
    pub state: String,
    /// docker's "Up 3 minutes", "Exited (0) 2 hours ago", "Created".
    pub status: String,
    pub exit_code: i64,
    pub labels: std::collections::BTreeMap<String, String>,
    /// Published and exposed ports (docker's `Ports`; `format_ports` makes the PORTS column).
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
}

#[derive(Clone, Debug, Default)]
pub struct ContainerListOptions {
    pub all: bool,
}

/// `inspect` of a container: the State part docker users script against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspect {
    pub id: String,
    pub name: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: ContainerState,
    pub image: String,
    pub restart_count: i64,
    pub config: ContainerInspectConfig,
    #[serde(default)]
    pub host_config: HostConfig,
    #[serde(default, deserialize_with = "null_default")]
    pub mounts: Vec<MountPoint>,
    #[serde(default)]
    pub network_settings: NetworkSettings,
    #[serde(default)]
    pub log_path: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub platform: String,
}

/// `HostConfig` of container inspect: the limits and policies docker CLI and docker-py read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// Bytes; 0 = unlimited.
    pub memory: i64,
    /// Bytes; 0 = unset, -1 = unlimited swap.
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    /// None (null) = unlimited, as docker.
    pub pids_limit: Option<i64>,
    pub privileged: bool,
    pub network_mode: String,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub readonly_rootfs: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub binds: Option<Vec<String>>,
    /// `-p` as asked for: `"80/tcp": [{"HostIp": "", "HostPort": "8080"}]`.
    #[serde(deserialize_with = "null_default")]
    pub port_bindings: std::collections::BTreeMap<String, Option<Vec<PortBinding>>>,
    pub publish_all_ports: bool,
    #[serde(deserialize_with = "null_default")]
    pub dns: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub dns_options: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub dns_search: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub extra_hosts: Vec<String>,
    /// The OCI runtime: `berth` (built in), or the `--runtime` path; docker's runtime name.
    pub runtime: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// "no", "always", "unless-stopped", "on-failure" ("" from some docker versions).
    pub name: String,
    pub maximum_retry_count: i64,
}

/// One entry of `Mounts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    /// The volume's name (volumes only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    /// `local` (volumes only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettings {
    /// `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]`; empty until ports are published.
    #[serde(deserialize_with = "null_default")]
    pub ports: std::collections::BTreeMap<String, Option<Vec<PortBinding>>>,
    #[serde(deserialize_with = "null_default")]
    pub networks: std::collections::BTreeMap<String, EndpointSettings>,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    pub gateway: String,
    pub mac_address: String,
    pub sandbox_key: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    #[serde(deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: i64,
    pub mac_address: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerState {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspectConfig {
    pub hostname: String,
    pub user: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub image: String,
    pub working_dir: String,
    pub entrypoint: Vec<String>,
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default)]
    pub stdin_once: bool,
}

/// One line of container output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub stream: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
    pub line: String,
}

#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// Last N lines only.
    pub tail: Option<usize>,
}

/// A container's processes, as `top` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopResult {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}
