#!/usr/bin/env python3
"""Lateness: Punctual's local dispatcher vs the APScheduler peer, side by side in one run.

For each scenario and round, both run against their own instance of the project's webhook
receiver (`python -m tests.receiver`, its own process, which records each arrival's time and
answers after --delay-ms, listening with Node.js's backlog of 511 like a real n8n):

  burst   N posts due in the same instant (default 1,000, 30 ms webhook)
  spread  N posts spread evenly over a window (default 600 over 30 s)

Punctual runs as `flask --app webapp worker` (its own process, like the peer) on a fresh database;
the peer is bench/peer.py (APScheduler 3, in-memory job store, its default 10-thread pool).
Lateness and the counts come from bench/analyse.py. Prints JSON lines per run and a summary
table: p50/p99/max lateness, missing, duplicates, early, the burst's completion time vs the
physical limit N·L/C, and the ratio. Writes PNG plots to --plot-dir: the lateness CDF of both for
each scenario (lateness-<scenario>-cdf.png) and the burst timeline (burst-timeline.png).

Usage:
  .venv/bin/python bench/lateness.py [--rounds 3] [--scenario burst spread] [--concurrency 32]
                                     [--database-url postgresql://...] [--plot-dir bench-results]
Needs the bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analyse import analyse, first_arrivals, read_arrivals  # noqa: E402
from bench.preflight import fail, need_modules, need_postgres, need_writable_dir  # noqa: E402

SCRIPT = "bench/lateness.py"
PEER_THREADS = 10  # APScheduler's default thread pool, which bench/peer.py keeps
SECRET = "bench-secret-key"


def start_receiver(out: Path, delay_ms: float, backlog: int) -> tuple[subprocess.Popen, str]:
    from tests.receiver import start_process

    try:
        return start_process(out, delay_ms=delay_ms, backlog=backlog)
    except RuntimeError as exc:
        fail(SCRIPT, str(exc))


def stop_receiver(proc: subprocess.Popen) -> None:
    from tests.receiver import stop_process

    stop_process(proc)


def analyse_run(plan: dict, arrivals_path: Path) -> dict:
    """The analyser's figures, plus what the plots need: each post's lateness and arrival offset."""
    arrivals = read_arrivals(arrivals_path)
    result = analyse(plan, arrivals)
    first, _ = first_arrivals(plan, arrivals)
    due = min(plan.values())
    result["_lateness"] = sorted(first[p] - plan[p] for p in first)
    result["_offsets"] = sorted(t - due for t in first.values())
    return result


def attempt_timings(app) -> dict:
    """Where a send's time goes, from the Attempt rows: the webhook call (duration) and the wait
    before it started (started_at - scheduled_at), p50/p99 in ms."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Attempt, Post

    with app.app_context():
        rows = db.session.execute(select(Attempt.duration_ms, Attempt.started_at, Post.scheduled_at)
                                  .join(Post, Post.id == Attempt.post_id)).all()
    if not rows:
        return {}
    calls = sorted(r.duration_ms for r in rows)
    waits = sorted((r.started_at - r.scheduled_at).total_seconds() * 1000 for r in rows)
    pick = lambda xs, q: round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)  # noqa: E731
    return {"call_p50_ms": pick(calls, 0.5), "call_p99_ms": pick(calls, 0.99),
            "start_p50_ms": pick(waits, 0.5), "start_p99_ms": pick(waits, 0.99)}


