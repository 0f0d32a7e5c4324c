#!/usr/bin/env bash
# Fuzzes every parser that takes outside input (libFuzzer through cargo fuzz, nightly), SECONDS each:
#   scripts/fuzz.sh [SECONDS] [TARGET…]
# Corpora grow in fuzz/corpus/TARGET (not committed) from the small seeds in fuzz/seeds/TARGET; a crash is saved in
# fuzz/artifacts/TARGET and makes the script fail. Prints one summary line per target. Not part of CI's test run.
set -euo pipefail

seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(line_webhook webchat_message segment_rule cap csv_import render)
fi

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
rustup toolchain list | grep -q '^nightly' || { echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2; exit 2; }

for target in "${targets[@]}"; do cargo +nightly fuzz build -O "$target" >&2; done

failed=0
printf '%-16s %12s %10s %8s %s\n' target executions exec/s corpus result
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  before=$(find "artifacts/$target" -type f ! -name '*.log' | wc -l)
  status=ok
  # -rss_limit_mb: the FAQ target loads a Japanese dictionary; -max_len: bodies the hub would accept anyway.
  if ! cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
      >"$log" 2>&1; then
    status=crash
  fi
  after=$(find "artifacts/$target" -type f ! -name '*.log' | wc -l)
  if [ "$after" -gt "$before" ]; then status=crash; fi
  [ "$status" = ok ] || failed=1
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  corpus=$(find "corpus/$target" -type f | wc -l)
  printf '%-16s %12s %10s %8s %s\n' "$target" "${execs:-?}" "${rate:-?}" "$corpus" "$status"
  if [ "$status" != ok ]; then
    grep -m5 -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" >&2 || true
  fi
done
exit $failed
