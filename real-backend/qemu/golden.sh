#!/usr/bin/env bash
# Run the golden traces (model-tests/traces/*.trace) through `msgring diff` on real
# kernels: any subset of ten Debian kernel lines (QEMU, TCG) and the host kernel, each
# against the model profile of the kernel it runs on; print per kernel how many traces
# agree with the model, diverge or were skipped, every divergence, and one table.
#
# usage: real-backend/qemu/golden.sh [LINE...]
#        LINE: 6.1 6.12 6.16 6.17 6.18 6.19 7.0 7.1 7.2 7.3 (the newest Debian package of
#        each, fetched on first use and cached: fetch-kernels.sh) or `host`; default all
#        ten and the host (also MSGRING_GOLDEN_KERNELS="6.1 7.3 host")
# env:   MSGRING_KERNEL_CACHE        kernel cache (see fetch-kernels.sh)
#        MSGRING_QEMU_ACCEL=tcg|kvm  (see boot.sh)
#        MSGRING_QEMU_TIMEOUT        seconds per boot (default 420)
#        MSGRING_GOLDEN_TIMEOUT      seconds for msgring inside a guest / on the host (default 360)
#        MSGRING_GOLDEN_TRACES       trace files or directories to run instead of the
#                                    golden traces (e.g. check-mode findings)
#        MSGRING_GOLDEN_MODE=diff|run|check  default diff; `run` only proves the pipeline
#                                    (model-only `msgring run` inside the guest); `check`
#                                    runs `msgring --json check` (random traces, not the
#                                    golden ones) on each kernel for MSGRING_CHECK_SECONDS
#                                    (90) with MSGRING_CHECK_SEED (1), MSGRING_CHECK_JOBS
#                                    (msgring's default) and writes the minimized
#                                    mismatches to target/golden/check/LABEL/; exploratory:
#                                    exit 1 when any kernel's check fails
#        MSGRING_GOLDEN_KNOWN        a list of divergences already reported (e.g.
#                                    real-backend/qemu/golden-known.txt): those print as
#                                    `known` and do not fail the run; new ones still do
#        MSGRING_GOLDEN_FTRACE       kernel trace events for the guests, `;`-separated
#                                    `system:event [if FILTER]` (e.g. "io_uring:*;
#                                    task:task_newtask"):
#                                    msgring marks its steps in the kernel trace and stops
#                                    it at the first trace it cannot explain; the guest
#                                    prints the trace's tail as `T|` lines in LABEL.log
#        MSGRING_GOLDEN_SECONDARY=0  skip the informational no-fdinfo run
#        MSGRING_GOLDEN_RECHECK      reruns of each trace with a new divergence (default 5,
#                                    0 = none): the kernel is booted once more and runs
#                                    those traces that many times, to tell a steady
#                                    divergence from a race in the summary; either way a
#                                    divergence not in MSGRING_GOLDEN_KNOWN fails the run
# Output: target/golden/LABEL.{log,out,err} (raw console; msgring's stdout and stderr),
#         target/golden/summary.txt, ending with the table (also target/golden/table.txt).
# Exit:  0 every kernel agrees with the model (known divergences aside); 1 a divergence; 2 something could not be
#        built, fetched or booted (one line `golden: error: ...` says what).
# Needs (Debian): qemu-system-x86 cpio (installed with apt-get if missing), cargo, rustc.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/golden"
mkdir -p "$out"
t_all=$(date +%s.%N)
step() { printf '== %s\n' "$*" >&2; }
die() { printf 'golden: error: %s\n' "$*" >&2; exit 2; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
boot_tmo="${MSGRING_QEMU_TIMEOUT:-420}"
run_tmo="${MSGRING_GOLDEN_TIMEOUT:-360}"
all_lines="6.1 6.12 6.16 6.17 6.18 6.19 7.0 7.1 7.2 7.3"
if [ "$#" -gt 0 ]; then kernels_wanted="$*"; else kernels_wanted="${MSGRING_GOLDEN_KERNELS:-$all_lines host}"; fi
for label in $kernels_wanted; do
  [ "$label" = host ] || [[ "$label" =~ ^[0-9]+\.[0-9]+$ ]] || die "$label: want a kernel line such as 6.12, or host"
done
mode="${MSGRING_GOLDEN_MODE:-diff}"
case "$mode" in diff | run | check) ;; *) die "MSGRING_GOLDEN_MODE=$mode: want diff, run or check" ;; esac
if [ "$mode" = check ]; then
  check_s="${MSGRING_CHECK_SECONDS:-90}"
  [[ "$check_s" =~ ^[0-9]+$ ]] || die "MSGRING_CHECK_SECONDS=$check_s: want a number of seconds"
  # The minimizer's re-runs come on top of the budget; the watchdog allows for them.
  [ -n "${MSGRING_GOLDEN_TIMEOUT:-}" ] || run_tmo=$((check_s * 3 + 120))
  [ -n "${MSGRING_QEMU_TIMEOUT:-}" ] || boot_tmo=$((run_tmo + 60))