def explain_missing(app, plan: dict, arrivals_path: Path) -> list[dict]:
    """What the database says about posts the receiver never saw: status, error, attempts."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Attempt, Post

    seen = {a.get("postId") for a in read_arrivals(arrivals_path)}
    missing = [post_id for post_id in plan if post_id not in seen]
    with app.app_context():
        posts = db.session.execute(select(Post).where(Post.id.in_(missing))).scalars().all()
        return [{"status": p.status, "error": p.error_message, "attempts": [
            (a.trigger, a.outcome, a.http_status, a.error) for a in db.session.execute(
                select(Attempt).where(Attempt.post_id == p.id).order_by(Attempt.id)).scalars()]}
            for p in posts]


def wait_for_lines(path: Path, count: int, deadline: float) -> None:
    while time.time() < deadline:
        if path.exists() and sum(1 for _ in path.open()) >= count:
            return
        time.sleep(0.1)


def reset_database(url: str | None, workdir: Path) -> str:
    if url is None:
        return f"sqlite:///{workdir / 'bench.db'}"
    import sqlalchemy as sa

    from webapp.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_lateness CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA bench_lateness"))
    engine.dispose()
    from urllib.parse import quote
    sep = "&" if "?" in url else "?"
    return f"{normalise_database_url(url)}{sep}options={quote('-csearch_path=bench_lateness')}"


def run_punctual(args, workdir: Path, n: int, spread: float, root: Path | None = None) -> dict:
    """One run of Punctual's dispatcher; with `root`, the worker runs the code of that checkout
    (--compare: another commit measured side by side with this one)."""
    from webapp import create_app, upgrade_database
    from webapp.accounts.users import create_user
    from webapp.extensions import db
    from webapp.models import LinkedInConnection, utcnow

    arrivals = workdir / "punctual-arrivals.jsonl"
    receiver, url = start_receiver(arrivals, args.delay_ms, args.receiver_backlog)
    database_url = reset_database(args.database_url, workdir)
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET, "N8N_WEBHOOK_URL": url,
              "LOCAL_DISPATCHER": "off", "INSTANCE_PATH": str(workdir / "instance"), "TESTING": True}
    app = create_app(config)
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "N8N_WEBHOOK_URL": url,
           "DISPATCH_CONCURRENCY": str(max(1, args.concurrency // args.workers)), "SCHEDULER_BACKEND": "local"}
    if root is not None:
        env["PYTHONPATH"] = str(root)
    workers = []
    try:
        with app.app_context():
            upgrade_database(app)
            store = app.extensions["punctual"].store
            user = create_user("bench@example.com", "bench-password")
            connection = LinkedInConnection(user_id=user.id, person_urn="urn:li:person:bench")
            connection.access_token = "bench-token-0123456789"
            db.session.add(connection)
            db.session.commit()
            ids = [store.create(user_id=user.id, content=f"post {i}", image_url=None, now=utcnow()) for i in range(n)]
        workers = []
        for i in range(args.workers):  # a file, not a pipe: an undrained pipe would block the worker
            log_path = workdir / f"worker-{i}.log"
            workers.append((subprocess.Popen([sys.executable, "-m", "flask", "--app", "webapp", "worker"], env=env,
                                             cwd=workdir, stdout=subprocess.DEVNULL, stderr=log_path.open("w")),
                            log_path))
        for worker, log_path in workers:
            while "running" not in log_path.read_text():  # wait until each worker runs
                if worker.poll() is not None:
                    fail(SCRIPT, f"the dispatcher (flask --app webapp worker) exited: {log_path.read_text()[-1500:]}")
                time.sleep(0.05)
        t0 = time.time() + args.lead
        plan = {}
        with app.app_context():
            for i, post_id in enumerate(ids):
                at = t0 + (spread * i / max(1, n - 1) if spread else 0)
                store.schedule(post_id=post_id, user_id=user.id, at=datetime.fromtimestamp(at, timezone.utc),
                               now=utcnow())
                plan[post_id] = at
        if time.time() > t0:
            fail(SCRIPT, "scheduling took longer than --lead; raise --lead.")
        wait_for_lines(arrivals, n, deadline=max(plan.values()) + 60)
        time.sleep(1.0)  # let duplicates, if any, arrive
        result = analyse_run(plan, arrivals)
        result.update(attempt_timings(app))
        if result.get("missing"):
            result["missing_posts"] = explain_missing(app, plan, arrivals)
        return result
    finally:
        for worker, _ in workers:
            worker.send_signal(signal.SIGTERM)
        for worker, _ in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        stop_receiver(receiver)
        with app.app_context():
            db.engine.dispose()


def run_peer(args, workdir: Path, n: int, spread: float) -> dict:
    arrivals = workdir / "peer-arrivals.jsonl"
    plan_path = workdir / "peer-plan.json"
    receiver, url = start_receiver(arrivals, args.delay_ms, args.receiver_backlog)
    try:
        peer = subprocess.run([sys.executable, str(ROOT / "bench" / "peer.py"), "--url", url, "--n", str(n),
                               "--lead", str(args.lead), "--spread", str(spread), "--plan", str(plan_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if peer.returncode != 0:
            fail(SCRIPT, f"the APScheduler peer (bench/peer.py) failed: {peer.stderr.strip()[-1500:]}")
        time.sleep(1.0)
        return analyse_run(json.loads(plan_path.read_text()), arrivals)
    finally:
        stop_receiver(receiver)


def summarise(name: str, runs: list[dict]) -> dict:
    def med(key):
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    return {"who": name, "runs": len(runs), "p50_ms": ms(med("p50_s")), "p99_ms": ms(med("p99_s")),
            "max_ms": ms(med("max_s")), "span_ms": ms(med("span_s")),
            "missing": sum(r["missing"] for r in runs), "duplicates": sum(r["duplicates"] for r in runs),
            "early": sum(r["early"] for r in runs)}


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenario", nargs="+", default=["burst", "spread"], choices=["burst", "spread"])
    ap.add_argument("--burst-n", type=int, default=1000)
    ap.add_argument("--spread-n", type=int, default=600)
    ap.add_argument("--spread-s", type=float, default=30.0)
    ap.add_argument("--delay-ms", type=float, default=30.0)
    ap.add_argument("--lead", type=float, default=6.0)
    ap.add_argument("--concurrency", type=int, default=32,
                    help="in all: split evenly between --workers (default: the app's default, 32)")
    ap.add_argument("--workers", type=int, default=1, help="`flask worker` processes (dispatchers) to run")
    ap.add_argument("--database-url", default=None, help="Postgres URL; default a fresh SQLite file")
    ap.add_argument("--only", choices=["punctual", "peer"], default=None)
    ap.add_argument("--receiver-backlog", type=int, default=511,
                    help="the receiver's listen backlog (default 511, Node.js's and so n8n's; socketserver's "
                         "stock 5 overflows with more than ~5 new connections at once: 1 s SYN retries)")
    ap.add_argument("--plot-dir", default="bench-results", help="where to write the PNG plots")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=DIR",
                    help="also run the dispatcher of another checkout (e.g. `git worktree add /tmp/before "
                         "<commit>`), in the same rounds, for a side-by-side before/after")
    args = ap.parse_args()
    compare = {}
    for item in args.compare:
        name, sep, folder = item.partition("=")
        if not sep or not (Path(folder) / "webapp" / "__init__.py").is_file():
            fail(SCRIPT, f"--compare {item!r}: expected NAME=DIR, DIR a checkout of this project")
        compare[name] = Path(folder).resolve()
    need_modules(SCRIPT, "flask", "sqlalchemy", "requests", "apscheduler", "matplotlib")
    if args.database_url:
        need_postgres(SCRIPT, args.database_url)
    plot_dir = need_writable_dir(SCRIPT, args.plot_dir)
    from bench import plots

    for scenario in args.scenario:
        n, spread = (args.burst_n, 0.0) if scenario == "burst" else (args.spread_n, args.spread_s)
        results: dict[str, list] = {"punctual": [], **{name: [] for name in compare}, "peer": []}
        for round_ in range(args.rounds):
            for who in results:
                if args.only and who != args.only:
                    continue
                with tempfile.TemporaryDirectory(prefix=f"lateness-{who}-") as tmp:
                    if who == "peer":
                        result = run_peer(args, Path(tmp), n, spread)
                    else:
                        result = run_punctual(args, Path(tmp), n, spread, compare.get(who))
                result.update(who=who, scenario=scenario, round=round_ + 1)
                results[who].append(result)
                print(json.dumps({k: v for k, v in result.items() if not k.startswith("_")}), flush=True)
        ours, theirs = summarise("punctual", results["punctual"]), summarise("apscheduler", results["peer"])
        print(f"\n{scenario}: n={n}, spread={spread:g} s, webhook {args.delay_ms:g} ms, "
              f"Punctual concurrency {args.concurrency} in {args.workers} worker(s), receiver backlog "
              f"{args.receiver_backlog}, database "
              f"{'postgres' if args.database_url else 'sqlite'}; medians of {args.rounds} rounds")
        print(f"{'':12} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'span ms':>9} "
              f"{'missing':>8} {'dups':>5} {'early':>6}")
        others = [summarise(name, results[name]) for name in compare]
        for row in (ours, *others, theirs):
            if row["runs"]:
                print(f"{row['who']:12} {row['p50_ms']!s:>9} {row['p99_ms']!s:>9} {row['max_ms']!s:>9} "
                      f"{row['span_ms']!s:>9} {row['missing']:>8} {row['duplicates']:>5} {row['early']:>6}")
        if ours["runs"] and theirs["runs"] and theirs["p99_ms"]:
            print(f"p99 ratio punctual/apscheduler = {ours['p99_ms'] / theirs['p99_ms']:.2f}")
        for row in others:
            if row["runs"] and ours["runs"] and row["p99_ms"]:
                print(f"p99 ratio punctual/{row['who']} = {ours['p99_ms'] / row['p99_ms']:.2f}")
        if scenario == "burst" and ours["runs"]:
            limit = n * args.delay_ms / 1000 / args.concurrency
            print(f"burst completion (span) {ours['span_ms'] / 1000:.2f} s vs physical limit "
                  f"N·L/C = {n}·{args.delay_ms / 1000:g}/{args.concurrency} = {limit:.2f} s")
        print(json.dumps({"summary": scenario, "punctual": ours, "apscheduler": theirs,
                          **{row["who"]: row for row in others}}), flush=True)
        label = (f"{n:,} posts due at once" if scenario == "burst" else f"{n:,} posts over {spread:g} s") + \
            f", {args.delay_ms:g} ms webhook, C = {args.concurrency}, {args.rounds} round(s)"
        names = {"punctual": "Punctual", "peer": "APScheduler", **{name: f"Punctual {name}" for name in compare}}
        written = [plots.lateness_cdf(plot_dir / f"lateness-{scenario}-cdf.png", {
            names[who]: [x for r in runs for x in r["_lateness"]] for who, runs in results.items() if runs},
            f"Lateness, {label}")]
        if scenario == "burst":
            written.append(plots.burst_timeline(
                plot_dir / "burst-timeline.png",
                {names[who]: [r["_offsets"] for r in runs] for who, runs in results.items() if runs},
                n, args.delay_ms / 1000,
                {name: c for name, c, who in (("Punctual", args.concurrency, "punctual"),
                                              ("APScheduler", PEER_THREADS, "peer")) if results[who]},
                f"Burst timeline, {label}"))
        print("plots: " + ", ".join(str(p) for p in written), flush=True)


if __name__ == "__main__":
    main()
