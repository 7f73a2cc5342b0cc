#!/usr/bin/env bash
# The README's first command: build yadokari and bring up a live tunnel
# between two network namespaces, push traffic through it, show the SAs,
# and tear everything down.
#
# Status: the daemon (`yadokarid`) that joins the IKE core and the ESP data
# plane does not exist yet (issue "yadokarid and yadokari"). Until it does,
# this demo runs the pieces that exist: it builds the workspace, and runs the
# ESP data plane between two namespaces with manually keyed SAs if its
# example is present.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "demo.sh: run as root (it creates network namespaces)"; exit 2; }
scripts/install-deps.sh
cargo build --release --workspace --examples
if [[ -x scripts/demo-manual-sa.sh ]]; then
  exec scripts/demo-manual-sa.sh
fi
echo "demo.sh: yadokarid is not built yet; nothing more to show."
echo "demo.sh: what is missing: the daemon that wires IKE to the data plane (see README, Status)."
exit 0
