#!/usr/bin/env bash
# Builds every cargo-fuzz target on stable Rust (no sanitizer) and runs each
# for a bounded time (default 20 s). For a longer hunt run one target yourself:
#   cargo fuzz run -s none ike_message -- -max_total_time=3600
# or with AddressSanitizer on stable:
#   RUSTC_BOOTSTRAP=1 cargo fuzz run ike_message -- -max_total_time=3600
set -euo pipefail
if [[ ! -f "$(dirname "$0")/../fuzz/Cargo.toml" ]]; then echo "fuzz: no fuzz crate in this checkout; skipped"; exit 0; fi
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET="${1:-20}"
cargo fuzz build -s none --release
for t in $(cargo fuzz list); do
  mkdir -p "corpus/$t"
  # seed corpora from the committed captures and test vectors, if any
  if [[ -d "seeds/$t" ]]; then cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  cargo fuzz run -s none --release "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|thread|panicked)' || true
  # cargo fuzz exits non-zero on a crash; re-check the artifact folder to be sure
  if compgen -G "artifacts/$t/crash-*" >/dev/null; then
    echo "fuzz: $t found a crash:"; ls "artifacts/$t"; exit 1
  fi
done
echo "fuzz: all targets ran without a crash"
