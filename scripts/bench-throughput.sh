#!/usr/bin/env bash
# bench-throughput.sh — iperf3 TCP throughput between two network namespaces
# through: plain veth, yadokari ⇄ yadokari (manual AES-128-GCM SAs, the
# ykdp-peer example), strongSwan ⇄ strongSwan (charon + kernel-libipsec,
# AES-128-GCM) and boringtun (user-space WireGuard, if boringtun-cli and wg
# are available). Each scenario: YK_BENCH_RUNS runs (default 3) of
# YK_BENCH_SECONDS (default 10) s; the median is reported with its share of
# plain veth and the machine's CPU use per Gbit/s (busy cores, from
# /proc/stat, divided by Gbit/s).
#
#   scripts/bench-throughput.sh [SCENARIO...]    (default: plain yadokari strongswan boringtun)
#
# Needs root, iproute2, iperf3, python3; strongSwan scenario: charon,
# swanctl and the kernel-libipsec plugin; boringtun scenario: wg, and
# boringtun-cli on PATH or in ~/.cargo/bin (YK_BENCH_INSTALL_BORINGTUN=1
# runs `cargo install boringtun-cli` when missing). Holds /tmp/yk-cpu.lock
# so no other CPU-heavy job skews the numbers. Only documentation
# addresses (RFC 5737, RFC 3849) inside namespaces it creates and removes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DUR=${YK_BENCH_SECONDS:-10}
RUNS=${YK_BENCH_RUNS:-3}
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -gt 0 ]] || SCENARIOS=(plain yadokari strongswan boringtun)

P=ykb$$
L=$P-l
R=$P-r
RUN=$(mktemp -d /tmp/yk-bench.XXXXXX)
PIDS=()
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-throughput: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
for t in ip iperf3 python3 flock; do command -v "$t" >/dev/null || die "$t not found"; done

exec 9>/tmp/yk-cpu.lock
say "waiting for /tmp/yk-cpu.lock ..."
flock 9

stop_pids() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  PIDS=()
}

ns_kill_all() { # ns — whatever still runs inside (iperf3 servers, charon)
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
}

teardown_ns() {
  local ns
  for ns in "$L" "$R"; do
    ip netns list | awk '{print $1}' | grep -qx -- "$ns" || continue
    ns_kill_all "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
}

cleanup() {
  stop_pids
  teardown_ns
  rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

setup_ns() {
  teardown_ns
  ip netns add "$L"
  ip netns add "$R"
  local ns
  for ns in "$L" "$R"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip -n "$L" link add yk0 type veth peer name yk0 netns "$R"
  ip -n "$L" addr add 192.0.2.1/24 dev yk0
  ip -n "$R" addr add 192.0.2.2/24 dev yk0
  ip -n "$L" link set yk0 up
  ip -n "$R" link set yk0 up
  # Site addresses: the networks behind each peer, reachable only through a tunnel.
  ip -n "$L" addr add 198.51.100.1/32 dev lo
  ip -n "$R" addr add 203.0.113.1/32 dev lo
}

cpu_sample() { # prints "busy total" jiffies
  awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t}' /proc/stat
}

# measure SERVER_ADDR CLIENT_BIND -> appends "gbps cores" lines to $RUN/res
measure() {
  local addr=$1 bind=$2 i out b0 t0 b1 t1
  ip netns exec "$R" iperf3 -s -B "$addr" -p 5201 >/dev/null 2>&1 &
  local srv=$!
  PIDS+=("$srv")
  for _ in $(seq 1 50); do
    ip netns exec "$R" ss -ltn 2>/dev/null | grep -q ":5201" && break
    sleep 0.1
  done
  : > "$RUN/res"
  for i in $(seq 1 "$RUNS"); do
    read -r b0 t0 < <(cpu_sample)
    if ! out=$(ip netns exec "$L" timeout $((DUR + 15)) iperf3 -c "$addr" -B "$bind" -p 5201 -t "$DUR" -J 2>/dev/null); then
      say "  run $i: iperf3 failed"
      echo "0 0" >> "$RUN/res"
      continue
    fi
    read -r b1 t1 < <(cpu_sample)
    python3 - "$out" "$b0" "$t0" "$b1" "$t1" "$(nproc)" >> "$RUN/res" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
bps = d["end"]["sum_received"]["bits_per_second"]
b0, t0, b1, t1, n = (float(x) for x in sys.argv[2:7])
cores = (b1 - b0) / max(t1 - t0, 1.0) * n
print(f"{bps / 1e9:.3f} {cores:.2f}")
PY
    say "  run $i: $(tail -1 "$RUN/res" | awk '{printf "%.3f Gbit/s, %.2f cores busy", $1, $2}')"
  done
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
}

median() { # of $RUN/res by throughput -> "gbps cores"
  sort -n "$RUN/res" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}

declare -A RESULT

