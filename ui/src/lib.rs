//! berth's terminal dashboard (ratatui). It speaks only to
//! `berth_engine::api::ContainerBackend`, so it looks and behaves the same on the embedded
//! engine and on Docker. One state store (`state`) updated by messages; pure rendering
//! (`view`); input mapping (`input`); the event loop and tasks (`app`); config as data.
pub mod app;
pub mod config;
pub mod history;
pub mod input;
pub mod json;
pub mod sessions;
pub mod state;
pub mod terminal;
pub mod view;

pub use app::{UiError, run, run_multi};
pub use config::{Config, ConfigError};
