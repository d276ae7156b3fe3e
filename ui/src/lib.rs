//! berth's terminal dashboard (ratatui). It speaks only to
//! `berth_engine::api::ContainerBackend`, so it looks and behaves the same on the embedded
//! engine and on Docker.
//!
//! Organised by pane, not by layer: each list (`panes/`), detail tab (`detail/`), dialog
//! (`dialogs/`) and the terminal pane (`terminal/`) owns its state, its keys and its
//! drawing; `app` routes keys, clicks and messages between them; `run` is the event loop
//! and `tasks` the background work. Adding a pane is a file and a line in the router.
pub mod app;
pub mod config;
pub mod ctx;
pub mod detail;
pub mod dialogs;
pub mod footer;
pub mod handled;
pub mod header;
pub mod history;
pub mod hit;
pub mod json;
pub mod layout;
pub mod message;
pub mod panes;
pub mod run;
pub mod tasks;
pub mod terminal;
pub mod text_field;
pub mod vocab;
pub mod widgets;

pub use config::{Config, ConfigError};
pub use run::{UiError, run, run_multi};
