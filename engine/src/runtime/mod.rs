//! Turning a container record into an isolated process: the record and its names
//! ([`state`], [`names`]), the OCI bundle ([`bundle`], [`seccomp`]), the overlay rootfs
//! ([`rootfs`]). The monitor (crate::monitor) drives libcontainer over these.
pub mod names;
pub mod state;
