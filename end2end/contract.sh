#!/usr/bin/env bash
# The contract test: schemathesis (PyPI) against the running server at $FYPASS_BASE_URL,
# on every operation of /api/openapi.json, with a client key and a user's access token so
# it gets past authentication. It fails on any 5xx, any status code or content type the
# document does not declare, and any response that breaks its schema. Bounded: a fixed
# number of examples per operation, a fixed seed, and a time limit.
set -euo pipefail
: "${FYPASS_BASE_URL:?}" "${FYPASS_TEST_CLIENT_KEY:?}" "${SCHEMATHESIS:?}"
base=$FYPASS_BASE_URL key=$FYPASS_TEST_CLIENT_KEY

json() { node -pe "JSON.parse(require('fs').readFileSync(0)).$1"; }
# A user signs in through the real flow; their access token authenticates Bearer routes.
req=$(curl -fsS -X POST -H "x-client-key: $key" "$base/api/v1/users/login" | json reqToken)
curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d "{\"reqToken\":\"$req\",\"name\":\"Contract\",\"email\":\"contract-$RANDOM$RANDOM@example.com\",\"password\":\"contract password\"}" \
  "$base/api/v1/fypass/register"
token=$(curl -fsS -H "x-client-key: $key" "$base/api/v1/users/login-status?reqToken=$req" | json accessToken)

timeout 600 "$SCHEMATHESIS" run "$base/api/openapi.json" \
  --header "x-client-key: $key" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples 40 \
  --seed 20261125 \
  --request-timeout 15 \
  --no-color
