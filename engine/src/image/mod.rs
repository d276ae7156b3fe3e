//! Images as formats and rules, over the store's handles: references, configs, layer
//! compression and safe unpacking ([`layer::ensure_layer`]), committing an image
//! ([`commit::commit_image`]), resolving what a user typed, docker's `rmi`/`prune` rules,
//! docker-archive / OCI-layout load and save, rootfs import, and the built-in hello image.
//! Everything here is a blocking function over `&ImageStore` (and a staging directory where
//! it needs one); the async wrappers live in `crate::local`.
pub(crate) mod archive;
pub mod commit;
pub(crate) mod compression;
pub(crate) mod config;
pub(crate) mod hello;
pub(crate) mod import;
pub mod layer;
pub mod reference;
pub(crate) mod remove;
pub(crate) mod resolve;
pub(crate) mod unpack;
