"""What every bench script checks before it starts: a missing piece stops it at once, with a
sentence saying what to do, instead of failing (or, worse, running on) half-way through."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "install the bench extra: pip install -e '.[bench]'"


def fail(script: str, sentence: str) -> None:
    raise SystemExit(f"{script}: {sentence}")


def need_modules(script: str, *modules: str) -> None:
    """Stop unless every module can be imported (the project's own dependencies included)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        fail(script, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed in "
                     f"{sys.executable}; {INSTALL} (from {ROOT}).")


def need_program(script: str, name: str) -> str:
    """The path of an executable that must be on PATH."""
    path = shutil.which(name)
    if path is None:
        fail(script, f"the program `{name}` is needed and is not on PATH.")
    return path


def need_postgres(script: str, url: str) -> None:
    """Stop unless the Postgres at `url` accepts a connection within a few seconds."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from webapp.config import normalise_database_url

    shown = make_url(normalise_database_url(url)).render_as_string(hide_password=True)
    if not shown.startswith("postgresql"):
        fail(script, f"--database-url must be a PostgreSQL URL (postgresql://…), got {shown}.")
    engine = sa.create_engine(normalise_database_url(url), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any reason at all: say it, once, and stop
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(script, f"cannot connect to PostgreSQL at {shown} ({reason}). Start PostgreSQL, or pass "
                     f"another --database-url{'' if script.endswith('sweep.py') else ' (or use SQLite, see --help)'}.")
    finally:
        engine.dispose()


def need_writable_dir(script: str, path: str | os.PathLike) -> Path:
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        fail(script, f"cannot write plots to {directory}: {exc.strerror or exc}.")
    return directory
