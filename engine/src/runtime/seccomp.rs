//! Docker's default seccomp profile (assets/seccomp.json, after moby's
//! profiles/seccomp/default.json, Apache-2.0) turned into the runtime spec's `linux.seccomp`
//! for one container: rules are kept or dropped by the container's capabilities, the host
//! architecture and kernel version, exactly as docker resolves its `includes`/`excludes`.
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{EngineError, Result};

const PROFILE: &str = include_str!("../../../assets/seccomp.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: String,
    default_errno_ret: Option<u32>,
    arch_map: Vec<ArchMap>,
    syscalls: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    names: Vec<String>,
    action: String,
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    includes: Filter,
    #[serde(default)]
    excludes: Filter,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    min_kernel: Option<String>,
}

/// Docker's arch names for the host.
fn host_arches() -> (&'static str, &'static [&'static str]) {
    match std::env::consts::ARCH {
        "x86_64" => ("SCMP_ARCH_X86_64", &["amd64", "x32", "x86"]),
        "aarch64" => ("SCMP_ARCH_AARCH64", &["arm64", "arm"]),
        "riscv64" => ("SCMP_ARCH_RISCV64", &["riscv64"]),
        _ => ("", &[]),
    }
}

/// Whether the kernel runs x32 syscalls (getpid with the x32 bit set).
fn x32_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: getpid has no arguments and no side effects.
        unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) != -1 }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn kernel_at_least(min: &str) -> bool {
    let rel = nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default();
    let parse = |s: &str| -> (u32, u32) {
        let mut it = s.split(|c: char| !c.is_ascii_digit()).filter(|x| !x.is_empty()).map(|x| x.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    parse(&rel) >= parse(min)
}

/// Undo [`libcontainer_arg`] in a finished seccomp section, for runtimes that read
/// `SCMP_CMP_MASKED_EQ` as runc does (`--runtime`).
pub fn unswap_masked_eq(seccomp: &mut Value) {
    let Some(calls) = seccomp.get_mut("syscalls").and_then(Value::as_array_mut) else { return };
    for c in calls {
        if let Some(args) = c.get_mut("args").and_then(Value::as_array_mut) {
            for a in args.iter_mut() {
                *a = libcontainer_arg(a);
            }
        }
    }
}

/// Docker's profile (like runc) reads `SCMP_CMP_MASKED_EQ` as `(arg & value) == valueTwo`;
/// libcontainer 0.7 passes `valueTwo` as the mask and `value` as the datum. Swap them so
/// the filter means what the profile says.
fn libcontainer_arg(a: &Value) -> Value {
    let mut a = a.clone();
    if a["op"] == "SCMP_CMP_MASKED_EQ" {
        let mask = a["value"].clone();
        a["value"] = a.get("valueTwo").cloned().unwrap_or(json!(0));
        a["valueTwo"] = mask;
    }
    a
}

/// The `linux.seccomp` JSON for a container holding `caps` (names like `CAP_CHOWN`).
pub fn default_profile(caps: &[String]) -> Result<Value> {
    let p: Profile =
        serde_json::from_str(PROFILE).map_err(|e| EngineError::Json { what: "the built-in seccomp profile".into(), source: e })?;
    let (native, arches) = host_arches();
    let mut architectures = Vec::new();
    if let Some(m) = p.arch_map.iter().find(|m| m.architecture == native) {
        architectures.push(m.architecture.clone());
        // x32 doubles the work of compiling the filter (about 5 ms per start here); on a
        // kernel without the x32 ABI those syscalls fail anyway, so leave it out there.
        architectures.extend(m.sub_architectures.iter().filter(|a| *a != "SCMP_ARCH_X32" || x32_supported()).cloned());
    }
    let has = |c: &String| caps.contains(c);
    let mut syscalls = Vec::new();
    for r in p.syscalls {
        let inc = &r.includes;
        if !inc.caps.is_empty() && !inc.caps.iter().all(has) {
            continue;
        }
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| arches.contains(&a.as_str())) {
            continue;
        }
        if let Some(k) = &inc.min_kernel
            && !kernel_at_least(k)
        {
            continue;
        }
        let exc = &r.excludes;
        if !exc.caps.is_empty() && exc.caps.iter().any(has) {
            continue;
        }
        if exc.arches.iter().any(|a| arches.contains(&a.as_str())) {
            continue;
        }
        let mut s = json!({ "names": r.names, "action": r.action });
        if let Some(e) = r.errno_ret {
            s["errnoRet"] = json!(e);
        }
        if !r.args.is_empty() {
            s["args"] = json!(r.args.iter().map(libcontainer_arg).collect::<Vec<_>>());
        }
        syscalls.push(s);
    }
    let mut out = json!({ "defaultAction": p.default_action, "architectures": architectures, "syscalls": syscalls });
    if let Some(e) = p.default_errno_ret {
        out["defaultErrnoRet"] = json!(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_decide_rules() {
        let plain = default_profile(&["CAP_CHOWN".into()]).unwrap();
        let names = |v: &Value| -> Vec<String> {
            v["syscalls"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["action"] == "SCMP_ACT_ALLOW")
                .flat_map(|s| s["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()))
                .collect()
        };
        let n = names(&plain);
        assert!(n.contains(&"read".to_string()));
        assert!(!n.contains(&"mount".to_string()));
        assert!(!n.contains(&"unshare".to_string()));
        let admin = default_profile(&["CAP_SYS_ADMIN".into()]).unwrap();
        assert!(names(&admin).contains(&"mount".to_string()));
        assert_eq!(plain["defaultAction"], "SCMP_ACT_ERRNO");
        let clone = plain["syscalls"].as_array().unwrap().iter().find(|s| s["names"] == json!(["clone"])).unwrap();
        assert_eq!(clone["args"][0]["valueTwo"], json!(2114060288u64));
        assert_eq!(clone["args"][0]["value"], json!(0));
        // The spec must accept it.
        let _: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(plain).unwrap();
    }
}
