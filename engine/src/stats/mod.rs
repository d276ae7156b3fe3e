//! Resource statistics, read straight from the kernel: cgroup v1 and v2 files for CPU,
//! memory, pids and block I/O, `/proc/<pid>/net/dev` for network, `/proc/stat` for the
//! system CPU clock, and procfs for `top`. Readers take a directory, so they work on
//! fakes in tests and cost a few small reads per container per sample.
//!
//! Hand-written rather than libcgroups' stats: those read fixed paths, allocate per
//! field and do not report what docker reports (usage minus inactive file cache).
pub(crate) mod cgroup;
pub(crate) mod cpu;
pub(crate) mod net;
pub mod sampler;
pub(crate) mod top;

pub use cgroup::{CgroupPaths, CgroupSample};
pub use cpu::{SystemCpu, cpu_percent};
pub use net::NetSample;
