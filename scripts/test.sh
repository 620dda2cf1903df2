#!/usr/bin/env bash
# Installs everything the tests need, then runs them: a virtualenv with the project's test extra,
# and Debian's Chromium for the browser tests (when run as root on Debian; otherwise they skip
# locally with a reason, and fail under CI=true). The linter and the type checker run first: a
# lint or type error fails the run before any test.
# Postgres variants run when TEST_DATABASE_URL is set (.ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's Chromium for the browser tests..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi

echo "ruff check ."
.venv/bin/ruff check .
echo "mypy"
.venv/bin/mypy

if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# The whole suite: three processes (pytest-xdist; on 2 cores, since many tests wait on a browser,
# a subprocess or a socket), each test file's tests kept on one of them; then,
# alone, the tests that restart PostgreSQL under the others' feet (marked `exclusive`).
status=0
.venv/bin/python -m pytest -n 3 --dist loadfile --durations=12 -m "not exclusive" || status=$?
.venv/bin/python -m pytest -m exclusive || status=$((status ? status : $?))
exit "$status"
