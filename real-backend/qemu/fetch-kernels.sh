#!/usr/bin/env bash
# Fetch Debian's newest 6.1 and 6.12 amd64 kernel images and extract vmlinuz
# into a cache directory. Prints "<label> <path-to-vmlinuz>" per kernel.
#
# Cache: $MSGRING_KERNEL_CACHE, default ~/.cache/msgring/kernels. A kernel whose
# vmlinuz is already in the cache is not downloaded again (and apt is not asked
# anything): the cache holds one "<label>.pkg" file naming the package it came
# from. Set MSGRING_KERNEL_REFRESH=1 to look for a newer package.
set -euo pipefail

CACHE="${MSGRING_KERNEL_CACHE:-$HOME/.cache/msgring/kernels}"
mkdir -p "$CACHE"

# The series we boot: label and the apt-cache search pattern for its flavour.
SERIES=(
  "6.1 ^linux-image-6\.1\.0-[0-9]+-amd64$"
  "6.12 ^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64$"
)

apt_updated=0
ensure_apt() {
  if [ "$apt_updated" = 0 ]; then
    echo "fetch-kernels: apt-get update" >&2
    apt-get update -qq >&2
    apt_updated=1
  fi
}

newest_pkg() {
  local pat="$1"
  apt-cache search --names-only 'linux-image-6' | awk '{print $1}' | grep -E "$pat" | sort -V | tail -n1
}

for s in "${SERIES[@]}"; do
  label="${s%% *}"
  pat="${s#* }"
  dir="$CACHE/$label"
  if [ -f "$dir/vmlinuz" ] && [ -f "$dir/pkg" ] && [ "${MSGRING_KERNEL_REFRESH:-0}" != 1 ]; then
    echo "$label $dir/vmlinuz"
    continue
  fi
  pkg="$(newest_pkg "$pat" || true)"
  if [ -z "$pkg" ]; then
    ensure_apt
    pkg="$(newest_pkg "$pat" || true)"
  fi
  [ -n "$pkg" ] || { echo "fetch-kernels: no package matches $pat" >&2; exit 1; }
  if [ -f "$dir/vmlinuz" ] && [ "$(cat "$dir/pkg" 2>/dev/null)" = "$pkg" ]; then
    echo "$label $dir/vmlinuz"
    continue
  fi
  tmp="$(mktemp -d)"; chmod 755 "$tmp"
  echo "fetch-kernels: downloading $pkg" >&2
  if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
    ensure_apt
    (cd "$tmp" && apt-get download -q "$pkg" >&2)
  fi
  debs=("$tmp"/*.deb)
  dpkg-deb -x "${debs[0]}" "$tmp/x"
  vms=("$tmp"/x/boot/vmlinuz-*)
  vm="${vms[0]}"
  [ -f "$vm" ] || { echo "fetch-kernels: no vmlinuz in $pkg" >&2; exit 1; }
  cfgs=("$tmp"/x/boot/config-*)
  cfg="${cfgs[0]}"
  [ -f "$cfg" ] || cfg=""
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$vm" "$dir/vmlinuz"
  [ -n "$cfg" ] && cp "$cfg" "$dir/config"
  echo "$pkg" >"$dir/pkg"
  basename "$vm" | sed 's/^vmlinuz-//' >"$dir/release"
  rm -rf "$tmp"
  echo "$label $dir/vmlinuz"
done
