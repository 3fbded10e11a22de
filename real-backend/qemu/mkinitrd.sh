#!/usr/bin/env bash
# Pack a static runner binary as /init of a gzip'ed newc cpio initramfs.
# usage: mkinitrd.sh RUNNER OUT.cpio.gz
set -euo pipefail
runner="$1" out="$2"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{proc,dev,sys,tmp}
cp "$runner" "$stage/init"
chmod 755 "$stage/init"
# The kernel opens /dev/console for /init's stdio before anything is mounted.
mknod -m 600 "$stage/dev/console" c 5 1
(cd "$stage" && find . -print0 | sort -z | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out"
