#!/usr/bin/env bash
# bench-daemon.sh — daemon-level figures from one run, in network namespaces:
#
#   1. IKE SA (+ CHILD SA) set-ups per second, N initiated at once,
#      yadokari ⇄ yadokari and strongSwan ⇄ strongSwan (charon +
#      kernel-libipsec), median of YK_BENCH_REPS fresh-daemon reps, and the
#      responder's memory per established IKE SA + CHILD SA (VmRSS after the
#      burst minus before, divided by N);
#   2. time from the command (`yadokari up`, `swanctl --initiate`) to the
#      CHILD SA being established, median of YK_BENCH_UP_REPS, for
#      yadokari → yadokari, yadokari → strongSwan, strongSwan → yadokari and
#      strongSwan → strongSwan;
#   3. iperf3 TCP throughput through IKE-negotiated AES-GCM-128 tunnels
#      (yadokari ⇄ yadokari in UDP and as plain ESP, yadokari ⇄ strongSwan,
#      strongSwan ⇄ strongSwan) and over the plain veth, median of
#      YK_BENCH_RUNS runs of YK_BENCH_SECONDS s;
#   4. the same yadokari ⇄ yadokari tunnel (ESP in UDP) without and then
#      with a bounded garbage flood (YK_BENCH_FLOOD_RATE datagrams/s:
#      forged-SPI ESP, junk behind the non-ESP marker, junk and runts on
#      port 500, oversized datagrams) sent to the responder from a third
#      namespace, same run.
#
#   scripts/bench-daemon.sh [PART...]       (parts: setup setup-pq up throughput flood; default all but setup-pq)
#
# Environment: YK_BENCH_N ("100 400": burst sizes), YK_BENCH_REPS (3),
# YK_BENCH_UP_REPS (5), YK_BENCH_RUNS (3), YK_BENCH_SECONDS (10),
# YK_BENCH_FLOOD_RATE (20000: garbage datagrams per second in the flood part),
# YK_BENCH_OUT (output folder; default /tmp/yk-bench-daemon-DATE),
# YK_BENCH_NO_BUILD=1 (use the binaries already in CARGO_TARGET_DIR),
# YK_BIN_DIR (take yadokarid and yadokari from there instead).
#
# Needs root, iproute2, iperf3, strongSwan (charon with kernel-libipsec,
# swanctl). Holds /tmp/yk-cpu.lock while measuring, so no other CPU-heavy
# job that honours it skews the figures. The work is done by
# crates/daemon/examples/bench_daemon.rs (yadokari-testbed): every scenario
# makes its own uniquely named namespaces on documentation addresses
# (RFC 5737) and removes them, with every process inside, before the next;
# this script also removes its namespaces on exit or interruption.
# Results: OUT/table.md (markdown), OUT/{setups,up,throughput,flood}.tsv (raw),
# OUT/logs/ (daemon logs of each burst).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
OUT=${YK_BENCH_OUT:-/tmp/yk-bench-daemon-$(date +%Y%m%d-%H%M%S)}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-daemon: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
for t in ip iperf3 swanctl flock ss; do command -v "$t" >/dev/null || die "$t not found"; done

if [[ ${YK_BENCH_NO_BUILD:-0} != 1 ]]; then
  say "building release binaries and the bench program ..."
  (cd "$root" && cargo build --release -q -p yadokarid -p yadokari --bins --example bench_daemon) \
    || die "build failed"
fi
bin=$CARGO_TARGET_DIR/release
[[ -x $bin/examples/bench_daemon ]] || die "$bin/examples/bench_daemon missing"

# The bench program names its namespaces yk<scenario>-<its pid>-<n>; on an
# interruption that skips its own clean-up, remove what it left behind.
child=
cleanup() {
  [[ -n $child ]] || return 0
  kill -TERM "$child" 2>/dev/null || true
  wait "$child" 2>/dev/null || true
  local ns p
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^ykbk[a-z]*-$child-[0-9]+-[lrnf]\$" || true); do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec 9>/tmp/yk-cpu.lock
say "waiting for /tmp/yk-cpu.lock ..."
flock 9
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg); commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "($(cd "$root" && git status --short 2>/dev/null | grep -vc '^??' || true) modified tracked files)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "kernel: $(uname -r); cores: $(nproc)"
  echo "strongSwan: $(dpkg-query -W -f='${Version}' libstrongswan 2>/dev/null || echo '?')"
} > "$OUT/machine.txt"

# YK_BIN_DIR may point the program at other yadokarid/yadokari binaries
# (to compare a patched daemon); the bench program itself comes from $bin.
YK_BIN_DIR=${YK_BIN_DIR:-$bin} YK_BENCH_OUT=$OUT "$bin/examples/bench_daemon" "$@" &
child=$!
wait "$child"
rc=$?
child=
say "raw results: $OUT"
exit "$rc"
