//! The CLI on an empty store: listing, bad input, one-line errors.
mod common;
use common::*;

#[test]
fn empty_store_lists_header_only() {
    let b = Berth::new();
    let out = b.ok(&["images"]);
    assert_eq!(out.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(), ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]);
    assert_eq!(out.lines().count(), 1);
    assert!(b.root().join("berth.db").is_file());
    assert!(b.root().join("blobs/sha256").is_dir());
}

#[test]
fn unknown_image_is_one_clear_line() {
    let b = Berth::new();
    b.ok(&["images"]);
    let before = b.snapshot_tree();
    for args in [&["rmi", "nosuch"][..], &["image", "inspect", "nosuch:1"], &["history", "nosuch"], &["tag", "nosuch", "x:y"]] {
        let err = b.fails(args);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("No such image"), "{args:?}: {err}");
    }
    let err = b.fails(&["tag", "nosuch", "BAD//ref"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("invalid reference format"), "{err}");
    assert_eq!(b.snapshot_tree(), before);
}

#[test]
fn bad_flags_exit_nonzero() {
    let b = Berth::new();
    let out = b.cmd().args(["images", "--filter", "bogus=1"]).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = b.cmd().args(["images", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
}
