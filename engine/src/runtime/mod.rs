//! Turning a container record into an isolated process: its name ([`names`]), the OCI
//! bundle ([`bundle`], [`seccomp`]), the overlay rootfs ([`rootfs`]), and whether a recorded
//! process still lives ([`process`]). The records themselves are the store's
//! (`crate::store::containers`); the monitor (`crate::monitor`) drives libcontainer over these.
pub mod bundle;
pub mod names;
pub mod process;
pub mod rootfs;
pub mod seccomp;
