#!/usr/bin/env bash
# The fuzz part of CI (called from .ci/run): replays the committed seeds and
# regressions on stable, then, with a nightly toolchain, builds every cargo-fuzz
# target and runs each for FUZZ_SECONDS (default 60). A crash prints the input as a
# readable trace and fails. Budget: ~8 minutes on 2 cores, builds included.
#
# Env: FUZZ_SECONDS (per target), FUZZ_SEED (libFuzzer -seed, default from the clock,
# printed), CARGO_FUZZ_VERSION (pinned cargo-fuzz), FUZZ_KERNEL=0 to skip the
# kernel targets (differential, sqe_fields).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}"
CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.1}"
FUZZ_KERNEL="${FUZZ_KERNEL:-1}"
t0=$(date +%s)

echo "--- fuzz: stable replay of fuzz/seeds and model-tests/traces/regressions"
cargo test -p msgring-model-tests --all-features --test fuzz_replay

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED cargo-fuzz targets: no nightly toolchain (rustup toolchain install nightly); the stable corpus replay above ran"
  exit 0
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
features=()
targets=(model trace_text)
if [ "$FUZZ_KERNEL" = 1 ]; then
  features=(--features real-backend)
  targets+=(differential sqe_fields)
fi
echo "--- fuzz: build (${targets[*]})"
# No sanitizer: the model crate forbids unsafe code, and ASan costs the model target
# 7x in exec/s. -O: release with debug assertions off, as measured in docs/performance.md.
(cd fuzz && cargo +nightly fuzz build -O -s none "${features[@]}")
bin="$ROOT/fuzz/target/x86_64-unknown-linux-gnu/release"
echo "fuzz: libFuzzer seed $FUZZ_SEED (FUZZ_SEED=$FUZZ_SEED to replay), ${FUZZ_SECONDS}s per target"
failed=()
for t in "${targets[@]}"; do
  work="$(mktemp -d)"
  mkdir -p "$work/corpus" "$work/artifacts"
  dict=()
  if [ "$t" = trace_text ] || [ "$t" = model ]; then dict=(-dict="$ROOT/fuzz/trace_text.dict"); fi
  echo "--- fuzz: $t"
  if "$bin/$t" "$work/corpus" "$ROOT/fuzz/seeds/$t" "${dict[@]}" -seed="$FUZZ_SEED" \
      -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix="$work/artifacts/" -print_final_stats=1 >"$work/log" 2>&1; then
    grep -E "^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)" "$work/log" || true
  else
    # The failure message (it contains the input as a trace), then libFuzzer's summary.
    sed -n '/panicked at/,/stack backtrace/p' "$work/log" | head -300
    grep -E "^(==[0-9]+== ERROR|SUMMARY|MS:|artifact_prefix|Base64)" "$work/log" || tail -n 30 "$work/log"
    for a in "$work"/artifacts/*; do
      [ -e "$a" ] || continue
      echo "--- fuzz: $t crashed on $a; base64: $(base64 -w0 "$a")"
      # Every crash fails. The kernel targets' oracle is the exact check (the model's
      # choice points must explain the kernel's outcome), so a replay that passes does
      # not excuse it: it is printed as information only.
      echo "--- the input as a trace, and the failure, replayed (MSGRING_FUZZ_PRINT=1):"
      if MSGRING_FUZZ_PRINT=1 "$bin/$t" "$a" >"$work/replay" 2>&1; then
        echo "(the replay passed: the kernel took another path this time)"
        sed -n '/^--- .* input/,/^Executed/p' "$work/replay" | head -300
      else
        sed -n '/^--- .* input/,/stack backtrace/p' "$work/replay" | head -300
      fi
    done
    # A crash with no artifact (timeout, OOM in libFuzzer itself) is a failure too.
    failed+=("$t")
  fi
done
echo "fuzz: $(( $(date +%s) - t0 ))s in all"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (seed $FUZZ_SEED)"
  exit 1
fi
echo "fuzz: ${#targets[@]} passed, 0 failed"
