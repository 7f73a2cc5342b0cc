#!/usr/bin/env bash
# Installs everything yadokari's build, tests, demo and benchmarks need on a
# fresh Debian 12 machine (run as root). Idempotent: it only installs what is
# missing, so re-running it is cheap.
set -euo pipefail

PKGS=(
  # peers and tools for the interop tests, the demo and the fixtures
  strongswan-charon strongswan-swanctl strongswan-pki
  # openssl + gcm plugins (AES-GCM, ChaCha20), kernel-libipsec, curve25519
  libstrongswan-standard-plugins libcharon-extra-plugins libstrongswan-extra-plugins
  openssl
  # traffic, captures and the differential decoder
  iperf3 tshark tcpdump
  # namespaces, veth, NAT router
  iproute2 iputils-ping nftables procps util-linux
  # build
  build-essential pkg-config python3 ca-certificates
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections || true
  apt-get update -q
  # --no-install-recommends keeps strongSwan from pulling in unrelated services
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ "${YK_NEED_FUZZ:-0}" == 1 ]] && ! cargo fuzz --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
echo "install-deps: ok"
