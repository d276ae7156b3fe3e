//! Talking to OCI distribution registries: pull, push, login, and the credentials file.
pub mod auth;
pub mod pull;
pub mod push;
