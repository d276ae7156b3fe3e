//! berth's engine: everything that is not drawing. The dashboard, the CLI and (later)
//! `berth daemon` all talk to it through [`api::ContainerBackend`]; [`local::LocalEngine`]
//! implements it in-process, [`docker::DockerBackend`] over the Docker Engine API.
//!
//! The modules point one way: the backends (`local`, `docker`, `multi`) use `image`,
//! `registry`, `volume`, `runtime`, `monitor` and `stats`, which use `store` (all SQL and
//! on-disk state), which uses none of them. Modules stay `pub` only where something outside
//! the engine (the binary, its tests) still reaches them.
pub mod api;
pub(crate) mod build;
pub mod ctrfs;
pub mod detach_keys;
pub mod docker;
pub(crate) mod error;
pub mod human;
pub mod image;
pub mod local;
pub mod monitor;
pub mod multi;
pub mod registry;
pub(crate) mod runtime;
pub(crate) mod shell;
pub mod stats;
pub mod store;
pub mod volume;

pub use error::{EngineError, Result};
