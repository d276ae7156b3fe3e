#!/usr/bin/env bash
# bench/network.sh [N] [REQUESTS]: networking, berth against docker (a private dockerd
# started here, --iptables=false so it leaves the host's firewall alone: its published
# ports go through its userland proxy on 127.0.0.1, as docker's do for loopback anyway):
#   1. run --rm busybox true on the default bridge network, start→exit, interleaved, N runs
#   2. requests/s through a published port to busybox httpd: ab -n REQUESTS -c 10 (no
#      keep-alive) against 127.0.0.1:PORT, 3 rounds each, interleaved
#   3. container-to-container TCP throughput on one user network: wget of a 512 MiB file
#      from busybox httpd in another container, 3 rounds each
# Prints medians. Needs root, the release build (cargo build --release), dockerd, ab
# (apache2-utils), netavark, and the fixture images (built on demand).
set -euo pipefail
N=${1:-20}
REQ=${2:-5000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BERTH=$HERE/target/release/berth
FIX=${BERTH_FIXTURES:-$HERE/../shared/fixtures}
IMG=$HERE/target/test-images
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
DOCKERD_PID=
cleanup() {
    set +e
    "$BERTH" ps -aq --no-trunc | xargs -r "$BERTH" rm -f >/dev/null
    "$BERTH" network rm benchnet >/dev/null 2>&1
    if [ -n "$DOCKERD_PID" ]; then
        docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
        docker network rm benchnet >/dev/null 2>&1
        kill "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null
    fi
    grep -o "$WORK[^ ]*" /proc/mounts | sort -r | xargs -r umount -l
    rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BERTH" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v ab >/dev/null || { echo "ab not found (apt-get install apache2-utils)" >&2; exit 1; }
if [ ! -s "$IMG/digests.txt" ]; then "$FIX/make-test-images.sh" "$IMG" >/dev/null; fi

export BERTH_ROOT=$WORK/berth
"$BERTH" load -i "$IMG/busybox.tar" >/dev/null
mkdir -p "$WORK/docker"
dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" --pidfile "$WORK/docker/pid" \
    -H "unix://$WORK/docker/sock" --iptables=false >"$WORK/docker/log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix://$WORK/docker/sock DOCKER_CONFIG=$WORK/docker/config
for _ in $(seq 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker load -i "$IMG/busybox.tar" >/dev/null
# Warm both (the first start makes the bridge, loads modules...).
"$BERTH" run --rm testimg/busybox true
docker run --rm testimg/busybox true

us() { echo $(( ($2 - $1) / 1000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# 1. start→exit on the default bridge.
declare -a B D
for _ in $(seq "$N"); do
    t0=$(date +%s%N); "$BERTH" run --rm testimg/busybox true; t1=$(date +%s%N); B+=($(us "$t0" "$t1"))
    t0=$(date +%s%N); docker run --rm testimg/busybox true; t1=$(date +%s%N); D+=($(us "$t0" "$t1"))
done
bm=$(median "${B[@]}"); dm=$(median "${D[@]}")
printf 'run --rm busybox true (bridge)   berth %7.1f ms   docker %7.1f ms   ratio %.2f\n' \
    "$(echo "$bm/1000" | bc -l)" "$(echo "$dm/1000" | bc -l)" "$(echo "$bm/$dm" | bc -l)"

# 2. requests/s through a published port.
HTTPD='mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www'
"$BERTH" run -d --name web -p 127.0.0.1::80 testimg/busybox sh -c "$HTTPD" >/dev/null
docker run -d --name web -p 127.0.0.1::80 testimg/busybox sh -c "$HTTPD" >/dev/null
BP=$("$BERTH" port web 80 | sed 's/.*://'); DP=$(docker port web 80 | head -1 | sed 's/.*://')
for p in "$BP" "$DP"; do for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/index.html" >/dev/null && break; sleep 0.1; done; done
rps() { ab -q -n "$REQ" -c 10 "http://127.0.0.1:$1/index.html" 2>/dev/null | awk '/Requests per second/ {print $4}'; }
declare -a BR DR
for _ in 1 2 3; do BR+=($(rps "$BP")); DR+=($(rps "$DP")); done
br=$(median "${BR[@]}"); dr=$(median "${DR[@]}")
printf 'ab -n %s -c 10 via 127.0.0.1      berth %7.0f req/s docker %7.0f req/s ratio %.2f\n' "$REQ" "$br" "$dr" "$(echo "$br/$dr" | bc -l)"

# 3. container to container on one user network.
"$BERTH" network create benchnet >/dev/null
docker network create benchnet >/dev/null
BIG='mkdir -p /w && dd if=/dev/zero of=/w/big bs=1M count=512 2>/dev/null && exec httpd -f -p 80 -h /w'
"$BERTH" run -d --name big --network benchnet testimg/busybox sh -c "$BIG" >/dev/null
docker run -d --name big --network benchnet testimg/busybox sh -c "$BIG" >/dev/null
sleep 3
GET='read s _ < /proc/uptime; wget -qO /dev/null http://big/big; read e _ < /proc/uptime; awk "BEGIN {printf \"%.0f\", 512/($e-$s)}"'
declare -a BT DT
for _ in 1 2 3; do
    BT+=($("$BERTH" run --rm --network benchnet testimg/busybox sh -c "$GET"))
    DT+=($(docker run --rm --network benchnet testimg/busybox sh -c "$GET"))
done
bt=$(median "${BT[@]}"); dt=$(median "${DT[@]}")
printf 'TCP container→container (wget)    berth %7.0f MB/s  docker %7.0f MB/s  ratio %.2f\n' "$bt" "$dt" "$(echo "$bt/$dt" | bc -l)"
echo "(N=$N starts, $REQ requests x3, 512 MiB x3; medians, interleaved)"
