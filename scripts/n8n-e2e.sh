#!/usr/bin/env bash
# Opt-in end-to-end check against a real n8n (not part of CI: installing n8n takes ~5 min and ~2.3 GB).
#
#   bash scripts/n8n-e2e.sh            # installs n8n 2.8.4 into a temporary folder, removed at the end
#   N8N_E2E_DIR=~/.cache/punctual-n8n bash scripts/n8n-e2e.sh   # install once, reuse on later runs
#
# 1. installs n8n 2.8.4 with npm (with the `xlsx` override it needs to install from the registry);
# 2. starts a fake LinkedIn API (scripts/fake_linkedin.py) on 127.0.0.1:$FAKE_PORT;
# 3. imports the Header Auth credential and the shipped workflow (docs/n8n/), publishes it, and
#    starts n8n on loopback with LINKEDIN_API_BASE_URL pointing at the fake, and the fake as n8n's
#    HTTP proxy for every other host (image downloads reach it by name, and nothing leaves the machine);
# 4. runs Punctual with the local dispatcher against the real n8n webhook (scripts/n8n_e2e_check.py):
#    posts scheduled a few seconds ahead, then checks the fake received each one once with the right
#    author and escaped text, an image post got its image, a duplicate text came back as a failure,
#    a repeated idempotency key is dropped, a wrong secret is refused, and Punctual stored the URNs;
# 5. sends dry runs (Punctual's pipeline check) to the webhook: a good token -> "linkedin": "ok" with
#    the member's name, a revoked one -> "token rejected", nothing posted, a wrong secret -> 403, an
#    unknown webhook path -> 404; and image URLs on internal hosts -> 400 before any download.
#
# With N8N_E2E_COMMAND set, step 4 runs that command instead, with the same environment
# (N8N_WEBHOOK_URL, N8N_WEBHOOK_AUTH_HEADER, N8N_WEBHOOK_SECRET, FAKE_LINKEDIN); FAKE_LINKEDIN_DELAY_MS
# makes the fake take that long to create a post. The n8n concurrency benchmark runs this way:
#   N8N_E2E_DIR=~/.cache/punctual-n8n FAKE_LINKEDIN_DELAY_MS=300 \
#     N8N_E2E_COMMAND=".venv/bin/python bench/n8n_concurrency.py" bash scripts/n8n-e2e.sh
# Needs Node.js 20 and npm, and Python 3.11+. Ports: 5678 (n8n), 5679 (n8n's task broker), $FAKE_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N8N_VERSION=2.8.4
FAKE_PORT=${FAKE_PORT:-8765}
N8N_PORT=5678
SECRET=${N8N_E2E_SECRET:-e2e-$(python3 -c 'import secrets; print(secrets.token_hex(12))')}

if [ -n "${N8N_E2E_DIR:-}" ]; then
  INSTALL=$N8N_E2E_DIR; KEEP_INSTALL=1
else
  INSTALL=$(mktemp -d -t punctual-n8n-XXXXXX); KEEP_INSTALL=0
fi
RUN=$(mktemp -d -t punctual-n8n-run-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$KEEP_INSTALL" = 1 ] || rm -rf "$INSTALL"
  rm -rf "$RUN"
}
trap cleanup EXIT

step() { echo; echo "== $*"; }

step "n8n $N8N_VERSION in $INSTALL"
mkdir -p "$INSTALL"
if [ ! -x "$INSTALL/node_modules/.bin/n8n" ] || ! grep -q "\"version\": \"$N8N_VERSION\"" "$INSTALL/node_modules/n8n/package.json"; then
  cat > "$INSTALL/package.json" <<EOF
{ "name": "punctual-n8n-e2e", "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "xlsx": "0.18.5" } }
EOF
  start=$(date +%s)
  (cd "$INSTALL" && npm install --no-audit --no-fund --loglevel=error)
  echo "installed in $(( $(date +%s) - start )) s"
else
  echo "already installed"
fi
N8N="$INSTALL/node_modules/.bin/n8n"

step "Punctual's virtualenv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
PY=$ROOT/.venv/bin/python

step "fake LinkedIn on 127.0.0.1:$FAKE_PORT"
"$PY" scripts/fake_linkedin.py --port "$FAKE_PORT" --post-delay-ms "${FAKE_LINKEDIN_DELAY_MS:-0}" > "$RUN/fake.log" 2>&1 &
PIDS+=($!)

export N8N_USER_FOLDER=$RUN/n8n N8N_HOST=127.0.0.1 N8N_LISTEN_ADDRESS=127.0.0.1 N8N_PORT=$N8N_PORT \
       N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false \
       N8N_PERSONALIZATION_ENABLED=false N8N_TEMPLATES_ENABLED=false DB_TYPE=sqlite DO_NOT_TRACK=1 \
       N8N_BLOCK_ENV_ACCESS_IN_NODE=false \
       LINKEDIN_API_BASE_URL=http://127.0.0.1:$FAKE_PORT
mkdir -p "$N8N_USER_FOLDER"

step "import the credential and the workflow"
cat > "$RUN/credentials.json" <<EOF
[{"id": "PunctualWebhook01", "name": "Punctual webhook secret", "type": "httpHeaderAuth",
  "data": {"name": "X-Punctual-Secret", "value": "$SECRET"}}]
EOF
"$N8N" import:credentials --input="$RUN/credentials.json" 2>&1 | grep -v -i -E 'deprecat|migration' || true
"$N8N" import:workflow --input=docs/n8n/punctual-linkedin-workflow.json 2>&1 | grep -v -i -E 'deprecat|migration' || true
"$N8N" publish:workflow --id=PunctualLinkedIn01 2>&1 | grep -v -i -E 'deprecat|migration' || true

step "start n8n on 127.0.0.1:$N8N_PORT"
# Only n8n gets the proxy: every plain-http host but the fake itself goes through the fake.
HTTP_PROXY=http://127.0.0.1:$FAKE_PORT http_proxy=http://127.0.0.1:$FAKE_PORT \
  NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
  "$N8N" start > "$RUN/n8n.log" 2>&1 &
PIDS+=($!)
WEBHOOK=http://127.0.0.1:$N8N_PORT/webhook/linkedin-post
ready=0
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$WEBHOOK" -H 'Content-Type: application/json' -d '{}' || true)
  if [ "$code" = 403 ]; then ready=1; break; fi   # active: refuses a request without the secret
  sleep 1
done
if [ "$ready" != 1 ]; then
  echo "n8n did not serve the webhook (last answer: $code); its log:"; tail -40 "$RUN/n8n.log"; exit 1
fi
echo "webhook is live: $WEBHOOK"

step "Punctual, local dispatcher -> n8n -> fake LinkedIn"
set +e
N8N_WEBHOOK_URL=$WEBHOOK N8N_WEBHOOK_AUTH_HEADER=X-Punctual-Secret N8N_WEBHOOK_SECRET=$SECRET \
  FAKE_LINKEDIN=http://127.0.0.1:$FAKE_PORT DATABASE_URL=sqlite:///$RUN/punctual.db \
  SECRET_KEY=e2e-secret LOCAL_DISPATCHER=thread SWEEP_INTERVAL=5 \
  ${N8N_E2E_COMMAND:-"$PY" scripts/n8n_e2e_check.py}
status=$?
set -e
if [ "$status" != 0 ]; then
  echo; echo "n8n log (last 40 lines):"; tail -40 "$RUN/n8n.log"
fi
exit "$status"
