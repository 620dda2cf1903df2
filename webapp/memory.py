"""Keep a long-running, many-threaded process's memory flat.

glibc's malloc gives threads their own arenas (up to 8 per core) and rarely hands freed memory
back. A web server that runs each request on a fresh thread (`flask run`, Werkzeug's threaded
server) plus a pool of sending threads then grows its RSS without bound: bench/soak.py measured
`flask run` growing 0.6 MB a minute (100 -> 108 MB in 12 minutes), and 0.04 MB a minute with
MALLOC_ARENA_MAX=2 (92.5 -> 93.0 MB over the same stretch; docs/benchmarks.md). Setting the environment variable
only works before the process starts, so the app asks glibc itself, through mallopt, before it
starts any thread. A MALLOC_ARENA_MAX set by the operator wins; other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("punctual")
M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2
_done = False


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """mallopt(M_ARENA_MAX, arenas) once per process on glibc; True if it took effect."""
    global _done
    if _done or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    _done = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = mallopt(M_ARENA_MAX, arenas) == 1
    if not ok:
        log.debug("mallopt(M_ARENA_MAX) was refused")
    return ok
