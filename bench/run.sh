#!/usr/bin/env bash
# The benchmarks: builds the release (as `make build` does), installs `wrk` from Debian if
# it is missing, then runs bench/load.rs, which seeds a fresh database, starts the server,
# drives every route with wrk and writes its table into BENCHMARKS.md.
#
#   bench/run.sh                        SQLite (a fresh file in a temporary directory)
#   bench/run.sh --postgres [URL]       PostgreSQL: a database created on URL and dropped
#                                       after (default postgres://postgres@127.0.0.1:5432/test)
#   bench/run.sh --duration SECS        seconds per route (default 10)
#   bench/run.sh --no-write             print the table only
#   bench/run.sh --no-peer              skip the side-by-side run of node oidc-provider
#                                       (bench/peer/; installed here when node is there)
#   bench/run.sh --peer-only            only that side-by-side run, printed (nothing written)
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres)
      if [ $# -gt 1 ] && [[ "$2" == postgres* ]]; then args+=(--postgres "$2"); shift
      else args+=(--postgres "postgres://postgres@127.0.0.1:5432/test"); fi ;;
    *) args+=("$1") ;;
  esac
  shift
done

make build
command -v wrk >/dev/null \
  || { $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get update -qq \
       && $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq wrk; }

if command -v npm >/dev/null && [[ " $* " != *" --no-peer "* ]] \
   && [ ! bench/peer/node_modules/.package-lock.json -nt bench/peer/package-lock.json ]; then
  npm ci --prefix bench/peer --no-audit --no-fund --silent
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fypass/target}
cargo bench --no-default-features --features ssr --bench load -- "${args[@]}"
