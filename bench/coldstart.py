#!/usr/bin/env python3
"""Cold start: what importing the app costs a fresh process, against importing its bare stack.

A cold serverless function (Vercel) pays for `import webapp.wsgi` — the app built by create_app()
in production configuration — before it can answer anything. This measures it, in fresh
subprocesses, against importing the stack the app cannot do without:

  app    `import webapp.wsgi` with APP_ENV=production and every required setting given a dummy
         value; DATABASE_URL is a PostgreSQL URL (production's database) that is never
         connected to: building the app opens no connection. (A SQLite URL instead makes
         create_app run the migrations, as it does for SQLite; --database-url sqlite:///… shows it.)
  bare   `import flask, sqlalchemy, requests, psycopg` (the issue's bare stack)
  bare+  the bare stack and the Flask extensions every request uses: flask_sqlalchemy, flask_login

Each round runs the three once, in a rotating order, each in a new interpreter (bytecode caches
warmed by one discarded round); the figures are medians over the rounds, and the ratio is the
median of the rounds' app/bare ratios. Then `python -X importtime` (median of --profile-runs
runs) says what the app imports beyond the bare stack and what each costs: every third-party
module the app pulls in that the bare stack does not, grouped by package, with its cumulative
import time, and the app's own modules (create_app's work included).

Usage: .venv/bin/python bench/coldstart.py [--rounds 21] [--profile-runs 5] [--top 15] [--json]
Needs the project installed: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preflight import fail, need_modules  # noqa: E402

SCRIPT = "bench/coldstart.py"
BARE = ("flask", "sqlalchemy", "requests", "psycopg")
BARE_PLUS = BARE + ("flask_sqlalchemy", "flask_login")
TARGET = 1.5

#: Every setting production refuses to start without, with a dummy value (none is contacted).
PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "coldstart-dummy-secret-key-0123456789",
    "APP_URL": "https://punctual.example.com",
    "N8N_WEBHOOK_URL": "https://n8n.example.com/webhook/linkedin-post",
    "QSTASH_TOKEN": "coldstart-dummy-qstash-token",
    "QSTASH_CURRENT_SIGNING_KEY": "sig_coldstartCurrentKey012345678",
    "QSTASH_NEXT_SIGNING_KEY": "sig_coldstartNextKey012345678901",
    "CRON_SECRET": "coldstart-dummy-cron-secret",
}

_TIMED = """import time
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
print("IMPORT_SECONDS", t1 - t0)
"""


def environment(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FLASK_"))}
    env.update(PRODUCTION_ENV, DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    return env


def statement(modules: tuple[str, ...]) -> str:
    return "\n".join(f"import {m}" for m in modules)


def timed_import(modules: tuple[str, ...], env: dict, cwd: str) -> float:
    """Seconds to import `modules` in a new interpreter (measured inside it)."""
    done = subprocess.run([sys.executable, "-c", _TIMED.format(imports=statement(modules))], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    for line in done.stdout.splitlines():
        if line.startswith("IMPORT_SECONDS "):
            return float(line.split()[1])
    fail(SCRIPT, f"importing {', '.join(modules)} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


def import_profile(modules: tuple[str, ...], env: dict, cwd: str) -> list[tuple[int, str, int, int]]:
    """`python -X importtime`: (depth, module, self µs, cumulative µs) in the order printed
    (a module's imports come before it)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", statement(modules)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        fail(SCRIPT, f"importing {', '.join(modules)} failed: {done.stderr.strip()[-1500:]}")
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name_field = line[len("import time:"):].split("|", 2)
        depth = (len(name_field) - len(name_field.lstrip(" ")) - 1) // 2
        rows.append((depth, name_field.strip(), int(self_us), int(cumulative_us)))
    return rows


def parents(rows: list[tuple[int, str, int, int]]) -> list[int | None]:
    """Which row imported which: a row's parent is the next row printed one level up (by index:
    a name can appear twice, e.g. a platform module tried and not found)."""
    parent: list[int | None] = [None] * len(rows)
    stack: list[int] = []
    for i in range(len(rows) - 1, -1, -1):
        while stack and rows[stack[-1]][0] >= rows[i][0]:
            stack.pop()
        parent[i] = stack[-1] if stack else None
        stack.append(i)
    return parent


def is_app(module: str) -> bool:
    return module == "webapp" or module.startswith("webapp.")


def breakdown(app_runs: list[list], bare_modules: set[str]) -> dict:
    """What the app imports beyond the bare stack, median over runs (ms).

    A "package" row is a subtree the app pulls in: a module the bare stack does not import, not
    the app's own, and not imported by another such module (so lazily imported submodules of the
    bare stack, e.g. SQLAlchemy's PostgreSQL dialect, count too). Its cost is its cumulative time."""
    cumulative = defaultdict(list)
    self_time = defaultdict(list)
    for rows in app_runs:
        for _, name, self_us, cumulative_us in rows:
            cumulative[name].append(cumulative_us)
            self_time[name].append(self_us)
    med = lambda xs: statistics.median(xs) / 1000  # noqa: E731  (µs -> ms)
    rows = app_runs[0]
    parent = parents(rows)
    extra = [name not in bare_modules for _, name, _, _ in rows]
    third_party = [extra[i] and not is_app(rows[i][1]) for i in range(len(rows))]
    packages: dict[str, dict] = {}
    for i, (_, name, _, _cumulative_us) in enumerate(rows):
        if not third_party[i]:
            continue
        root = i
        while parent[root] is not None and third_party[parent[root]]:
            root = parent[root]
        top = rows[root][1].split(".")[0]
        entry = packages.setdefault(top, {"package": top, "ms": 0.0, "modules": 0, "via": set()})
        entry["modules"] += 1
        if root == i:
            entry["ms"] += med(cumulative[name])
            entry["via"].add(rows[parent[i]][1] if parent[i] is not None else "-")
    own_modules = {name: round(med(self_time[name]), 1) for i, (_, name, _, _) in enumerate(rows)
                   if extra[i] and is_app(name)}
    own = sum(own_modules.values())
    ranked = sorted(packages.values(), key=lambda e: -e["ms"])
    for entry in ranked:
        entry["ms"] = round(entry["ms"], 1)
        entry["via"] = sorted(entry["via"])
    return {"app_total_ms": round(med(cumulative["webapp.wsgi"]), 1), "app_own_code_ms": round(own, 1),
            "create_app_self_ms": round(med(self_time["webapp.wsgi"]), 1), "packages": ranked,
            "own_modules": sorted(own_modules.items(), key=lambda kv: -kv[1]),
            "extra_modules": sum(extra)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--profile-runs", type=int, default=5)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--database-url", default="postgresql://punctual@127.0.0.1:5432/punctual",
                    help="never connected to by a PostgreSQL URL; a SQLite URL makes create_app migrate it")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    a = ap.parse_args()
    need_modules(SCRIPT, *BARE_PLUS, "flask_migrate", "qstash", "cryptography")

    with tempfile.TemporaryDirectory(prefix="coldstart-") as cwd:
        env = environment(a.database_url)
        app = ("webapp.wsgi",)
        kinds = {"app": app, "bare": BARE, "bare+": BARE_PLUS}
        for modules in kinds.values():  # warm the bytecode caches; discarded
            timed_import(modules, env, cwd)
        times: dict[str, list[float]] = {k: [] for k in kinds}
        order = list(kinds)
        for r in range(a.rounds):
            for kind in order[r % 3:] + order[:r % 3]:
                times[kind].append(timed_import(kinds[kind], env, cwd))
        ratios = [x / y for x, y in zip(times["app"], times["bare"], strict=True)]
        ratios_plus = [x / y for x, y in zip(times["app"], times["bare+"], strict=True)]
        bare_rows = import_profile(BARE, env, cwd)
        app_runs = [import_profile(app, env, cwd) for _ in range(max(1, a.profile_runs))]

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio, ratio_plus = statistics.median(ratios), statistics.median(ratios_plus)
    parts = breakdown(app_runs, {name for _, name, _, _ in bare_rows})
    load = os.getloadavg()
    print(f"cold start, {a.rounds} paired rounds in fresh interpreters (Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}):")
    print(f"  import webapp.wsgi (production config)        median {med['app'] * 1000:7.1f} ms  "
          f"(min {min(times['app']) * 1000:.1f})")
    print(f"  import {', '.join(BARE):<38} median {med['bare'] * 1000:7.1f} ms  (min {min(times['bare']) * 1000:.1f})")
    print(f"  ... + flask_sqlalchemy, flask_login            median {med['bare+'] * 1000:7.1f} ms  "
          f"(min {min(times['bare+']) * 1000:.1f})")
    print(f"  ratio app / bare stack: {ratio:.2f}x (median of paired ratios; target <= {TARGET}x: "
          f"{'met' if ratio <= TARGET else 'missed'});  app / bare+: {ratio_plus:.2f}x")
    print(f"\nwhat the app imports beyond the bare stack (python -X importtime, median of {len(app_runs)} runs; "
          f"importtime's own overhead inflates every figure a little):")
    print(f"  webapp.wsgi cumulative {parts['app_total_ms']} ms; {parts['extra_modules']} modules the bare stack "
          f"does not import")
    print(f"  the app's own modules: {parts['app_own_code_ms']} ms of their own time, of which "
          f"{parts['create_app_self_ms']} ms is webapp.wsgi itself (create_app's work, not counting its imports)")
    print("  the app's slowest modules (own time, ms): " + ", ".join(
        f"{name} {ms:.1f}" for name, ms in parts["own_modules"][:6]))
    print(f"  {'package':<24} {'ms':>8} {'modules':>8}  imported by")
    for entry in parts["packages"][:a.top]:
        via = ", ".join(entry["via"][:3]) + (" …" if len(entry["via"]) > 3 else "")
        print(f"  {entry['package']:<24} {entry['ms']:>8.1f} {entry['modules']:>8}  {via}")
    rest = parts["packages"][a.top:]
    if rest:
        print(f"  {len(rest)} more packages: {sum(e['ms'] for e in rest):.1f} ms in all")
    if a.json:
        print(json.dumps({"rounds": a.rounds, "app_ms": round(med["app"] * 1000, 1),
                          "bare_ms": round(med["bare"] * 1000, 1), "bare_plus_ms": round(med["bare+"] * 1000, 1),
                          "ratio": round(ratio, 3), "ratio_plus": round(ratio_plus, 3), "load": load,
                          "breakdown": parts}))


if __name__ == "__main__":
    main()
