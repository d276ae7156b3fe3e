//! Link the `berth` binary as a fixed-address (non-PIE) executable. Every container has a
//! `berth monitor` process for its whole life; in a PIE, the dynamic loader relocates the
//! binary's pointer tables (.data.rel.ro, .got: hundreds of KiB) at every start, turning
//! them into private copies in each monitor. Linked at a fixed address they stay clean
//! pages of the file, shared by all monitors (see docs/NOTES.md for the figures).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
