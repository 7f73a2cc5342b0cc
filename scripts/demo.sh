#!/usr/bin/env bash
# The README's first command: builds yadokari, brings up a tunnel between
# two network namespaces (strongSwan on one side if installed, yadokarid on
# the other), sends ping and iperf3 traffic through it, prints
# `yadokari list-sas`, and tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "demo.sh: run as root (it creates network namespaces and a TUN device): scripts/demo.sh as root, or sudo scripts/demo.sh"; exit 2; }
scripts/install-deps.sh
echo "==> building (release)"
cargo build --release --locked -p yadokarid -p yadokari --bins --examples
YK_BIN_DIR="$PWD/target/release" exec target/release/examples/demo
