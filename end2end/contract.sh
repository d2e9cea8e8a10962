#!/usr/bin/env bash
# The contract test: schemathesis (PyPI) against the running server at $FYPASS_BASE_URL,
# on every operation of /api/openapi.json, with a client key and a user's access token so
# it gets past authentication. It fails on any 5xx, any status code or content type the
# document does not declare, and any response that breaks its schema. Bounded: a fixed
# number of examples per operation, a fixed seed, and a time limit.
#
# Three runs, so each operation is also tried with tokens that work:
# 1. every operation but logout (which would revoke the token the others use);
# 2. the token operations on their documented examples, filled with a real refresh token
#    and access token (schemathesis cannot make those up);
# 3. logout, with a token of its own.
set -euo pipefail
: "${FYPASS_BASE_URL:?}" "${FYPASS_TEST_CLIENT_KEY:?}" "${SCHEMATHESIS:?}"
base=$FYPASS_BASE_URL key=$FYPASS_TEST_CLIENT_KEY
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

json() { node -pe "JSON.parse(require('fs').readFileSync(0)).$1"; }
# A person signs in through the real flow; returns the first poll's reply (the tokens).
sign_in() {
  local req
  req=$(curl -fsS -X POST -H "x-client-key: $key" "$base/api/v1/users/login" | json reqToken)
  curl -fsS -o /dev/null -H 'content-type: application/json' \
    -d "{\"reqToken\":\"$req\",\"name\":\"Contract\",\"email\":\"contract-$RANDOM$RANDOM@example.com\",\"password\":\"contract password\"}" \
    "$base/api/v1/fypass/register"
  curl -fsS -H "x-client-key: $key" "$base/api/v1/users/login-status?reqToken=$req"
}
run() {
  timeout 600 "$SCHEMATHESIS" run "$@" \
    --header "x-client-key: $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples 40 \
    --seed 20261125 \
    --request-timeout 15 \
    --no-color
}

first=$(sign_in)
run "$base/api/openapi.json" --header "Authorization: Bearer $(json accessToken <<<"$first")" \
  --exclude-operation-id logout

second=$(sign_in)
curl -fsS "$base/api/openapi.json" | node -e '
  const doc = JSON.parse(require("fs").readFileSync(0));
  const [refresh, access] = process.argv.slice(1);
  const example = (path, value) => { doc.paths[path].post.requestBody.content["application/json"].example = value; };
  example("/api/v1/users/token", { refreshToken: refresh });
  example("/api/v1/users/introspect", { token: access });
  process.stdout.write(JSON.stringify(doc));
' "$(json refreshToken <<<"$second")" "$(json accessToken <<<"$second")" >"$work/tokens.json"
run "$work/tokens.json" --url "$base" --phases examples \
  --header "Authorization: Bearer $(json accessToken <<<"$second")" \
  --include-operation-id refreshTokens --include-operation-id introspect --include-operation-id getMe

third=$(sign_in)
run "$base/api/openapi.json" --phases examples,coverage \
  --header "Authorization: Bearer $(json accessToken <<<"$third")" --include-operation-id logout
