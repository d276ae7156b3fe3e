#!/usr/bin/env bash
# bench/volumes.sh [N]: what volumes add to start→exit of `true` in a busybox container,
# interleaved, berth against docker (a private dockerd started here):
#   run --rm busybox true                          (no volume: the baseline)
#   run --rm -v benchvol:/data busybox true        (an existing named volume)
#   run --rm volimg true                           (the image's VOLUME /data holds 200 files:
#                                                   a new anonymous volume, filled, then removed)
# Prints the median of N runs (default 15) of each. Needs root, the release build
# (cargo build --release), dockerd and the fixture images (built on demand).
set -euo pipefail
N=${1:-15}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=$HERE/target/release/berth
FIX=${BERTH_FIXTURES:-$HERE/../shared/fixtures}
IMG=$HERE/target/test-images
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
DOCKERD_PID=
cleanup() {
    set +e
    "$BERTH" ps -aq --no-trunc | xargs -r "$BERTH" rm -f >/dev/null
    if [ -n "$DOCKERD_PID" ]; then kill "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null; fi
    grep -o "$WORK[^ ]*" /proc/mounts | sort -r | xargs -r umount -l
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BERTH" ] || { echo "build first: cargo build --release" >&2; exit 1; }
if [ ! -s "$IMG/digests.txt" ]; then "$FIX/make-test-images.sh" "$IMG" >/dev/null; fi
FILL='mkdir -p /data && for i in $(seq 200); do echo $i > /data/f$i; done'

export BERTH_ROOT=$WORK/berth
"$BERTH" load -i "$IMG/busybox.tar" >/dev/null
"$BERTH" run --name src testimg/busybox sh -c "$FILL"
"$BERTH" commit -c 'VOLUME /data' src volimg >/dev/null
"$BERTH" rm src >/dev/null
"$BERTH" volume create benchvol >/dev/null

mkdir -p "$WORK/docker"
dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" --pidfile "$WORK/docker/pid" \
    -H "unix://$WORK/docker/sock" --iptables=false >"$WORK/docker/log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix://$WORK/docker/sock DOCKER_CONFIG=$WORK/docker/config
for _ in $(seq 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker load -i "$IMG/busybox.tar" >/dev/null
docker run --name src --network none testimg/busybox sh -c "$FILL"
docker commit -c 'VOLUME /data' src volimg >/dev/null
docker rm src >/dev/null
docker volume create benchvol >/dev/null

ms() { echo $(( ($2 - $1) / 1000 )); }   # microseconds
declare -a B0 B1 B2 D0 D1 D2
for _ in $(seq "$N"); do
    t0=$(date +%s%N); "$BERTH" run --rm testimg/busybox true; t1=$(date +%s%N); B0+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); docker run --rm --network none testimg/busybox true; t1=$(date +%s%N); D0+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); "$BERTH" run --rm -v benchvol:/data testimg/busybox true; t1=$(date +%s%N); B1+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); docker run --rm --network none -v benchvol:/data testimg/busybox true; t1=$(date +%s%N); D1+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); "$BERTH" run --rm volimg true; t1=$(date +%s%N); B2+=($(ms "$t0" "$t1"))
    t0=$(date +%s%N); docker run --rm --network none volimg true; t1=$(date +%s%N); D2+=($(ms "$t0" "$t1"))
done
[ "$("$BERTH" volume ls -q)" = benchvol ] || { echo "berth left volumes behind" >&2; exit 1; }
[ "$(docker volume ls -q)" = benchvol ] || { echo "docker left volumes behind" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
row() { printf '%-36s berth %7.1f ms   docker %7.1f ms\n' "$1" "$(echo "$(median "${@:2:N}")/1000" | bc -l)" "$(echo "$(median "${@:N+2}")/1000" | bc -l)"; }
row "run --rm busybox true" "${B0[@]}" "${D0[@]}"
row "run --rm -v benchvol:/data ... true" "${B1[@]}" "${D1[@]}"
row "run --rm volimg true (copy-up)" "${B2[@]}" "${D2[@]}"
echo "(N=$N, medians, interleaved)"
