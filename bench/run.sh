#!/usr/bin/env bash
# bench/run.sh [N]: start→exit wall time of `true` in a busybox container, interleaved:
#   berth run --rm busybox true
#   docker run --rm --network none busybox true   (a private dockerd started here)
#   runc run on a prepared bundle (busybox rootfs)
# Prints the median of N runs (default 20) of each and berth's ratios, then the private
# memory (Pss, /proc/PID/smaps_rollup) of one idle `berth monitor`, as it runs and with
# BERTH_MONITOR_NO_TRIM=1 (median of 3 containers each). Needs root, the
# release build (cargo build --release) and the fixture images (built on demand).
#
# Measured here (2 vCPU VM shared with other builds, ext4 with discard, cgroup v1); the
# machine's load moves every number, the ratio to docker stays about 6x:
#   N=20: berth 53.5 ms, docker 324.1 ms (6.1x), runc 40.5 ms
#   N=15 under heavy load: berth 112.8 ms, docker 678.7 ms (6.0x), runc 60.9 ms
#   berth alone on a quiet machine: 20-30 ms per `run --rm busybox true`.
# Of berth's own time, ~9 ms is the kernel moving the init into the v1 cgroups (the
# cgroup.procs write) and ~5 ms libseccomp compiling Docker's profile (runc's bundle here
# has no seccomp); x32 is left out of the filter where the kernel lacks it (it cost 5 ms more).
set -euo pipefail
N=${1:-20}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=$HERE/target/release/berth
FIX=${BERTH_FIXTURES:-$HERE/../shared/fixtures}
IMG=$HERE/target/test-images
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
DOCKERD_PID=
cleanup() {
    set +e
    if [ -n "$DOCKERD_PID" ]; then kill "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null; fi
    grep -o "$WORK[^ ]*" /proc/mounts | sort -r | xargs -r umount -l
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BERTH" ] || { echo "build first: cargo build --release" >&2; exit 1; }
if [ ! -s "$IMG/digests.txt" ]; then "$FIX/make-test-images.sh" "$IMG" >/dev/null; fi

# berth: a state root holding busybox.
export BERTH_ROOT=$WORK/berth
"$BERTH" load -i "$IMG/busybox.tar" >/dev/null
"$BERTH" tag testimg/busybox busybox
"$BERTH" run --rm busybox true

# docker: a private daemon with the same image.
mkdir -p "$WORK/docker"
dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" --pidfile "$WORK/docker/pid" \
    -H "unix://$WORK/docker/sock" --iptables=false >"$WORK/docker/log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix://$WORK/docker/sock DOCKER_CONFIG=$WORK/docker/config
for _ in $(seq 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker load -i "$IMG/busybox.tar" >/dev/null
DIMG=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep busybox | head -1)
docker run --rm --network none "$DIMG" true

# runc: a bundle over the unpacked busybox layer.
B=$WORK/runc
mkdir -p "$B/rootfs"
L=$(jq -r '.layers[0].digest' "$IMG/oci/busybox/blobs/sha256/$(jq -r '.manifests[0].digest' "$IMG/oci/busybox/index.json" | cut -d: -f2)" | cut -d: -f2)
tar -xzf "$IMG/oci/busybox/blobs/sha256/$L" -C "$B/rootfs"
(cd "$B" && runc spec && jq '.process.terminal=false | .process.args=["true"]' config.json >c && mv c config.json)
runc --root "$WORK/runc-state" run --bundle "$B" bench-warm >/dev/null

ms() { echo $(( ($2 - $1) / 1000 )); }   # microseconds
declare -a TB TD TR
for i in $(seq "$N"); do
    t0=$(date +%s%N); "$BERTH" run --rm busybox true; t1=$(date +%s%N); TB+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); docker run --rm --network none "$DIMG" true; t1=$(date +%s%N); TD+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); runc --root "$WORK/runc-state" run --bundle "$B" "bench-$i" >/dev/null; t1=$(date +%s%N); TR+=($(ms "$t0" "$t1"))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
mb=$(median "${TB[@]}"); md=$(median "${TD[@]}"); mr=$(median "${TR[@]}")
printf '%-44s %8.1f ms\n' "berth run --rm busybox true" "$(echo "$mb/1000" | bc -l)"
printf '%-44s %8.1f ms\n' "docker run --rm --network none busybox true" "$(echo "$md/1000" | bc -l)"
printf '%-44s %8.1f ms\n' "runc run (prepared bundle)" "$(echo "$mr/1000" | bc -l)"
printf 'docker/berth %.1fx   runc/berth %.2fx   (N=%d, medians)\n' "$(echo "$md/$mb" | bc -l)" "$(echo "$mr/$mb" | bc -l)" "$N"

# An idle monitor's memory: one `sleep` container at a time, measured 2 s after start.
monitor_pss() {   # ENV=VALUE... -> "pss anon file" in KiB
    local id pid
    id=$(env "$@" "$BERTH" run -d busybox sleep 1000)
    sleep 2
    pid=$(pgrep -f "monitor --root $BERTH_ROOT .*$id" | head -1)
    awk '/^Pss:/{p=$2} /^Pss_Anon:/{a=$2} /^Pss_File:/{f=$2} END {print p, a, f}' "/proc/$pid/smaps_rollup"
    "$BERTH" rm -f "$id" >/dev/null
}
for mode in trim notrim; do
    declare -a P=() A=() F=()
    for _ in 1 2 3; do
        if [ $mode = trim ]; then r=$(monitor_pss BERTH_MONITOR_NO_TRIM=0); else r=$(monitor_pss BERTH_MONITOR_NO_TRIM=1); fi
        read -r p a f <<<"$r"; P+=("$p"); A+=("$a"); F+=("$f")
    done
    label="idle monitor Pss"; [ $mode = notrim ] && label="idle monitor Pss, BERTH_MONITOR_NO_TRIM=1"
    printf '%-44s %8d KiB (anon %d, file %d)\n' "$label" "$(median "${P[@]}")" "$(median "${A[@]}")" "$(median "${F[@]}")"
done
