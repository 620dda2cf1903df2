#!/usr/bin/env bash
# Proves the repository deploys to Vercel: Vercel's own `vercel build`, offline (no login, no
# project on Vercel), on a clean copy of the tree, then checks and runs what it built.
#
#   bash scripts/vercel-check.sh                    # build with the "Flask" preset, inspect, smoke-test
#   bash scripts/vercel-check.sh --framework none   # build as a project imported as "Other"
#   bash scripts/vercel-check.sh --no-smoke         # build and inspect only (no Postgres needed)
#   bash scripts/vercel-check.sh --bytecode         # with VERCEL_PYTHON_COMPILEALL=1 (ships .pyc files)
#   bash scripts/vercel-check.sh --cold-starts 10   # more cold starts for the median (docs/benchmarks.md)
#
# 1. installs the Vercel CLI (pinned) with npm and uv (pinned) with pip into .cache/ (gitignored;
#    reused by later runs), and finds Python 3.12, the version Vercel's functions run;
# 2. copies the tree as git sees it (tracked and new files, nothing ignored: no .venv, instance/,
#    .git) and writes .vercel/project.json with the chosen Framework Preset;
# 3. runs `vercel build --yes` and inspects .vercel/output (scripts/vercel_function.py inspect):
#    exactly one function, handler webapp.wsgi:app, vercel.json's maxDuration and crons, templates/
#    and static/ shipped, tests/ bench/ docs/ scripts/ .ci/ not; prints the bundle's size;
# 4. unless --no-smoke: starts the built function with Python 3.12 in three sys.path orders, on a
#    read-only copy, in production mode against a fresh schema in TEST_DATABASE_URL, and checks
#    pages, a static file, /healthz, /api/openapi.json, one QStash-signed dispatch and the cron's recover call
#    (scripts/vercel_function.py smoke).
#
# Exit 77 (with a sentence) when a tool it needs is missing: tests/test_vercel_build.py turns that
# into a skip locally and a failure under CI=true. Needs Node.js and npm, Python 3.12, and (for the
# smoke test) the project's virtualenv (.venv, made by bash scripts/test.sh; or VENV_PYTHON) and a
# Postgres server.
set -euo pipefail
{ # the whole script is read before it runs: editing it (or a git checkout) mid-run is harmless
cd "$(dirname "$0")/.."
ROOT=$PWD
VERCEL_VERSION=64.0.2
UV_VERSION=0.13.9
CACHE=${PUNCTUAL_CACHE:-$ROOT/.cache}
FRAMEWORK=flask
SMOKE=1
COLD_STARTS=3
BYTECODE=0
VENV_PYTHON=${VENV_PYTHON:-$ROOT/.venv/bin/python}

while [ $# -gt 0 ]; do
  case "$1" in
    --framework) FRAMEWORK=$2; shift 2 ;;
    --no-smoke) SMOKE=0; shift ;;
    --cold-starts) COLD_STARTS=$2; shift 2 ;;
    --bytecode) BYTECODE=1; shift ;;
    *) echo "usage: $0 [--framework flask|none] [--bytecode] [--no-smoke] [--cold-starts N]" >&2; exit 2 ;;
  esac
done
case "$FRAMEWORK" in
  flask) SETTING='"flask"' ;;
  none|null|other) FRAMEWORK=none; SETTING=null ;;
  *) echo "--framework is flask or none, not '$FRAMEWORK'." >&2; exit 2 ;;
esac

missing() { echo "vercel-check: $*" >&2; exit 77; }
step() { echo; echo "== $*"; }
seconds() { echo $(( $(date +%s) - $1 )); }