fi
timings=()

# ---- tools -------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found"
command -v rustc >/dev/null || die "rustc not found"
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
  step "installing qemu-system-x86 cpio"
  command -v apt-get >/dev/null || die "qemu-system-x86_64 or cpio missing and no apt-get to install them"
  timeout 600 apt-get update -qq >&2 || die "apt-get update failed (needed to install qemu-system-x86 cpio)"
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends qemu-system-x86 cpio >/dev/null ||
    die "apt-get install qemu-system-x86 cpio failed"
fi

# ---- build -------------------------------------------------------------------------
t=$(date +%s.%N)
step "building the static msgring (features real-backend) and the guest init"
target=x86_64-unknown-linux-gnu
(cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" timeout 1800 cargo build -q --release \
  --features real-backend --bin msgring --target "$target" --target-dir "$out/cargo") ||
  die "cargo build of the static msgring failed"
bin="$out/cargo/$target/release/msgring"
timeout 600 rustc -O --edition 2021 --target "$target" -C target-feature=+crt-static -C debuginfo=0 \
  "$here/golden_init.rs" -o "$out/init" || die "rustc of golden_init.rs failed"
if [ "$mode" = diff ] && ! "$bin" diff --help >/dev/null 2>&1; then
  die "this msgring has no \`diff\` subcommand (MSGRING_GOLDEN_MODE=run proves the pipeline without it)"
fi

# ---- traces ------------------------------------------------------------------------
# Traces with fault injection are model-only: the kernel cannot inject faults. The
# `kernel P` header is commented out in the packed copies so that the model runs with
# the running kernel's profile, not the one the trace was written for (line numbers
# stay those of model-tests/traces).
#
# Two runs per kernel:
#   full      the traces as they are: this decides the exit status.
#   no-fdinfo the same traces with every `query` and `observe` step commented out.
#             The kernel backend reads fixed-file slots from /proc/self/fdinfo, whose
#             6.1/6.12 format (d_iname names, `<none>` for empty slots) it does not
#             parse, and `msgring diff` stops at the first divergence; this run shows
#             what the rest of each trace does. For information only.
# new_stage DIR: an empty initramfs tree (mount points, /golden/runs).
new_stage() {
  rm -rf "$1"
  mkdir -p "$1/golden/runs" "$1/proc" "$1/sys" "$1/tmp" "$1/dev"
}
stage="$out/stage"
new_stage "$stage"
runs=(full)
[ "${MSGRING_GOLDEN_SECONDARY:-1}" = 1 ] && [ "$mode" = diff ] && runs+=(no-fdinfo)
for r in "${runs[@]}"; do mkdir -p "$stage/golden/runs/$r/traces"; done
excluded=()
ntr=0
trace_files=()
if [ -n "${MSGRING_GOLDEN_TRACES:-}" ]; then
  for p in $MSGRING_GOLDEN_TRACES; do
    if [ -d "$p" ]; then trace_files+=("$p"/*.trace); else trace_files+=("$p"); fi
  done
else
  trace_files=("$root"/model-tests/traces/*.trace)
fi
for f in "${trace_files[@]}"; do
  [ -f "$f" ] || die "MSGRING_GOLDEN_TRACES: $f is not a trace file"
  b="$(basename "$f")"
  if grep -Eq '(^|[[:space:]])fault[[:space:]]+(overflow_alloc|nomem)=' "$f"; then
    excluded+=("$b")
    continue
  fi
  sed -E 's/^kernel[[:space:]].*/# &  (golden.sh: profile from the running kernel)/' "$f" \
    >"$stage/golden/runs/full/traces/$b"
  if [ -d "$stage/golden/runs/no-fdinfo" ]; then
    awk '/^[[:space:]]*(query|observe)[[:space:]]/ { print "# golden.sh: " $0; c = 1; next }
         c && /^[[:space:]]*=>/ { print "# golden.sh: " $0; next }
         { c = 0; print }' "$stage/golden/runs/full/traces/$b" >"$stage/golden/runs/no-fdinfo/traces/$b"
  fi
  ntr=$((ntr + 1))
done
[ "$ntr" -gt 0 ] || die "no traces in model-tests/traces"
cp "$bin" "$stage/golden/msgring"
echo "$run_tmo" >"$stage/golden/timeout"
rm -f "$stage/golden/ftrace"
[ -z "${MSGRING_GOLDEN_FTRACE:-}" ] || tr ';' '\n' <<<"$MSGRING_GOLDEN_FTRACE" >"$stage/golden/ftrace"
# One argument per line; the guest's init expands @PROFILE@ and @TRACES@.
if [ "$mode" = diff ]; then
  args=(--json diff)
  "$bin" diff --help 2>/dev/null | grep -q -- '--kernel' && args+=(--kernel @PROFILE@)
  args+=(@TRACES@)
elif [ "$mode" = check ]; then
  args=(--json check --seconds "$check_s" --seed "${MSGRING_CHECK_SEED:-1}" --reports /tmp/reports
    --minimize-runs "${MSGRING_CHECK_MINIMIZE_RUNS:-100}" --print-traces)
  [ -z "${MSGRING_CHECK_JOBS:-}" ] || args+=(--jobs "$MSGRING_CHECK_JOBS")
else
  args=(--json run --kernel @PROFILE@ @TRACES@)
fi
for r in "${runs[@]}"; do printf '%s\n' "${args[@]}" >"$stage/golden/runs/$r/args"; done
# pack STAGE INITRD: /init, /dev/console and the staged tree into a gzipped cpio.
pack() {
  cp "$out/init" "$1/init"
  chmod 755 "$1/init" "$1/golden/msgring"
  [ -e "$1/dev/console" ] || mknod -m 600 "$1/dev/console" c 5 1 ||
    die "mknod /dev/console failed (needs root)"
  (cd "$1" && find . -print0 | sort -z | cpio --null -o -H newc --owner=0:0 --quiet) |
    gzip -1 >"$2"
}
pack "$stage" "$out/initrd.cpio.gz"
timings+=("build+initrd $(since "$t")s")
echo "build+initrd: $(since "$t")s ($ntr traces packed, ${#excluded[@]} model-only excluded: ${excluded[*]:-none})" >&2

# ---- kernels -----------------------------------------------------------------------
declare -A vmlinuz=()
guests=()
for label in $kernels_wanted; do [ "$label" = host ] || guests+=("$label"); done
if [ "${#guests[@]}" -gt 0 ]; then
  t=$(date +%s.%N)
  step "fetching kernels ${guests[*]}"
  fk="$(timeout 1800 "$here/fetch-kernels.sh" "${guests[@]}")" || die "could not fetch the Debian kernels ${guests[*]} (fetch-kernels.sh failed; see above)"
  while read -r label path; do vmlinuz[$label]="$path"; done <<<"$fk"
  timings+=("fetch $(since "$t")s")
  echo "fetch: $(since "$t")s" >&2
fi

# Splits a console log into msgring's stdout ($base.$run.out) and stderr
# ($base.$run.err) per run, and writes "$run $status" lines to $base.status.
split_log() {
  local log="$1" base="$2"
  rm -f "$base".*.out "$base".*.err
  awk -v base="$base" '
    /^GOLDEN-RUN / { run = $2; printf "" > (base "." run ".out"); printf "" > (base "." run ".err"); next }
    /^O\|/ && run != "" { print substr($0, 3) > (base "." run ".out"); next }
    /^E\|/ && run != "" { print substr($0, 3) > (base "." run ".err"); next }
    /^GOLDEN-EXIT / { print $2, $3 > (base ".status") }
  ' "$log"
  [ -f "$base.status" ] || : >"$base.status"
}
run_status() { awk -v r="$2" '$1 == r { print $2 }' "$1.status" | tail -n1; }

# run_on LABEL STAGE INITRD LOG: the staged runs on one kernel (the host runs the same
# init, not as PID 1: it runs msgring from the staged tree and exits).
run_on() {
  if [ "$1" = host ]; then
    GOLDEN_ROOT="$2/golden" timeout -k 5 "$((run_tmo + 30))" "$out/init" >"$4" 2>&1 || true
  else
    [ -n "${vmlinuz[$1]:-}" ] || die "fetch-kernels.sh gave no kernel labelled $1"
    MSGRING_QEMU_TIMEOUT="$boot_tmo" nice -n 10 "$here/boot.sh" "${vmlinuz[$1]}" "$3" "$4" || true
    # A guest that never reached /init tells nothing about io_uring: under TCG the 6.12
    # kernel was seen to panic at boot once (int3 in sched_clock_cpu during an initcall,
    # 2026-11-25). Boot it once more, and say so.
    if ! grep -q 'GOLDEN-BEGIN' "$4"; then
      cp "$4" "$4.first-boot"
      step "$1: the guest did not reach /init (see $4.first-boot); booting it again"
      MSGRING_QEMU_TIMEOUT="$boot_tmo" nice -n 10 "$here/boot.sh" "${vmlinuz[$1]}" "$3" "$4" || true
    fi
  fi
}

declare -A status=()
labels=()
for label in $kernels_wanted; do
  labels+=("$label")
  t=$(date +%s.%N)
  if [ "$label" = host ]; then
    step "running on the host ($(uname -r))"
  else
    step "booting $label ($(cat "$(dirname "${vmlinuz[$label]}")/pkg" 2>/dev/null || echo "${vmlinuz[$label]}"))"
  fi
  pkgname="$(cat "$(dirname "${vmlinuz[$label]:-/nonexistent/x}")/pkg" 2>/dev/null || echo "host")"
  run_on "$label" "$stage" "$out/initrd.cpio.gz" "$out/$label.log"
  rm -f "$out/$label.status"
  split_log "$out/$label.log" "$out/$label"
  st="$(run_status "$out/$label" full)"
  status[$label]="${st:-none}"
  timings+=("$label $(since "$t")s")
  echo "$label: $(since "$t")s, msgring exit ${status[$label]}" >&2
  # For the table: the package, and what /init saw (release, profile).
  {
    echo "pkg=$pkgname"
    sed -n 's/^GOLDEN-INFO release=\([^ ]*\) profile=\([^ ]*\).*/release=\1\nprofile=\2/p' "$out/$label.log" | head -n2
    echo "seconds=$(since "$t")"
  } >"$out/$label.info"
done

# ---- recheck -----------------------------------------------------------------------
# A trace that diverged for the first time (not in MSGRING_GOLDEN_KNOWN) runs again,
# MSGRING_GOLDEN_RECHECK times in one more boot of the same kernel, so that the summary
# can tell a model bug (diverges every time) from a kernel race a trace depends on
# (io-wq workers, TCG timing: comes and goes). Only the full run is rechecked.
command -v python3 >/dev/null || die "python3 not found (needed to read msgring's JSON)"
known="${MSGRING_GOLDEN_KNOWN:-}"
[ -z "$known" ] || [ -f "$known" ] || die "MSGRING_GOLDEN_KNOWN=$known: no such file"
recheck_n="${MSGRING_GOLDEN_RECHECK:-5}"
[[ "$recheck_n" =~ ^[0-9]+$ ]] && [ "$recheck_n" -le 9 ] ||
  die "MSGRING_GOLDEN_RECHECK=$recheck_n: want a number of reruns from 0 to 9"
declare -A reruns=()
for label in "${labels[@]}"; do
  [ "$mode" = diff ] && [ "$recheck_n" -gt 0 ] || break
  [ "${status[$label]}" = 0 ] || [ "${status[$label]}" = 1 ] || continue
  mapfile -t again < <(python3 "$here/golden_summary.py" new "$label" "$out/$label.full.out" "$known" |
    awk '{ print $1 }' | sort -u)
  [ "${#again[@]}" -gt 0 ] || continue
  t=$(date +%s.%N)
  step "rechecking $label: ${again[*]} ($recheck_n reruns)"
  rs="$out/recheck-stage"
  new_stage "$rs"
  cp "$stage/golden/msgring" "$stage/golden/timeout" "$rs/golden/"
  names=()
  for i in $(seq 1 "$recheck_n"); do
    names+=("recheck$i")
    mkdir -p "$rs/golden/runs/recheck$i/traces"
    cp "$stage/golden/runs/full/args" "$rs/golden/runs/recheck$i/args"
    for b in "${again[@]}"; do cp "$stage/golden/runs/full/traces/$b" "$rs/golden/runs/recheck$i/traces/"; done
  done
  pack "$rs" "$out/recheck.cpio.gz"
  run_on "$label" "$rs" "$out/recheck.cpio.gz" "$out/$label.recheck.log"
  rm -f "$out/$label.recheck.status"
  split_log "$out/$label.recheck.log" "$out/$label.recheck"
  reruns[$label]="$(for n in "${names[@]}"; do printf '%s ' "$out/$label.recheck.$n.out"; done)"
  timings+=("recheck-$label $(since "$t")s")
  echo "recheck $label: $(since "$t")s" >&2
done

# ---- summary -----------------------------------------------------------------------
summarize() { # label run [known-file [rerun outputs...]]
  local st label="$1" run="$2"
  shift 2
  st="$(run_status "$out/$label" "$run")"
  python3 "$here/golden_summary.py" "$mode" "$label" "$out/$label.$run.out" "${st:-none}" "$out/$label.log" "$@"
}
{
  echo "golden traces: $ntr on the kernel, ${#excluded[@]} model-only (fault injection) not packed: ${excluded[*]:-none}"
  echo "mode: $mode; args: ${args[*]}"
  echo
  for label in "${labels[@]}"; do
    if [ "$mode" = check ]; then
      rm -rf "$out/check/$label"
      summarize "$label" full "$out/check/$label" || true
      continue
    fi
    # shellcheck disable=SC2086 # the rerun paths are words
    summarize "$label" full "$known" ${reruns[$label]:-} || true
  done
  if [[ " ${runs[*]} " == *" no-fdinfo "* ]]; then
    echo
    echo "For information (does not change the exit status): the same traces with every"
    echo "query/observe step commented out (the kernel backend cannot read 6.1/6.12 fdinfo tables):"
    for label in "${labels[@]}"; do
      summarize "$label" no-fdinfo | grep -v '^COUNT ' | sed 's/^RESULT /INFO no-fdinfo /' || true
    done
  fi
  echo
  echo "timings: ${timings[*]}; total $(since "$t_all")s"
  echo "raw outputs in $out"
} | tee "$out/summary.txt"
# One closing line for CI: traces that agree pass, new divergences and errors fail,
# known divergences, racy ones and traces the kernel cannot run count as skipped.
# Racy divergences fail too (unless listed in MSGRING_GOLDEN_KNOWN); known ones and
# traces the kernel cannot run count as skipped.
{
  echo
  python3 "$here/golden_summary.py" table "$out" "$out/summary.txt" "${labels[@]}"
} | tee "$out/table.txt" | tee -a "$out/summary.txt"
[ "$mode" = check ] || awk '/^COUNT / { for (i = 3; i <= NF; i++) { split($i, kv, "="); n[kv[1]] += kv[2] } }
     END { printf "golden: %d passed, %d failed, %d skipped (%d racy)\n", n["agree"], n["new"] + n["racy"], n["known"] + n["skipped"], n["racy"] }' \
  "$out/summary.txt"
# tee hides the loop's status: take it from the summary lines.
if grep -q '^RESULT .* ERROR ' "$out/summary.txt"; then
  grep '^golden: error' "$out/summary.txt" | head -n1 >&2
  exit 2
fi
if grep -q '^RESULT .* \(DIVERGES\|CHECK-FAILS\)' "$out/summary.txt"; then exit 1; fi
exit 0
