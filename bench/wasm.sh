#!/usr/bin/env bash
# What the browser downloads, and what it would with less. Builds the front end (release,
# as `make build` does) from copies of this checkout and prints each WASM's size raw, gzip
# and brotli, and the difference. The build cache is the usual one; the sites go to a
# temporary directory, so `make run` is untouched.
#
#   bench/wasm.sh languages   what a second language costs: as it is (English and Bahasa
#                             Indonesia) against the Indonesian texts replaced by the
#                             English ones (one language's worth of distinct strings; the
#                             keys and the code stay the same)
#   bench/wasm.sh split       what cargo-leptos' own way of loading each island's code apart
#                             gives (tried against the bundles of src/bundles.rs, not kept):
#                             every island lazy (`island(lazy)`) and the WASM cut by
#                             `--split`; prints what the sign-in page and /devices would
#                             fetch (the main module, its JS, the split loader, the CSS,
#                             and the chunks their islands load). Takes about 13 minutes.
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
case "${1:-}" in
  split)
    perl -0pi -e 's/(hydrates = "\w+"), island\)\]/$1, island(lazy))]/g' $(grep -rl ', island)]' "$work/one/src")
    (cd "$work/one" && LEPTOS_SITE_ROOT="$work/site" cargo leptos build --release --precompress --frontend-only --split >"$work/split.log" 2>&1) \
      || { tail -20 "$work/split.log"; exit 1; }
    (cd "$work/site/pkg" && python3 - <<'PY'
import glob, json, os
br = lambda path: os.path.getsize(path + ".br")
manifest = json.load(open(glob.glob("__wasm_split_manifest.*.json")[0]))
shared = {f: br(f) for f in glob.glob("fypass.*.wasm") + glob.glob("fypass.*.js") + glob.glob("__wasm_split.*.js") + glob.glob("*.css")}
for name, size in shared.items():
    print(f"{name:48} {size / 1024:8.1f} KiB brotli")
print(f"{len(manifest)} lazy islands, {len(glob.glob('chunk_*.wasm'))} chunks")
for page, islands in [("sign-in page", ["login_form", "passkey_sign_in"]), ("/devices", ["device_list", "sign_out_button"])]:
    chunks = {c for key, cs in manifest.items() if any(key.startswith(i + "_loader") for i in islands) for c in cs}
    total = sum(shared.values()) + sum(br(c + ".wasm") for c in chunks)
    print(f"{page}: {len(chunks)} chunks, {total / 1024:.1f} KiB brotli with the shared files (not the page)")
PY
    )
    exit ;;
  languages)
    labels=("one language (en texts)" "en + id" "growth")
    for file in "$work/one/src/locales/en/"*.json; do
      cp "$file" "$work/one/src/locales/id/$(basename "$file")"
    done ;;
  *) echo "usage: $0 languages|split" >&2; exit 2 ;;
esac

one=$(measure one "$work/one")
two=$(measure two "$work/two")
echo "$one"$'\n'"$two" | awk -v a="${labels[0]}" -v b="${labels[1]}" -v c="${labels[2]}" '
  { raw[$1] = $2; gz[$1] = $3; br[$1] = $4 }
  END {
    printf "%-28s %10s %10s %10s\n", "", "raw KiB", "gzip KiB", "brotli KiB"
    printf "%-28s %10.1f %10.1f %10.1f\n", a, raw["one"]/1024, gz["one"]/1024, br["one"]/1024
    printf "%-28s %10.1f %10.1f %10.1f\n", b, raw["two"]/1024, gz["two"]/1024, br["two"]/1024
    printf "%-28s %9.1f%% %9.1f%% %9.1f%%\n", c, 100*(raw["two"]/raw["one"]-1), 100*(gz["two"]/gz["one"]-1), 100*(br["two"]/br["one"]-1)
  }'