# Python 3.12: PYTHON312, or python3.12 on PATH (if it runs: a pyenv shim may not), or pyenv's.
find_python312() {
  local candidate
  for candidate in "${PYTHON312:-}" "$(command -v python3.12 || true)" \
                   "$(pyenv prefix 3.12 2>/dev/null | head -n 1)/bin/python3.12" \
                   $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

command -v node >/dev/null && command -v npm >/dev/null \
  || missing "Node.js and npm are needed to install the Vercel CLI, and were not found (apt-get install nodejs npm)."
PY312=$(find_python312) \
  || missing "Python 3.12 (the version Vercel's functions run) was not found on PATH or under pyenv: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12."
if [ "$SMOKE" = 1 ]; then
  [ -n "${TEST_DATABASE_URL:-}" ] \
    || missing "TEST_DATABASE_URL is not set, so the built function cannot be smoke-tested against Postgres (e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test, or --no-smoke)."
  [ -x "$VENV_PYTHON" ] || missing "$VENV_PYTHON is missing: run bash scripts/test.sh once to make the project's virtualenv."
fi

mkdir -p "$CACHE"
exec 9> "$CACHE/vercel-check.lock"
flock 9  # one run at a time per checkout: they share the CLI and the build folders

step "tools (cached in $CACHE)"
CLI=$CACHE/vercel-cli
mkdir -p "$CLI"
PACKAGE_JSON=$(cat <<EOF
{ "name": "punctual-vercel-cli", "private": true,
  "dependencies": { "vercel": "$VERCEL_VERSION" },
  "overrides": { "sandbox": "4.5.0" } }
EOF
)
if [ ! -x "$CLI/node_modules/.bin/vercel" ] || [ "$(cat "$CLI/package.json" 2>/dev/null)" != "$PACKAGE_JSON" ]; then
  echo "$PACKAGE_JSON" > "$CLI/package.json"
  start=$(date +%s)
  (cd "$CLI" && npm install --no-audit --no-fund --loglevel=error)
  echo "installed vercel@$VERCEL_VERSION in $(seconds "$start") s"
fi
VERCEL=$CLI/node_modules/.bin/vercel
UV_ENV=$CACHE/uv
if [ "$("$UV_ENV/bin/uv" --version 2>/dev/null | cut -d' ' -f1-2)" != "uv $UV_VERSION" ]; then
  start=$(date +%s)
  rm -rf "$UV_ENV"
  "$PY312" -m venv "$UV_ENV"
  "$UV_ENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  echo "installed uv $UV_VERSION in $(seconds "$start") s"
fi
echo "$("$VERCEL" --version 2>/dev/null | tail -n 1); $("$UV_ENV/bin/uv" --version); Python $("$PY312" -c 'import platform; print(platform.python_version())') ($PY312)"

NAME=$FRAMEWORK
COMPILE=
if [ "$BYTECODE" = 1 ]; then NAME=$FRAMEWORK-bytecode; COMPILE=1; fi
step "vercel build, Framework Preset: $FRAMEWORK${COMPILE:+, VERCEL_PYTHON_COMPILEALL=1}"
WORK=$CACHE/vercel-build/$NAME
rm -rf "$WORK"
mkdir -p "$WORK/src"
# The tree as git sees it: tracked and new files, nothing ignored (.venv, instance/, .cache/, .git).
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
  | tar --null -T - -cf - | tar -xf - -C "$WORK/src"
mkdir -p "$WORK/src/.vercel"
echo "{\"projectId\":\"prj_local\",\"orgId\":\"team_local\",\"settings\":{\"framework\":$SETTING}}" \
  > "$WORK/src/.vercel/project.json"
start=$(date +%s)
# VERCEL_PYTHON_COMPILEALL is the builder's switch for shipping bytecode: on only when asked.
if ! (cd "$WORK/src" && PATH="$(dirname "$PY312"):$UV_ENV/bin:$PATH" VERCEL_TELEMETRY_DISABLED=1 \
        VERCEL_PYTHON_COMPILEALL=$COMPILE "$VERCEL" build --yes > "$WORK/build.log" 2>&1); then
  tail -n 40 "$WORK/build.log" >&2
  echo "FAIL: vercel build failed with the Framework Preset '$FRAMEWORK' (log: $WORK/build.log)." >&2
  exit 1
fi
echo "built in $(seconds "$start") s ($WORK/src/.vercel/output)"

step "inspect the output"
"$PY312" scripts/vercel_function.py inspect "$WORK/src" --json "$WORK/bundle.json" ${COMPILE:+--expect-bytecode}

if [ "$SMOKE" = 1 ]; then
  step "run the built function (Python 3.12, three sys.path orders, production mode, Postgres)"
  start=$(date +%s)
  "$VENV_PYTHON" scripts/vercel_function.py smoke "$WORK/src" --python "$PY312" \
    --database-url "$TEST_DATABASE_URL" --cold-starts "$COLD_STARTS"
  echo "smoke-tested in $(seconds "$start") s"
fi
echo
echo "vercel-check: OK (Framework Preset: $FRAMEWORK${COMPILE:+, with bytecode})"
exit 0
}
