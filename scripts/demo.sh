#!/usr/bin/env bash
# Installs what berth needs, builds it, and opens it on the embedded engine
# (state in /var/lib/berth). Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh run
cargo build --release --quiet
install -m 0755 target/release/berth /usr/local/bin/berth
echo "berth installed to /usr/local/bin/berth"
exec berth
