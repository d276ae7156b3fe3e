//! berth's engine: everything that is not drawing. The dashboard, the CLI and
//! `berth system service` talk to it through [`api::ContainerBackend`] and nothing else;
//! [`local::LocalEngine`] implements it in-process, [`docker::DockerBackend`] over the Docker
//! Engine API, [`multi::MultiBackend`] over several endpoints.
//!
//! The modules point one way: the backends (`local`, `docker`, `multi`) use `image`,
//! `registry`, `volume`, `runtime`, `monitor` and `stats`, which use `store` (all SQL and
//! on-disk state), which uses none of them. Only the seam is public: `api`, the backends'
//! constructors, the monitor and exec-helper entry points, `human` and `detach_keys`. The
//! rest is `pub(crate)`, so the compiler keeps front ends off the internals; the `testing`
//! feature opens them to the end-to-end tests that plant hostile layers or time the sampler.

/// An internal module: `pub(crate)`, or `pub` (hidden) for the tests with `testing`.
macro_rules! internal {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "testing")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "testing"))]
        pub(crate) mod $name;
    )*};
}

pub mod api;
pub mod detach_keys;
pub mod docker;
pub mod human;
pub mod local;
pub mod monitor;
pub mod multi;

pub(crate) mod build;
pub(crate) mod ctrfs;
pub(crate) mod error;
pub(crate) mod network;
pub(crate) mod runtime;
pub(crate) mod shell;
internal!(image, registry, stats, store, volume);

pub use error::{EngineError, Result};
