#!/usr/bin/env bash
# What a second language costs the browser. Builds the front end (release, as `make build`
# does) from a copy of this checkout twice: once as it is (English and Bahasa Indonesia),
# once with the Indonesian texts replaced by the English ones (one language's worth of
# distinct strings; the keys and the code stay the same), and prints each WASM's size raw,
# gzip and brotli, and the growth. The build cache is the usual one; the site goes to a
# temporary directory, so `make run` is untouched.
#
#   bench/wasm-languages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fypass/target}
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=fypass
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # <label> <tree>
  (cd "$2" && LEPTOS_SITE_ROOT="$work/site-$1" cargo leptos build --release --precompress --frontend-only >"$work/$1.log" 2>&1) \
    || { tail -20 "$work/$1.log"; exit 1; }
  local wasm
  wasm=$(ls "$work/site-$1"/pkg/*.wasm)
  echo "$1 $(stat -c %s "$wasm") $(stat -c %s "$wasm.gz") $(stat -c %s "$wasm.br")"
}

for tree in one two; do
  mkdir -p "$work/$tree"
  cp -r Cargo.toml Cargo.lock build.rs .cargo src style public "$work/$tree/"
done
for file in "$work/one/src/locales/en/"*.json; do
  cp "$file" "$work/one/src/locales/id/$(basename "$file")"
done

one=$(measure one "$work/one")
two=$(measure two "$work/two")
echo "$one"$'\n'"$two" | awk '
  { raw[$1] = $2; gz[$1] = $3; br[$1] = $4 }
  END {
    printf "%-28s %10s %10s %10s\n", "", "raw KiB", "gzip KiB", "brotli KiB"
    printf "%-28s %10.1f %10.1f %10.1f\n", "one language (en texts)", raw["one"]/1024, gz["one"]/1024, br["one"]/1024
    printf "%-28s %10.1f %10.1f %10.1f\n", "en + id", raw["two"]/1024, gz["two"]/1024, br["two"]/1024
    printf "%-28s %9.1f%% %9.1f%% %9.1f%%\n", "growth", 100*(raw["two"]/raw["one"]-1), 100*(gz["two"]/gz["one"]-1), 100*(br["two"]/br["one"]-1)
  }'
