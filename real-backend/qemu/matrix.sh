#!/usr/bin/env bash
# Run the MSG_RING scenario list on Debian's 6.1 and 6.12 kernels (QEMU) and on
# the host kernel, then print where they agree and where they differ.
#
# usage: real-backend/qemu/matrix.sh
# env:   MSGRING_KERNEL_CACHE (see fetch-kernels.sh), MSGRING_QEMU_ACCEL=tcg|kvm,
#        MSGRING_QEMU_TIMEOUT (seconds per boot, default 300)
# Output: target/kernel-matrix/{6.1,6.12,host}.log (raw serial / stdout),
#         target/kernel-matrix/diff.md (the differences as a Markdown table).
# Needs (Debian): qemu-system-x86 cpio; installs them with apt-get if missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/kernel-matrix"
mkdir -p "$out"
t_all=$(date +%s.%N)
step() { printf '== %s\n' "$*" >&2; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
  step "installing qemu-system-x86 cpio"
  apt-get update -qq && apt-get install -y -qq qemu-system-x86 cpio >/dev/null
fi

t=$(date +%s.%N)
step "building the static guest runner"
(cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release \
  -p msgring-real-backend --example guest_runner \
  --target x86_64-unknown-linux-gnu --target-dir "$out/cargo")
runner="$out/cargo/x86_64-unknown-linux-gnu/release/examples/guest_runner"
"$here/mkinitrd.sh" "$runner" "$out/initrd.cpio.gz"
echo "build+initrd: $(since "$t")s" >&2

t=$(date +%s.%N)
step "fetching kernels"
mapfile -t kernels < <("$here/fetch-kernels.sh")
echo "fetch: $(since "$t")s" >&2

args=()
status=0
for line in "${kernels[@]}"; do
  label="${line%% *}"
  vmlinuz="${line#* }"
  t=$(date +%s.%N)
  step "booting $label ($(cat "$(dirname "$vmlinuz")/pkg" 2>/dev/null || echo "$vmlinuz"))"
  if "$here/boot.sh" "$vmlinuz" "$out/initrd.cpio.gz" "$out/$label.log"; then
    echo "boot $label: $(since "$t")s" >&2
  else
    echo "boot $label: FAILED after $(since "$t")s (no MSGRING-END; see $out/$label.log)" >&2
    status=1
  fi
  args+=("$label=$out/$label.log")
done

t=$(date +%s.%N)
step "running on the host ($(uname -r))"
"$runner" >"$out/host.log" 2>&1 || status=1
echo "host: $(since "$t")s" >&2
args+=("host-$(uname -r | cut -d. -f1,2)=$out/host.log")

echo
grep -h '^INFO kernel=' "$out"/*.log | sed 's/^INFO /  /'
echo
MSGRING_DIFF_MD="$out/diff.md" "$here/compare.sh" "${args[@]}"
echo "total wall time: $(since "$t_all")s; raw outputs in $out"
exit $status
