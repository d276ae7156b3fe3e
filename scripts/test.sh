#!/usr/bin/env bash
# The whole test suite, from a bare Debian 12 machine (as root): system packages, lints,
# then every test. Needs ../shared/fixtures (or BERTH_FIXTURES) for the offline test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
export CARGO_TERM_COLOR=never
# Incremental caches double the target dir and a one-shot run never reuses them.
export CARGO_INCREMENTAL=0
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
mkdir -p target
cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee target/test-output.txt
