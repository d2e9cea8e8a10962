#!/usr/bin/env bash
# Runs the browser tests (Playwright) and then the API contract test (schemathesis, see
# contract.sh) against the release binary ($BIN), started on a fresh SQLite database.
# The server gets a client created with the admin CLI, whose key the tests use to act as
# an app; it is stopped (and the database removed) however the tests end.
set -euo pipefail
cd "$(dirname "$0")"

BIN=${BIN:?set BIN to the fypass release binary}
PORT=${FYPASS_E2E_PORT:-3311}
work=$(mktemp -d)
server='' maildev='' whatsapp=''
cleanup() {
  for pid in $server $maildev $whatsapp; do kill "$pid" 2>/dev/null || true; done
  [ -n "$server" ] && wait "$server" 2>/dev/null || true
  if [ "${status:-0}" != 0 ] && [ -f "$work/server.log" ]; then echo "--- server log ---"; tail -n 50 "$work/server.log"; fi
  # The failures again, last, so that a log cut to its tail still names them.
  if [ "${status:-0}" != 0 ] && [ -f "$work/playwright.log" ]; then
    echo "--- browser test failures ---"
    grep -E '^\s+[0-9]+\) |^\s+(Error|Expected|Received|Timeout|Call log)|^\s+[0-9]+ (failed|flaky|passed)|^\s+\[(desktop|phone)\] ›' "$work/playwright.log" | tail -n 60
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export FYPASS_DATABASE_URL="sqlite://$work/fypass.db"
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT"
# localhost, not 127.0.0.1: browsers refuse an IP address as a passkey's relying party.
export FYPASS_PUBLIC_URL="http://localhost:$PORT"
export FYPASS_BASE_URL="$FYPASS_PUBLIC_URL"
# Every test registers people from this one machine: lift the per-network cap. The tests
# act from other networks through X-Forwarded-For (the user-code confirmation).
export FYPASS_REGISTRATIONS_PER_HOUR=100000
export FYPASS_TRUSTED_PROXIES=127.0.0.1
export FYPASS_METRICS_ADDR=127.0.0.1:0

# The channels codes travel by: maildev (a real SMTP server; the tests read its mail over
# HTTP) and a stand-in for the WhatsApp Cloud API (whatsapp.mjs).
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
SMTP_PORT=$(free_port); MAIL_WEB_PORT=$(free_port); WHATSAPP_PORT=$(free_port)
export FYPASS_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT"
export FYPASS_MAIL_WEB="http://127.0.0.1:$MAIL_WEB_PORT"
export FYPASS_WHATSAPP_API_URL="http://127.0.0.1:$WHATSAPP_PORT"
export FYPASS_WHATSAPP_PHONE_NUMBER_ID=1234567890
export FYPASS_WHATSAPP_TOKEN=e2e-cloud-api-token
export FYPASS_WHATSAPP_SENT="http://127.0.0.1:$WHATSAPP_PORT/sent"
node_modules/.bin/maildev --smtp "$SMTP_PORT" --ip 127.0.0.1 --web "$MAIL_WEB_PORT" --web-ip 127.0.0.1 --silent &
maildev=$!
node whatsapp.mjs "$WHATSAPP_PORT" "$FYPASS_WHATSAPP_PHONE_NUMBER_ID" "$FYPASS_WHATSAPP_TOKEN" &
whatsapp=$!

client=$("$BIN" client create --name "E2E app" --redirect-url "$FYPASS_BASE_URL/docs")
export FYPASS_TEST_CLIENT_KEY=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).key' <<<"$client")
# An app with its own look (the browser tests serve its logo themselves).
branded=$("$BIN" client create --name "Warung Kopi" --redirect-url "$FYPASS_BASE_URL/docs")
export FYPASS_TEST_BRANDED_KEY=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).key' <<<"$branded")
"$BIN" client set-branding "$(node -pe 'JSON.parse(require("fs").readFileSync(0)).id' <<<"$branded")" \
  --logo-url https://cdn.warung-kopi.example/logo.svg --color '#0a7d5a' >/dev/null

# OpenID Connect relying parties (oidc.spec.ts): a web app with a secret, and a TV (public).
oidc=$("$BIN" client create --name "OIDC app" --redirect-url https://rp.example/cb)
export FYPASS_TEST_OIDC_ID=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).id' <<<"$oidc")
export FYPASS_TEST_OIDC_KEY=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).key' <<<"$oidc")
# One whose library knows only RSA: its ID tokens are RS256.
rsa=$("$BIN" client create --name "RSA app" --redirect-url https://rp.example/cb)
export FYPASS_TEST_RSA_ID=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).id' <<<"$rsa")
export FYPASS_TEST_RSA_KEY=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).key' <<<"$rsa")
"$BIN" client set-id-token-alg "$FYPASS_TEST_RSA_ID" RS256 >/dev/null
tv=$("$BIN" client create --name "Living room TV" --public --redirect-url https://tv.example/)
export FYPASS_TEST_TV_ID=$(node -pe 'JSON.parse(require("fs").readFileSync(0)).id' <<<"$tv")

"$BIN" serve >"$work/server.log" 2>&1 &
server=$!

for _ in $(seq 1 100); do
  curl -fsS "$FYPASS_BASE_URL/readyz" >/dev/null 2>&1 && curl -fsS "$FYPASS_MAIL_WEB/api/email" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { status=1; echo "the server did not start"; exit 1; }
  sleep 0.1
done

status=0
npx playwright test "$@" 2>&1 | tee "$work/playwright.log" || status=$?
if [ "$status" = 0 ] && [ -z "${SKIP_CONTRACT:-}" ]; then
  ./contract.sh || status=$?
fi
exit $status
