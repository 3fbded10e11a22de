#!/usr/bin/env bash
# Fetch the newest Debian amd64 kernel of each asked line and extract its vmlinuz into a
# cache. Prints "<label> <path-to-vmlinuz>" per line asked, in the order asked.
#
# usage: fetch-kernels.sh LINE...        LINE is 6.1, 6.12, 6.16, 6.17, 6.18, 6.19, 7.0,
#                                        7.1, 7.2, 7.3 (any X.Y the registry has)
# env:   MSGRING_KERNEL_CACHE    cache, default ~/.cache/msgring/kernels; one directory per
#                                line with vmlinuz, pkg (package=version), release (uname -r)
#        MSGRING_KERNEL_REFRESH=1  look for a newer package even when a line is cached
#
# A cached line is used without asking apt anything. Otherwise the package lists come
# from a separate apt configuration under $CACHE/apt (its own sources list, lists and
# archive cache; the system's apt state is not touched): the system's own sources
# (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list and *.sources) plus the suites
# sid, trixie-backports and bookworm-backports of the mirror that serves the system's
# Debian release, read from those files at run time. Packages: 6.1 is
# linux-image-6.1.0-N-amd64 (bookworm); other lines linux-image-X.Y.Z+debN-amd64, and
# from 6.19 on linux-binary-X.Y.Z+debN-amd64 (linux-image is a meta package there).
# vmlinuz is boot/vmlinuz-* or, from 7.3 on, usr/lib/modules/RELEASE/vmlinuz. The
# downloads run in parallel.
# Exit: 0 every line fetched; 1 otherwise (stderr says which and why).
set -euo pipefail

CACHE="${MSGRING_KERNEL_CACHE:-$HOME/.cache/msgring/kernels}"
mkdir -p "$CACHE"
[ "$#" -gt 0 ] || { echo "usage: fetch-kernels.sh LINE..." >&2; exit 1; }
for l in "$@"; do
  [[ "$l" =~ ^[0-9]+\.[0-9]+$ ]] || { echo "fetch-kernels: $l is not a kernel line such as 6.12" >&2; exit 1; }
done

cached() { [ -f "$CACHE/$1/vmlinuz" ] && [ -f "$CACHE/$1/pkg" ] && [ -f "$CACHE/$1/release" ]; }
todo=()
for l in "$@"; do
  if ! cached "$l" || [ "${MSGRING_KERNEL_REFRESH:-0}" = 1 ]; then todo+=("$l"); fi
done

