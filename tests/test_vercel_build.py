"""The repository deploys: Vercel's own `vercel build` (the pinned CLI, offline) makes one function
that serves pages, static files, /healthz and a signed dispatch with Python 3.12, whichever way a
runtime orders sys.path, and a project imported without the Flask preset builds the same thing.

Each test runs scripts/vercel-check.sh, which prints what it built and measured; the CLI is
installed once into .cache/ (about a minute) and reused. These tests take minutes: `-m "not slow"`
leaves them out of a quick run. Without Node.js, Python 3.12 or TEST_DATABASE_URL they skip
locally with the reason, and fail under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import need

ROOT = Path(__file__).resolve().parent.parent
MISSING_TOOL = 77  # scripts/vercel-check.sh: a tool it needs is missing (the sentence is on stderr)

pytestmark = pytest.mark.slow


def vercel_check(*args: str) -> str:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "vercel-check.sh"), *args],
                            cwd=ROOT, env={**os.environ, "VENV_PYTHON": sys.executable},
                            capture_output=True, text=True, timeout=1800)
    if result.returncode == MISSING_TOOL:
        need(result.stderr.strip().splitlines()[-1].removeprefix("vercel-check: "))
    assert result.returncode == 0, (
        f"scripts/vercel-check.sh {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return result.stdout


def test_the_flask_build_serves_pages_files_health_and_a_dispatch_in_every_import_order():
    out = vercel_check("--cold-starts", "1")
    print(out)  # the bundle's size and the cold starts, shown with -s or on failure
    for order in ("root", "vendor", "runtime"):
        assert f"order {order}:" in out
    assert out.count("dispatch 200 -> n8n got it 1x, post published") == 3


def test_a_project_imported_as_other_builds_the_same_function_because_vercel_json_names_flask():
    out = vercel_check("--framework", "none", "--no-smoke")
    print(out)
    assert "function flask: python3.12, maxDuration 90, webapp.wsgi:app" in out


def test_the_bytecode_build_serves_in_every_import_order_too():
    out = vercel_check("--bytecode", "--cold-starts", "1")
    print(out)
    assert "bytecode:" in out
    assert out.count("dispatch 200 -> n8n got it 1x, post published") == 3
