#!/usr/bin/env bash
# bench/dashboard.sh [N] [SECONDS]   (defaults 100 containers, 60 s; run as root)
#
# CPU and memory of a dashboard watching N idle containers, side by side:
#   1. berth (embedded engine): the dashboard process plus every `berth monitor`
#   2. berth -H <private dockerd>: the dashboard plus dockerd, containerd and the shims
#   3. oxker against the same dockerd: oxker plus dockerd, containerd and the shims
# Each runs in a tmux pane (200x50) at its default refresh; after a 10 s settle, CPU time
# (utime+stime from /proc/PID/stat) is summed over SECONDS and reported as % of one core;
# RSS is the dashboard's own. oxker: `cargo install oxker --root /opt/oxker` (or OXKER=path).
# Row 1b is the embedded engine with nothing running (the N containers killed, still
# listed): the dashboard alone, which should cost nothing.
# ONLY=berth: rows 1 and 1b only (no dockerd). BERTH_BIN=path: skip the release build.
set -euo pipefail
N=${1:-100}
SECS=${2:-60}
REPO=$(cd "$(dirname "$0")/.." && pwd)
FIX=${BERTH_FIXTURES:-$REPO/../shared/fixtures}
OXKER=${OXKER:-$(command -v oxker || echo /opt/oxker/bin/oxker)}
HZ=$(getconf CLK_TCK)

if [ -z "${BERTH_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --quiet)
  BERTH_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/berth
fi
BERTH=$BERTH_BIN
IMG=$REPO/target/test-images
[ -s "$IMG/digests.txt" ] || "$FIX/make-test-images.sh" "$IMG" >/dev/null

W=$(mktemp -d /tmp/berth-bench-dash.XXXXXX)
DPID=""
cleanup() {
  set +e
  tmux -L benchdash kill-server 2>/dev/null
  BERTH_ROOT=$W/root "$BERTH" ps -aq | xargs -r env BERTH_ROOT=$W/root "$BERTH" rm -f >/dev/null 2>&1
  if [ -n "$DPID" ]; then
    docker -H "unix://$W/docker.sock" ps -aq | xargs -r docker -H "unix://$W/docker.sock" rm -f >/dev/null 2>&1
    kill "$DPID"; for _ in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  fi
  grep -o "$W[^ ]*" /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

ticks() { # sum of utime+stime over PIDs
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
measure() { # LABEL DASH_PID PIDS_FN -> prints "% of a core" and RSS
  local label=$1 dash=$2 fn=$3 a b
  sleep 10
  a=$(ticks $($fn))
  sleep "$SECS"
  b=$(ticks $($fn))
  local rss; rss=$(awk '/VmRSS/ {print $2}' "/proc/$dash/status")
  awk -v l="$label" -v a="$a" -v b="$b" -v hz="$HZ" -v s="$SECS" -v r="$rss" \
    'BEGIN { printf "%-28s CPU %6.2f %% of a core   dashboard RSS %6.1f MB\n", l, (b - a) * 100 / hz / s, r / 1024 }'
}
dash_pid() { pgrep -f "$1" | head -1; }
# A new session right after kill-server can hit the dying server ("server exited
# unexpectedly"): wait for it to be gone.
tkill() { tmux -L benchdash kill-server 2>/dev/null || true; sleep 1; }

# 1. embedded engine
export BERTH_ROOT=$W/root
"$BERTH" load -i "$IMG/busybox.tar" >/dev/null
for i in $(seq 1 "$N"); do "$BERTH" run -d --network none --name "idle$i" testimg/busybox sleep 36000 >/dev/null; done
tmux -L benchdash new-session -d -s b -x 200 -y 50 "BERTH_ROOT=$BERTH_ROOT $BERTH"
sleep 1
BD=$(dash_pid "^$BERTH$")
# Only this root's monitors (other berth processes may run on the machine).
local_pids() { echo "$BD"; pgrep -f "berth monitor --root $BERTH_ROOT "; }
measure "berth (embedded)" "$BD" local_pids
"$BERTH" ps -q | xargs -r "$BERTH" kill >/dev/null
for _ in $(seq 1 100); do [ -z "$("$BERTH" ps -q)" ] && break; sleep 0.2; done
# Statuses say "Exited (137) 5 seconds ago" for a minute, which the list shows changing
# every second: measure once they count minutes (nothing visible changes for 10 s then).
sleep "${IDLE_SETTLE:-50}"
measure "berth, nothing running" "$BD" local_pids
tkill
"$BERTH" ps -aq | xargs -r "$BERTH" rm -f >/dev/null
[ "${ONLY:-}" = berth ] && exit 0

# 2 and 3: a private dockerd with the same containers
dockerd --data-root "$W/docker" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" -H "unix://$W/docker.sock" \
  --iptables=false >"$W/dockerd.log" 2>&1 &
DPID=$!
export DOCKER_HOST=unix://$W/docker.sock
for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker load -i "$IMG/busybox.tar" >/dev/null
for i in $(seq 1 "$N"); do docker run -d --network none testimg/busybox sleep 36000 >/dev/null; done
# This dockerd's containerd and shims only (their command lines name its exec root).
docker_pids() { echo "$DPID"; pgrep -f "containerd --config $W"; pgrep -f "containerd-shim.*$W"; }
daemon_pids() { docker_pids | sort -u; }

tmux -L benchdash new-session -d -s b -x 200 -y 50 "$BERTH -H $DOCKER_HOST"
sleep 1
BD=$(pgrep -f "^$BERTH -H" | head -1)
with_berth() { echo "$BD"; daemon_pids; }
measure "berth -H dockerd (+daemon)" "$BD" with_berth
tkill

if [ -x "$OXKER" ]; then
  tmux -L benchdash new-session -d -s b -x 200 -y 50 "$OXKER"
  sleep 1
  OX=$(pgrep -f "^$OXKER" | head -1)
  with_oxker() { echo "$OX"; daemon_pids; }
  measure "oxker (+daemon)" "$OX" with_oxker
  tkill
else
  echo "oxker not found (cargo install oxker --root /opt/oxker): skipping its row"
fi
baseline_pids() { daemon_pids; }
measure "dockerd alone (baseline)" "$DPID" baseline_pids
