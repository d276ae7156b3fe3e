//! Image formats: references, digests, configs, layer compression and safe unpacking,
//! docker-archive / OCI-layout load and save, rootfs import, and the built-in hello image.
pub mod archive;
pub mod compression;
pub mod config;
pub mod digest;
pub mod hello;
pub mod import;
pub mod reference;
pub mod unpack;
