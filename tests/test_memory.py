"""The malloc arena limit that keeps a long-running server's RSS flat (see webapp/memory.py;
the effect itself is measured by bench/soak.py, not here)."""

import subprocess
import sys


def run(code: str, **env) -> str:
    import os

    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=environment).stdout.strip()


CODE = "from webapp import memory; print(memory.limit_malloc_arenas(), memory.limit_malloc_arenas())"


def test_the_limit_is_set_once_per_process_on_glibc():
    import platform

    first, second = run(CODE).split()
    assert second == "False"  # once per process
    if platform.libc_ver()[0] == "glibc":
        assert first == "True"


def test_an_operators_malloc_arena_max_wins():
    assert run(CODE, MALLOC_ARENA_MAX="4") == "False False"
