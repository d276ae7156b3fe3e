#!/usr/bin/env bash
# Installs the Debian 12 packages berth needs. Usage: scripts/deps.sh [run|test]
#   run:  what the binary needs at build and run time
#   test: that, plus what the test suite drives (dockerd, a registry, skopeo, tmux, runc...)
set -euo pipefail
mode=${1:-run}
# netavark + aardvark-dns (in /usr/lib/podman/) and iptables: container networks and published ports
pkgs=(libseccomp-dev pkg-config gcc libc6-dev netavark aardvark-dns iptables)
if [ "$mode" = test ]; then
  pkgs+=(docker.io docker-registry skopeo runc busybox-static tmux apache2-utils zstd curl iproute2 jq util-linux)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
