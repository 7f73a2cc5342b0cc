#!/usr/bin/env bash
# Runs every check yadokari has: formatting, clippy, all unit, property,
# simulation and namespace integration tests (including the strongSwan
# interop tests, which need root), and a short bounded run of every fuzz
# target. This is what CI runs (`.ci/run`).
#
#   scripts/test.sh                   # everything, as root
#   sudo scripts/test.sh              # everything, from a normal user
#   YK_FUZZ_SECONDS=0 scripts/test.sh # skip the fuzz smoke runs
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${YK_FUZZ_SECONDS:-20}"
if [[ $EUID -eq 0 ]]; then
  YK_NEED_FUZZ=$([[ "$FUZZ_SECONDS" != 0 ]] && echo 1 || echo 0) scripts/install-deps.sh
else
  echo "test.sh: not root: skipping package installation; namespace tests will be skipped"
fi

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "IANA transform numbers in one place"
scripts/check-catalogue.sh

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
mkdir -p target
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt

if [[ "$FUZZ_SECONDS" != 0 ]]; then
  step "fuzz smoke (${FUZZ_SECONDS}s per target)"
  scripts/fuzz.sh "$FUZZ_SECONDS"
fi

# A last summary line in the plain "N passed, N failed" form, summed over
# every test binary, so the whole run can be read at a glance.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", p, f, i }' target/test-output.txt