run_plain() {
  setup_ns
  measure 192.0.2.2 192.0.2.1
}

KEY_A=000102030405060708090a0b0c0d0e0f10111213
KEY_B=202122232425262728292a2b2c2d2e2f30313233

run_yadokari() {
  say "  building ykdp-peer (release) ..."
  (cd "$root" && cargo build --release -q -p yadokari-dataplane --example ykdp-peer) || die "build failed"
  local bin=$CARGO_TARGET_DIR/release/examples/ykdp-peer
  setup_ns
  ip netns exec "$L" "$bin" --local 192.0.2.1:4500 --peer 192.0.2.2:4500 \
    --local-net 198.51.100.0/24 --remote-net 203.0.113.0/24 --src 198.51.100.1 \
    --spi-in 1001 --spi-out 2002 --key-in "$KEY_A" --key-out "$KEY_B" \
    ${YK_BENCH_YK_ARGS:-} > "$RUN/ykl.log" 2>&1 &
  PIDS+=($!)
  ip netns exec "$R" "$bin" --local 192.0.2.2:4500 --peer 192.0.2.1:4500 \
    --local-net 203.0.113.0/24 --remote-net 198.51.100.0/24 --src 203.0.113.1 \
    --spi-in 2002 --spi-out 1001 --key-in "$KEY_B" --key-out "$KEY_A" \
    ${YK_BENCH_YK_ARGS:-} > "$RUN/ykr.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do
    grep -q running "$RUN/ykl.log" && grep -q running "$RUN/ykr.log" && break
    sleep 0.1
  done
  ip netns exec "$L" ping -c 1 -W 2 203.0.113.1 >/dev/null || { cat "$RUN"/yk?.log >&2; die "yadokari tunnel does not pass ping"; }
  measure 203.0.113.1 198.51.100.1
  stop_pids
}

charon_bin() {
  local c
  for c in ${YK_CHARON:-} /usr/lib/ipsec/charon /usr/libexec/ipsec/charon /usr/lib/strongswan/charon; do
    [[ -n $c && -x $c ]] && { echo "$c"; return 0; }
  done
  return 1
}

charon_up() { # side ns local remote lnet rnet lid rid
  local side=$1 ns=$2 d=$RUN/sw-$1
  mkdir -p "$d/run" "$d/swanctl"
  # swanctl --load-all scans these credential folders and complains when absent.
  (cd "$d/swanctl" && mkdir -p x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12)
  cat > "$d/strongswan.conf" <<EOF
charon {
    load_modular = no
    load = random nonce openssl aes sha1 sha2 hmac gcm curve25519 pem pkcs1 pkcs8 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici
    install_routes = yes
    routing_table = 220
    routing_table_prio = 220
    plugins {
        vici {
            socket = unix://$d/charon.vici
        }
    }
    filelog {
        bench {
            path = $d/charon.log
            default = 1
        }
    }
    syslog {
        identifier = charon-bench
        daemon {
            default = -1
        }
    }
}
EOF
  cat > "$d/swanctl/swanctl.conf" <<EOF
connections {
    bench {
        version = 2
        local_addrs = $3
        remote_addrs = $4
        encap = yes
        mobike = no
        proposals = aes128gcm16-prfsha256-x25519
        local {
            auth = psk
            id = $7
        }
        remote {
            auth = psk
            id = $8
        }
        children {
            site {
                mode = tunnel
                local_ts = $5
                remote_ts = $6
                esp_proposals = aes128gcm16
                start_action = none
            }
        }
    }
}
secrets {
    ike-bench {
        id-a = left.example.org
        id-b = right.example.org
        secret = "yadokari-bench-only-psk-0123456789"
    }
}
EOF
  # charon hard-codes /var/run/charon.pid: give each instance a private /run.
  setsid ip netns exec "$ns" unshare -m --propagation private \
    sh -c 'mount --bind "$1/run" /run && exec env STRONGSWAN_CONF="$1/strongswan.conf" "$2"' \
    sh "$d" "$CHARON" > "$d/stdout" 2>&1 < /dev/null &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    [[ -S $d/charon.vici ]] && sw "$side" --stats >/dev/null 2>&1 && break
    sleep 0.1
  done
  sw "$side" --load-all --noprompt >/dev/null
}

sw() { # side swanctl-args...
  local d=$RUN/sw-$1
  shift
  STRONGSWAN_CONF="$d/strongswan.conf" SWANCTL_DIR="$d/swanctl" swanctl "$@" --uri "unix://$d/charon.vici"
}

