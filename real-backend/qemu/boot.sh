#!/usr/bin/env bash
# Boot one kernel in QEMU with the static guest runner as /init and save the
# serial console to a file.
#
# usage: boot.sh VMLINUZ INITRD OUT_LOG
# env:   MSGRING_QEMU_ACCEL=tcg|kvm (default tcg), MSGRING_QEMU_CPU (kvm only, default host), MSGRING_QEMU_TIMEOUT seconds
#        (default 300), MSGRING_QEMU_SMP (default 2), MSGRING_QEMU_MEM (default 512)
# Exit status: 0 when the log holds MSGRING-END, 1 otherwise.
set -euo pipefail
vmlinuz="$1" initrd="$2" log="$3"
accel="${MSGRING_QEMU_ACCEL:-tcg}"
tmo="${MSGRING_QEMU_TIMEOUT:-300}"
smp="${MSGRING_QEMU_SMP:-2}"
mem="${MSGRING_QEMU_MEM:-512}"
cpu=max
[ "$accel" = kvm ] && cpu="${MSGRING_QEMU_CPU:-host}"
# -no-reboot + panic=-1: a kernel panic (e.g. /init dying) ends QEMU at once.
# The runner powers the VM off itself when it is done.
timeout --foreground -k 5 "$tmo" qemu-system-x86_64 \
  -accel "$accel" -cpu "$cpu" -smp "$smp" -m "$mem" \
  -nographic -no-reboot -nodefaults -serial stdio -display none \
  -kernel "$vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 panic=-1 quiet" </dev/null >"$log" 2>&1 || true
# The serial console turns \n into \r\n.
sed -i 's/\r$//' "$log"
grep -q '^MSGRING-END$' "$log"
