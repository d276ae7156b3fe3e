//! berth's engine: everything that is not drawing. The dashboard, the CLI and (later)
//! `berth daemon` all talk to it through [`api::ContainerBackend`]; [`local::LocalEngine`]
//! implements it in-process over the store, registry and (later) runtime modules.
pub mod api;
pub(crate) mod build;
pub mod ctrfs;
pub mod detach_keys;
pub mod docker;
pub mod error;
pub mod human;
pub mod image;
pub mod local;
pub mod monitor;
pub mod multi;
pub mod registry;
pub mod runtime;
pub mod shell;
pub mod stats;
pub mod store;
pub mod volume;

pub use error::{EngineError, Result};
