//! Turning a container record into an isolated process: the record and its names
//! ([`state`], [`names`]), the OCI bundle ([`bundle`], [`seccomp`]), the overlay rootfs
//! ([`rootfs`]). The monitor (crate::monitor) drives libcontainer over these.
pub mod bundle;
pub mod names;
pub mod rootfs;
pub mod seccomp;
pub mod state;
