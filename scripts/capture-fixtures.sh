#!/usr/bin/env bash
# capture-fixtures.sh — record real strongSwan ⇄ strongSwan sessions as test
# fixtures (pcap/pcapng + Wireshark key tables + logged secrets + tshark
# decode) under tests/fixtures/pcap/.
#
#   scripts/capture-fixtures.sh [SCENARIO...]      (as root)
#
# Each scenario runs two charons (kernel-libipsec) in fresh network
# namespaces on documentation addresses, via the yadokari-testbed crate's
# `capture-fixtures` example; see tests/fixtures/README.md for what each
# file holds. Needs: root, strongswan-charon, strongswan-swanctl,
# strongswan-pki, libstrongswan-standard-plugins, libcharon-extra-plugins,
# tcpdump, tshark (editcap), nftables, iproute2, openssl.
# Fails if the fixtures grow beyond 2 MB in total.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tests/fixtures/pcap
[[ $(id -u) == 0 ]] || { echo "capture-fixtures.sh: needs root (network namespaces)" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$out"

if [[ $# -eq 0 ]]; then
  # a full run replaces everything, so no stale file survives a rename
  find "$out" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.keys' \
    -o -name '*.esp_sa' -o -name '*.sk.txt' -o -name '*.tshark.json' -o -name '*.summary.txt' \
    -o -name '*.tcpdump.txt' \) -delete
fi

(cd "$root" && cargo run --quiet -p yadokari-testbed --example capture-fixtures -- "$out" "$@")
rm -f "$out"/*.tcpdump.txt

total=$(du -cb "$out" | tail -1 | cut -f1)
ls -l "$out"
echo "fixtures: $(find "$out" -maxdepth 1 -type f | wc -l) files, $total bytes"
if (( total > 2 * 1024 * 1024 )); then
  echo "capture-fixtures.sh: fixtures exceed 2 MB" >&2
  exit 1
fi
