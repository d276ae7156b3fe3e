#!/usr/bin/env bash
# bench/keylatency.sh [KEYS]   (default 200 keys; run as root)
#
# Keystroke-to-echo latency in a container shell, through a real PTY (bench/keylatency.py
# types one character at a time and times until it shows in what the program draws):
#   1. berth dashboard, embedded engine: `e` opens a shell in the terminal pane
#   2. `docker exec -it CTR sh` on a private dockerd (the CLI alone, no dashboard)
#   3. berth dashboard on that dockerd (`berth -H`): the same pane over the hijacked exec
# Prints p50/p95/max per row. ONLY=berth runs row 1 only. BERTH_BIN=path skips the build.
set -euo pipefail
KEYS=${1:-200}
REPO=$(cd "$(dirname "$0")/.." && pwd)
FIX=${BERTH_FIXTURES:-$REPO/../shared/fixtures}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
if [ -z "${BERTH_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --quiet)
  BERTH_BIN=$TARGET/release/berth
fi
BERTH=$BERTH_BIN
IMG=$REPO/target/test-images
[ -s "$IMG/digests.txt" ] || "$FIX/make-test-images.sh" "$IMG" >/dev/null
LAT="python3 $REPO/bench/keylatency.py --keys $KEYS"

W=$(mktemp -d /tmp/berth-bench-lat.XXXXXX)
DPID=""
cleanup() {
  set +e
  BERTH_ROOT=$W/root "$BERTH" rm -f lat >/dev/null 2>&1
  if [ -n "$DPID" ]; then
    docker -H "unix://$W/docker.sock" rm -f lat >/dev/null 2>&1
    kill "$DPID"; for _ in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  fi
  grep -o "$W[^ ]*" /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

export BERTH_ROOT=$W/root
"$BERTH" load -i "$IMG/busybox.tar" >/dev/null
"$BERTH" run -d --network none --name lat testimg/busybox sleep 36000 >/dev/null
printf '%-34s %s\n' "berth dashboard (embedded)" "$($LAT --dashboard -- "$BERTH")"
[ "${ONLY:-}" = berth ] && exit 0

dockerd --data-root "$W/docker" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" -H "unix://$W/docker.sock" \
  --iptables=false >"$W/dockerd.log" 2>&1 &
DPID=$!
export DOCKER_HOST=unix://$W/docker.sock
for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker load -i "$IMG/busybox.tar" >/dev/null
docker run -d --network none --name lat testimg/busybox sleep 36000 >/dev/null
printf '%-34s %s\n' "docker exec -it (dockerd)" "$($LAT -- docker exec -it lat sh)"
printf '%-34s %s\n' "berth -H dockerd dashboard" "$($LAT --dashboard -- "$BERTH" -H "$DOCKER_HOST")"