if [ "${#todo[@]}" -gt 0 ]; then
  A="$CACHE/apt"
  mkdir -p "$A/etc" "$A/lists/partial" "$A/archives/partial"
  # ---- the system's sources, read at run time ------------------------------------
  # One-line entries: "deb [opts] URI SUITE COMPONENTS..." from the .list files, and
  # the deb822 stanzas of the .sources files turned into such lines.
  sys_lines() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && grep -E '^[[:space:]]*deb[[:space:]]' "$f" || true
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "" && enabled != "no") {
            n = split(uris, u, " "); m = split(suites, s, " ")
            for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
              printf "deb %s%s %s %s\n", (signed != "" ? "[signed-by=" signed "] " : ""), u[i], s[j], comps
          }
          types = uris = suites = comps = signed = enabled = ""
        }
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ /, ""); val = $0 }
        key == "types" { types = val } key == "uris" { uris = val } key == "suites" { suites = val }
        key == "components" { comps = val } key == "signed-by" { signed = val } key == "enabled" { enabled = tolower(val) }
        END { flush() }' "$f"
    done
  }
  mapfile -t sys < <(sys_lines)
  [ "${#sys[@]}" -gt 0 ] || { echo "fetch-kernels: no deb lines in the system's apt sources" >&2; exit 1; }
  # The mirror: the URI of the entry for a release suite without a suffix (bookworm,
  # trixie...), and the options (signed-by) it uses.
  main=""
  for e in "${sys[@]}"; do
    read -r -a w <<<"$e"
    i=1
    opts=""
    if [[ "${w[1]}" == \[* ]]; then
      while [[ "${w[$i]}" != *\] ]]; do opts+="${w[$i]} "; i=$((i + 1)); done
      opts+="${w[$i]}"
      i=$((i + 1))
    fi
    uri="${w[$i]}" suite="${w[$((i + 1))]}"
    if [[ "$suite" =~ ^[a-z]+$ ]] && [ -z "$main" ]; then main="$opts $uri"; fi
  done
  [ -n "$main" ] || { echo "fetch-kernels: no Debian release suite in the system's apt sources" >&2; exit 1; }
  {
    printf '%s\n' "${sys[@]}"
    for s in bookworm-backports trixie-backports sid; do echo "deb ${main# } $s main"; done
  } | awk '!seen[$0]++' >"$A/etc/sources.list.new"
  mv "$A/etc/sources.list.new" "$A/etc/sources.list"
  APT=(-o "Dir::Etc::sourcelist=$A/etc/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A" -o "Dir::Cache::archives=$A/archives"
    -o "Dir::State::status=/var/lib/dpkg/status" -o "Acquire::Languages=none"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false" -o "APT::Sandbox::User=root")
  # Lists younger than a day are used as they are (a CI run fetches them once).
  stamp="$A/lists/.msgring-updated"
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ] || [ "${MSGRING_KERNEL_REFRESH:-0}" = 1 ]; then
    echo "fetch-kernels: apt-get update (separate configuration in $A)" >&2
    timeout 600 apt-get -qq "${APT[@]}" update >&2 || { echo "fetch-kernels: apt-get update failed" >&2; exit 1; }
    touch "$stamp"
  fi
  names="$A/names"
  apt-cache "${APT[@]}" pkgnames linux- >"$names"

  # ---- pick and download (in parallel) ---------------------------------------------
  pick() { # LINE -> package name
    local l="$1" esc kind pat
    esc="${l//./\\.}"
    kind=image
    if [ "$(printf '%s\n%s\n' "$l" 6.19 | sort -V | head -n1)" = 6.19 ]; then kind=binary; fi
    if [ "$l" = 6.1 ]; then pat="^linux-image-6\.1\.0-[0-9]+-amd64$"; else pat="^linux-$kind-$esc\.[0-9]+\+deb[0-9.]+-amd64$"; fi
    grep -E "$pat" "$names" | sort -V | tail -n1
  }
  declare -A pkg=() tmp=()
  pids=()
  for l in "${todo[@]}"; do
    p="$(pick "$l")"
    [ -n "$p" ] || { echo "fetch-kernels: no kernel package for line $l in the registry" >&2; exit 1; }
    pkg[$l]="$p"
    if cached "$l" && [ "$(cut -d= -f1 "$CACHE/$l/pkg")" = "$p" ]; then continue; fi
    tmp[$l]="$(mktemp -d "$A/dl.XXXXXX")"
    echo "fetch-kernels: downloading $p" >&2
    (cd "${tmp[$l]}" && timeout 1200 apt-get -qq "${APT[@]}" download "$p" >&2) &
    pids+=("$!:$l")
  done
  failed=0
  for pl in "${pids[@]}"; do
    if ! wait "${pl%%:*}"; then
      echo "fetch-kernels: download of ${pkg[${pl#*:}]} failed" >&2
      failed=1
    fi
  done
  [ "$failed" = 0 ] || exit 1

  # ---- extract -----------------------------------------------------------------------
  for l in "${!tmp[@]}"; do
    t="${tmp[$l]}"
    debs=("$t"/*.deb)
    [ -f "${debs[0]}" ] || { echo "fetch-kernels: no .deb for ${pkg[$l]}" >&2; exit 1; }
    ver="$(dpkg-deb -f "${debs[0]}" Version)"
    mkdir -p "$t/x"
    dpkg-deb --fsys-tarfile "${debs[0]}" |
      tar -x -C "$t/x" --wildcards --no-anchored 'vmlinuz*' 'config-*' 2>/dev/null || true
    vm="$(find "$t/x" -type f \( -name 'vmlinuz-*' -o -name vmlinuz \) | head -n1)"
    [ -n "$vm" ] || { echo "fetch-kernels: no vmlinuz in ${pkg[$l]}" >&2; exit 1; }
    case "$vm" in
      */vmlinuz) rel="$(basename "$(dirname "$vm")")" ;;
      *) rel="$(basename "$vm" | sed 's/^vmlinuz-//')" ;;
    esac
    cfg="$(find "$t/x" -type f -name 'config-*' | head -n1)"
    rm -rf "$CACHE/$l"
    mkdir -p "$CACHE/$l"
    cp "$vm" "$CACHE/$l/vmlinuz"
    [ -n "$cfg" ] && cp "$cfg" "$CACHE/$l/config"
    echo "${pkg[$l]}=$ver" >"$CACHE/$l/pkg"
    echo "$rel" >"$CACHE/$l/release"
    rm -rf "$t"
  done
fi

for l in "$@"; do
  cached "$l" || { echo "fetch-kernels: line $l not in the cache after fetching" >&2; exit 1; }
  echo "$l $CACHE/$l/vmlinuz"
done
