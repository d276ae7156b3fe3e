//! Compiles assets/hello/hello.c into the static `hello` binary that the built-in offline
//! `hello` image embeds (see src/image/hello.rs). Uses the `cc` crate only to find the C
//! compiler (honouring `CC`, `CC_<target>` and cross-compilers); the program is linked as an
//! executable with our own flags so the output is the same wherever the same gcc runs.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src = manifest.join("../assets/hello/hello.c");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("hello");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed=build.rs");

    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut cmd = Command::new(compiler.path());
    for (k, v) in compiler.get_envs() {
        cmd.env(k, v);
    }
    // Keep target-selection flags (`--target=` for clang, `-m…`), drop debug/PIC defaults.
    for a in compiler.args() {
        let s = a.to_string_lossy();
        if s.starts_with("--target=") || s.starts_with("-m") {
            cmd.arg(a);
        }
    }
    cmd.args([
        "-nostdlib",
        "-static",
        "-Os",
        "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables",
        "-fno-ident",
        "-fno-pie",
        "-no-pie",
        "-Wl,--build-id=none",
        "-s",
        "-o",
    ])
    .arg(&out)
    .arg(&src);
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run the C compiler {:?} to build {}: {e}", compiler.path(), src.display()));
    assert!(status.success(), "building the hello image binary failed: {cmd:?} exited with {status}");
}
