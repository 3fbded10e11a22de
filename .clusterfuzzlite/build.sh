#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: builds the model-only fuzz targets and
# copies them, with their seed corpora and dictionary, to $OUT.
#
# Expects (as the base-builder image sets them): OUT (output directory), SRC (where
# the repository is checked out, default: this script's repository). Optional:
# SANITIZER (address|none; default address), CARGO_FUZZ (the cargo-fuzz command,
# default `cargo fuzz`; the image's cargo is nightly, elsewhere use `cargo +nightly fuzz`).
#
# Locally: OUT=/tmp/out CARGO_FUZZ="cargo +nightly fuzz" .clusterfuzzlite/build.sh
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${SRC:-}" ] && [ -d "$SRC/msgring/fuzz" ]; then REPO="$SRC/msgring"; fi
: "${OUT:?set OUT to the output directory}"
SANITIZER="${SANITIZER:-address}"
CARGO_FUZZ="${CARGO_FUZZ:-cargo fuzz}"
TARGETS=(model trace_text)

mkdir -p "$OUT"
cd "$REPO"
# The model crate forbids unsafe code: the sanitizer flag the image passes is used as
# is (`-s none` when SANITIZER=none), coverage and comparison tracing come from
# cargo-fuzz.
san=address
if [ "$SANITIZER" = none ] || [ "$SANITIZER" = coverage ]; then san=none; fi
for t in "${TARGETS[@]}"; do
  $CARGO_FUZZ build -O -s "$san" "$t"
done
bin="fuzz/target/x86_64-unknown-linux-gnu/release"
for t in "${TARGETS[@]}"; do
  cp "$bin/$t" "$OUT/"
  (cd "fuzz/seeds/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
done
cp fuzz/trace_text.dict "$OUT/trace_text.dict"
# The model target reads text traces too: the same keywords help it.
cp fuzz/trace_text.dict "$OUT/model.dict"
printf '[libfuzzer]\nmax_len = 4096\n' > "$OUT/model.options"
printf '[libfuzzer]\nmax_len = 8192\n' > "$OUT/trace_text.options"
echo "built ${TARGETS[*]} into $OUT"
