#!/usr/bin/env bash
# Compare RESULT lines of several runner outputs.
# usage: compare.sh LABEL=FILE... ; prints a per-kernel agreement summary and
# every scenario whose value is not the same on all kernels. Also writes the
# differences as a Markdown table to $MSGRING_DIFF_MD when set.
set -euo pipefail
awk -v md="${MSGRING_DIFF_MD:-}" '
BEGIN {
  n = ARGC - 1
  for (i = 1; i <= n; i++) {
    split(ARGV[i], kv, "=")
    label[i] = kv[1]; file[i] = substr(ARGV[i], length(kv[1]) + 2)
    ARGV[i] = file[i]
    fidx[file[i]] = i
  }
}
/^RESULT / {
  i = fidx[FILENAME]
  sc = $2
  v = $0; sub(/^RESULT [^ ]+ ?/, "", v)
  if (!(sc in seen)) { seen[sc] = 1; order[++ns] = sc }
  val[sc, i] = v
  cnt[i]++
}
END {
  ref = n   # the last argument is the reference (the host)
  printf "%-44s", "kernel"
  for (i = 1; i <= n; i++) printf " %-14s", label[i]
  printf "\n%-44s", "scenarios reported"
  for (i = 1; i <= n; i++) printf " %-14d", cnt[i]
  printf "\n%-44s", "same as " label[ref]
  for (i = 1; i <= n; i++) {
    same = 0
    for (k = 1; k <= ns; k++) { sc = order[k]; if (((sc, i) in val) && ((sc, ref) in val) && val[sc, i] == val[sc, ref]) same++ }
    printf " %-14s", same "/" ns
  }
  printf "\n\n"
  if (md != "") {
    printf "| scenario |" > md
    for (i = 1; i <= n; i++) printf " %s |", label[i] > md
    printf "\n|---|" > md
    for (i = 1; i <= n; i++) printf "---|" > md
    printf "\n" > md
  }
  ndiff = 0
  for (k = 1; k <= ns; k++) {
    sc = order[k]; differs = 0
    for (i = 1; i <= n; i++) {
      a = ((sc, i) in val) ? val[sc, i] : "(missing)"
      b = ((sc, 1) in val) ? val[sc, 1] : "(missing)"
      if (a != b) differs = 1
    }
    if (!differs) continue
    ndiff++
    printf "\033[1;31mDIFF\033[0m %s\n", sc
    for (i = 1; i <= n; i++) {
      a = ((sc, i) in val) ? val[sc, i] : "(missing)"
      printf "   %-8s %s\n", label[i], a
    }
    if (md != "") {
      printf "| %s |", sc > md
      for (i = 1; i <= n; i++) {
        a = ((sc, i) in val) ? val[sc, i] : "(missing)"
        gsub(/\|/, "\\|", a)
        printf " `%s` |", a > md
      }
      printf "\n" > md
    }
  }
  printf "\n%d of %d scenarios differ between kernels; the other %d agree on all of them.\n", ndiff, ns, ns - ndiff
}' "$@"
