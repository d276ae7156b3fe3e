//! The builder's front end: everything `berth build` decides before it runs anything.
//!
//! A Dockerfile is parsed once, at the edge ([`dockerfile`]), into typed instructions with
//! their line numbers; Docker's variable expansion ([`expand`]) and its ARG/ENV scoping
//! ([`plan`]) turn them into a [`plan::BuildPlan`] of stages and, one instruction at a time
//! against the base image's config, into typed [`plan::Step`]s with the image-config
//! effects of each metadata instruction ([`config`]) and docker-like history lines. The
//! build context ([`context`]) is read from a directory, a tar or a bare Dockerfile on
//! stdin, filtered by `.dockerignore` with Docker's own matching rules ([`dockerignore`]),
//! and hashed for the layer cache, whose key policy is a pure function ([`cache`]).
//!
//! Nothing here starts a container or touches the store: the executor (RUN through the
//! runtime, COPY into a snapshot, commit) calls these functions and stays small.
// Wired into the executor and the CLI in a later step; until then only the tests call it.
#![allow(dead_code)]

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod context;
#[cfg(test)]
mod docker_check;
pub(crate) mod dockerfile;
pub(crate) mod dockerignore;
pub(crate) mod error;
pub(crate) mod expand;
pub(crate) mod plan;