run_strongswan() {
  CHARON=$(charon_bin) || { say "  skipped: charon not found"; return 1; }
  command -v swanctl >/dev/null || { say "  skipped: swanctl not found"; return 1; }
  setup_ns
  charon_up l "$L" 192.0.2.1 192.0.2.2 198.51.100.0/24 203.0.113.0/24 left.example.org right.example.org
  charon_up r "$R" 192.0.2.2 192.0.2.1 203.0.113.0/24 198.51.100.0/24 right.example.org left.example.org
  sw l --initiate --child site --ike bench --timeout 10 >/dev/null || { tail -20 "$RUN/sw-l/charon.log" >&2; die "strongSwan initiate failed"; }
  ip netns exec "$L" ping -c 1 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null || die "strongSwan tunnel does not pass ping"
  measure 203.0.113.1 198.51.100.1
  stop_pids
}

boringtun_bin() {
  local b
  b=$(command -v boringtun-cli || true)
  [[ -z $b && -x $HOME/.cargo/bin/boringtun-cli ]] && b=$HOME/.cargo/bin/boringtun-cli
  if [[ -z $b && ${YK_BENCH_INSTALL_BORINGTUN:-0} == 1 ]]; then
    say "  cargo install boringtun-cli ..."
    cargo install -q boringtun-cli >&2 && b=$HOME/.cargo/bin/boringtun-cli
  fi
  [[ -n $b ]] && echo "$b"
}

run_boringtun() {
  local bt
  bt=$(boringtun_bin) || true
  [[ -n $bt ]] || { say "  skipped: boringtun-cli not installed (YK_BENCH_INSTALL_BORINGTUN=1 to install)"; return 1; }
  command -v wg >/dev/null || { say "  skipped: wg (wireguard-tools) not installed"; return 1; }
  setup_ns
  local il=$P-wl ir=$P-wr
  umask 077
  wg genkey > "$RUN/l.key"; wg pubkey < "$RUN/l.key" > "$RUN/l.pub"
  wg genkey > "$RUN/r.key"; wg pubkey < "$RUN/r.key" > "$RUN/r.pub"
  setsid ip netns exec "$L" env WG_THREADS="${YK_WG_THREADS:-1}" "$bt" --foreground --disable-drop-privileges "$il" > "$RUN/btl.log" 2>&1 < /dev/null &
  PIDS+=($!)
  setsid ip netns exec "$R" env WG_THREADS="${YK_WG_THREADS:-1}" "$bt" --foreground --disable-drop-privileges "$ir" > "$RUN/btr.log" 2>&1 < /dev/null &
  PIDS+=($!)
  for _ in $(seq 1 50); do
    [[ -S /var/run/wireguard/$il.sock && -S /var/run/wireguard/$ir.sock ]] && break
    sleep 0.1
  done
  wg set "$il" private-key "$RUN/l.key" listen-port 51820 peer "$(cat "$RUN/r.pub")" endpoint 192.0.2.2:51820 allowed-ips 203.0.113.0/24
  wg set "$ir" private-key "$RUN/r.key" listen-port 51820 peer "$(cat "$RUN/l.pub")" allowed-ips 198.51.100.0/24
  ip -n "$L" link set "$il" mtu 1420 up
  ip -n "$R" link set "$ir" mtu 1420 up
  ip -n "$L" route replace 203.0.113.0/24 dev "$il" src 198.51.100.1
  ip -n "$R" route replace 198.51.100.0/24 dev "$ir" src 203.0.113.1
  ip netns exec "$L" ping -c 1 -W 2 203.0.113.1 >/dev/null || die "boringtun tunnel does not pass ping"
  measure 203.0.113.1 198.51.100.1
  stop_pids
  rm -f "/var/run/wireguard/$il.sock" "/var/run/wireguard/$ir.sock"
}

for s in "${SCENARIOS[@]}"; do
  say "== $s (${RUNS} × ${DUR} s)"
  if "run_$s"; then
    RESULT[$s]=$(median)
  fi
done

plain=${RESULT[plain]:-}
printf '\n%-12s %10s %10s %12s %14s\n' scenario "Gbit/s" "cores" "% of veth" "cores/(Gbit/s)"
for s in "${SCENARIOS[@]}"; do
  r=${RESULT[$s]:-}
  if [[ -z $r ]]; then
    printf '%-12s %10s\n' "$s" "skipped"
    continue
  fi
  read -r g c <<< "$r"
  python3 - "$s" "$g" "$c" "${plain%% *}" <<'PY'
import sys
s, g, c, p = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
share = f"{100 * g / float(p):.1f}" if p and float(p) > 0 else "-"
per = f"{c / g:.3f}" if g > 0 else "-"
print(f"{s:<12} {g:10.3f} {c:10.2f} {share:>12} {per:>14}")
PY
done
if [[ -n ${RESULT[yadokari]:-} ]]; then
  for s in strongswan boringtun; do
    [[ -n ${RESULT[$s]:-} ]] || continue
    python3 -c "import sys; print(f'yadokari / {sys.argv[1]}: {float(sys.argv[2]) / max(float(sys.argv[3]), 1e-9):.2f}x')" \
      "$s" "${RESULT[yadokari]%% *}" "${RESULT[$s]%% *}"
  done
fi
