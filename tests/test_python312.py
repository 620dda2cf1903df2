"""The unit tests pass under Python 3.12 too: the suite runs on 3.11 (the machines' python3), and
Vercel runs the app on 3.12.

What runs again under 3.12, in its own virtualenv (.cache/venv-py3.12): every test that is not
slow, not a browser test and not a Postgres variant, on SQLite. That is where a version shows:
deprecations (warnings are errors here), changed standard library behaviour, dependency wheels.
The Postgres path under 3.12 is covered by tests/test_vercel_build.py, which runs the built
function (psycopg, the dispatch, /healthz) with 3.12 against Postgres; running every Postgres
variant twice would add minutes for code that does not change with the Python version.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import need

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "venv-py3.12"
SELECTION = ["-m", "not slow and not browser and not postgres", "--ignore=tests/chaos", "--ignore=tests/e2e"]


def python312() -> str | None:
    """PYTHON312, python3.12 on PATH if it runs (a pyenv shim may not), or pyenv's 3.12."""
    candidates = [os.environ.get("PYTHON312"), shutil.which("python3.12"),
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"],
                               capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


@pytest.mark.slow
@pytest.mark.skipif(sys.version_info[:2] == (3, 12), reason="this run is the Python 3.12 run")
def test_the_unit_tests_pass_under_python_3_12():
    python = python312()
    if python is None:
        need("Python 3.12 (the version Vercel runs) was not found on PATH or under pyenv, so the unit "
             "tests cannot run under it (pyenv install 3.12, or set PYTHON312).")
    venv_python = VENV / "bin" / "python"
    if not venv_python.exists():
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    install = subprocess.run([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "-e", ".[test]"], cwd=ROOT, capture_output=True, text=True)
    assert install.returncode == 0, f"pip install under 3.12 failed:\n{install.stderr[-4000:]}"
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    run = subprocess.run([str(venv_python), "-m", "pytest", "-q", *SELECTION],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    print(f"Python 3.12: {summary}")
    assert run.returncode == 0, f"under Python 3.12:\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}"
    assert " passed" in summary, summary
