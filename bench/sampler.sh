#!/usr/bin/env bash
# bench/sampler.sh [COUNTS...]: the stats sampler's CPU time per container per sample with
# N idle busybox `sleep` containers on the embedded engine (target ≤ 20 µs), then, side by
# side, `docker stats --no-stream` wall time and the CPU of dockerd, containerd and the
# shims for the same N on a private dockerd. Runs tests/watch.rs `bench_sampler` (ignored
# by default). Needs root. Default counts: 100 500. BENCH_DOCKER=0 skips docker (starting
# 500 docker containers takes minutes). Containers are removed afterwards.
#
# The engine is built optimised (a profile override on the dev profile; BENCH_PROFILE
# replaces it) so the figure is what a release build spends.
#
# The sampler per sample and container: pread at offset 0 on files kept open between
# samples: cpuacct.usage, blkio and /proc/<pid>/net/dev always; memory usage and pids.current
# when the CPU time moved; memory.stat when the usage moved; everything every 10th round;
# and one /proc/stat per round.
# Measured here (2 vCPU VM shared with other builds, cgroup v1, kernel 6.18), 2026-11-23:
#   berth  n=100: sampler 14.0 µs CPU/container/sample (user 5.6, sys 8.3); `berth stats
#                 --no-stream` 1.04 s wall (one 1 s interval), 30 ms CPU
#   berth  n=500: sampler 25.5–29.6 µs (user 7.5, sys 18–22) over two runs; `berth stats
#                 --no-stream` 1.25–1.30 s wall, 138–169 ms CPU
#   docker n=100: `docker stats --no-stream` 3.32 s wall, dockerd+containerd+shims 860 ms CPU
#   docker n=500: `docker stats --no-stream` 7.14 s wall, dockerd+containerd+shims 5930 ms CPU
#   (before keeping files open: 136 µs/container/sample, 106 of it open/close in the kernel)
# After lending figures while the CPU time stands still and keying open files by name (same
# machine, other builds running, BENCH_DOCKER=0):
#   berth  n=100: 11.9 µs; n=500: 9.5 µs CPU/container/sample (sys 8.8); `berth stats
#                 --no-stream` at 500: 1.14 s wall, 126 ms CPU
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${*:-100 500}
BENCH_COUNTS="$COUNTS" cargo test ${BENCH_PROFILE:---config profile.dev.package.berth-engine.opt-level=3} --test watch bench_sampler -- --ignored --nocapture 2>&1 | grep -E '^BENCH|test result|panicked'
