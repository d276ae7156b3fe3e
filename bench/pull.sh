#!/usr/bin/env bash
# bench/pull.sh [RUNS]   (default 5; run as root from anywhere in the repository)
#
# `berth pull` vs `docker pull` of the same ~50 MB, 6-layer image from the same loopback
# registry, cold store on both sides: berth gets a fresh BERTH_ROOT each run; a private
# dockerd (own data root and socket) gets `docker rmi` + `image prune -a` before each run.
# Runs are interleaved (and alternate which tool goes first) so drift hits both alike.
# Prints each run, the medians and the ratio berth/docker.
#
# Needs: docker.io, docker-registry, skopeo (see ../shared/fixtures/REGISTRY-NOTES.md).
#
# Measured 2026-11-23 (2 vCPU VM, dockerd 20.10 overlay2, 55 MB / 6 layers, 5 runs):
#   median berth 0.53 s, docker 1.41 s, ratio berth/docker 0.37.
# berth fetches 3 layers at once and unpacks each as soon as it is verified (its own
# snapshot, so no ordering wait); docker extracts layers one after another.
set -euo pipefail

RUNS=${1:-5}
REPO=$(cd "$(dirname "$0")/.." && pwd)
FIX=${BERTH_FIXTURES:-$REPO/../shared/fixtures}
[ -x "$FIX/start-registry.sh" ] || FIX=/work/shared/fixtures
[ -x "$FIX/start-registry.sh" ] || { echo "fixtures not found (set BERTH_FIXTURES)" >&2; exit 1; }
for t in dockerd docker skopeo sha256sum python3; do
  command -v "$t" >/dev/null || { echo "$t is required" >&2; exit 1; }
done

echo "building berth (release)..." >&2
(cd "$REPO" && cargo build --release --quiet)
BERTH=$REPO/target/release/berth

W=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
DPID=""
cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
  "$FIX/stop-registry.sh" "$W/registry" >/dev/null 2>&1 || true
  grep -o "$W[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# --- the image: 6 layers of ~8 MB gzip each (5 MB random + 3 MB random as base64 text) ---------
L=$W/layout
mkdir -p "$L/blobs/sha256" "$W/src"
diff_ids=() layers=()
for i in 1 2 3 4 5 6; do
  d=$W/src/l$i
  mkdir -p "$d/data$i"
  head -c 5M /dev/urandom > "$d/data$i/random.bin"
  head -c 3M /dev/urandom | base64 > "$d/data$i/text.txt"
  for k in $(seq 1 40); do head -c 20k /dev/urandom > "$d/data$i/small$k"; done
  tar -C "$d" --sort=name --mtime=2024-01-01 --owner=0 --group=0 --numeric-owner -cf "$W/l$i.tar" .
  diff_ids+=("sha256:$(sha256sum < "$W/l$i.tar" | cut -d' ' -f1)")
  gzip -n -6 < "$W/l$i.tar" > "$W/l$i.tar.gz"
  h=$(sha256sum < "$W/l$i.tar.gz" | cut -d' ' -f1)
  mv "$W/l$i.tar.gz" "$L/blobs/sha256/$h"
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$h\",\"size\":$(stat -c %s "$L/blobs/sha256/$h")}")
done
ids=$(printf '"%s",' "${diff_ids[@]}"); ids=${ids%,}
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[]}' "$ids" > "$W/config.json"
ch=$(sha256sum < "$W/config.json" | cut -d' ' -f1)
cp "$W/config.json" "$L/blobs/sha256/$ch"
ls=$(IFS=,; echo "${layers[*]}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$ch" "$(stat -c %s "$W/config.json")" "$ls" > "$W/manifest.json"
mh=$(sha256sum < "$W/manifest.json" | cut -d' ' -f1)
cp "$W/manifest.json" "$L/blobs/sha256/$mh"
echo '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$mh" "$(stat -c %s "$W/manifest.json")" > "$L/index.json"
total=$(du -cb "$L"/blobs/sha256/* | tail -1 | cut -f1)

# --- registry + push ------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$FIX/start-registry.sh" "$PORT" "$W/registry" >/dev/null
REF=127.0.0.1:$PORT/bench/multilayer:latest
skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false "oci:$L:latest" "docker://$REF"

# --- a private dockerd ------------------------------------------------------------------
mkdir -p "$W/docker"
dockerd --data-root "$W/docker/data" --exec-root "$W/docker/exec" --pidfile "$W/docker/dockerd.pid" \
  -H "unix://$W/docker/docker.sock" --iptables=false >"$W/docker/dockerd.log" 2>&1 </dev/null &
DPID=$!
export DOCKER_HOST=unix://$W/docker/docker.sock DOCKER_CONFIG=$W/docker/config
for _ in $(seq 1 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
docker version >/dev/null 2>&1 || { echo "dockerd did not start; log:" >&2; tail "$W/docker/dockerd.log" >&2; exit 1; }

now() { date +%s.%N; }
run_berth() {
  rm -rf "$W/berth"
  local t0; t0=$(now)
  BERTH_ROOT=$W/berth BERTH_CONFIG_DIR=$W/berth-config "$BERTH" pull -q "$REF" >/dev/null
  python3 -c "print(f'{$(now) - $t0:.3f}')"
}
run_docker() {
  docker rmi -f "$REF" >/dev/null 2>&1 || true
  docker image prune -af >/dev/null 2>&1 || true
  sync
  local t0; t0=$(now)
  docker pull -q "$REF" >/dev/null
  python3 -c "print(f'{$(now) - $t0:.3f}')"
}

echo "image: $REF, 6 layers, $((total / 1000000)) MB compressed; $RUNS cold runs each" >&2
b=() d=()
for i in $(seq 1 "$RUNS"); do
  sync
  if [ $((i % 2)) -eq 1 ]; then bt=$(run_berth); sync; dt=$(run_docker); else dt=$(run_docker); sync; bt=$(run_berth); fi
  b+=("$bt") d+=("$dt")
  printf 'run %d: berth %ss  docker %ss\n' "$i" "$bt" "$dt"
done
python3 - "${b[*]}" "${d[*]}" <<'EOF'
import statistics, sys
b = [float(x) for x in sys.argv[1].split()]
d = [float(x) for x in sys.argv[2].split()]
mb, md = statistics.median(b), statistics.median(d)
print(f"median: berth {mb:.3f}s  docker {md:.3f}s  ratio berth/docker {mb / md:.2f}")
EOF
