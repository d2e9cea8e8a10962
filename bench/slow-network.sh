#!/usr/bin/env bash
# The sign-in page and /devices on a slow phone (Chromium's Slow 3G and a 4x slower CPU, no
# cache): the bytes of each first load, when the form shows and when the page is hydrated,
# over RUNS runs (default 5), written as a table between the `bench:slow-network` markers of
# BENCHMARKS.md (or only printed with --no-write). Builds the release as `make build` does
# and serves it on a fresh SQLite database.
#
#   bench/slow-network.sh [--runs N] [--no-write]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 write=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --no-write) write='' ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

make build tools-test >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fypass/target}
bin=$CARGO_TARGET_DIR/release/fypass
work=$(mktemp -d) server=''
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export FYPASS_DATABASE_URL="sqlite://$work/fypass.db" LEPTOS_SITE_ADDR="127.0.0.1:$port"
export FYPASS_PUBLIC_URL="http://localhost:$port" FYPASS_METRICS_ADDR=off
key=$("$bin" client create --name "Slow network" | node -pe 'JSON.parse(require("fs").readFileSync(0)).key')
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fsS "$FYPASS_PUBLIC_URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

node bench/slow-network.cjs "$FYPASS_PUBLIC_URL" "$key" "$runs" >"$work/runs.json"
table=$(node -e '
  const runs = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const range = (xs) => `${Math.min(...xs)}–${Math.max(...xs)}`;
  console.log("| page | first load (KB, 1000 bytes) | form shown (s) | hydrated (s) | runs |");
  console.log("|---|---|---|---|---|");
  for (const [page, rs] of Object.entries(runs)) {
    const kb = rs.map((r) => r.bytes / 1000), shown = rs.map((r) => r.shownMs / 1000), hyd = rs.map((r) => r.hydratedMs / 1000);
    console.log(`| ${page} | ${median(kb).toFixed(1)} | ${median(shown).toFixed(2)} (${range(shown.map((x) => x.toFixed(2)))}) | ${median(hyd).toFixed(2)} (${range(hyd.map((x) => x.toFixed(2)))}) | ${rs.length} |`);
  }' "$work/runs.json")
echo "$table"
if [ -n "$write" ]; then
  section="Measured $(date -u +%Y-%m-%d) with \`bench/slow-network.sh --runs $runs\` (medians, range in brackets):

$table"
  node -e '
    const fs = require("fs"), [file, body] = process.argv.slice(1);
    const text = fs.readFileSync(file, "utf8"), open = "<!-- bench:slow-network -->", close = "<!-- /bench:slow-network -->";
    const at = text.indexOf(open), end = text.indexOf(close);
    if (at < 0 || end < 0) throw new Error("no bench:slow-network markers in " + file);
    fs.writeFileSync(file, text.slice(0, at + open.length) + "\n" + body + "\n" + text.slice(end));' BENCHMARKS.md "$section"
fi
