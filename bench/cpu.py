#!/usr/bin/env python3
"""CPU per dispatched post: what the dispatcher itself spends to claim, fence, send and record one
post, measured as process CPU time (user + system, every thread), so a busy machine changes it far
less than it changes wall-clock figures.

N posts (default 2,000) are due at once on a fresh SQLite (or Postgres) database; the webhook is
the project's receiver in its own process answering at once (--delay-ms 0), so its CPU is not
counted. The dispatcher sweeps with its default DISPATCH_CONCURRENCY until every post is
published. Prints CPU ms per post for each round and the median; --profile prints where the time
goes (yappi on the CPU clock, every thread).

Usage:
  .venv/bin/python bench/cpu.py [--posts 2000] [--rounds 5] [--concurrency 16] [--profile]
                                [--database-url postgresql://...]
Needs the bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preflight import fail, need_modules, need_postgres  # noqa: E402

SCRIPT = "bench/cpu.py"


def build_app(workdir: Path, database_url: str | None, webhook: str, concurrency: int | None, round_: int):
    from webapp import create_app

    url = database_url or f"sqlite:///{workdir / f'cpu-{round_}.db'}"
    config = {"INSTANCE_PATH": str(workdir / "instance"), "SECRET_KEY": "bench-secret-key",
              "SQLALCHEMY_DATABASE_URI": url, "AUTO_MIGRATE": False, "LOCAL_DISPATCHER": "off",
              "APP_URL": "http://localhost", "N8N_WEBHOOK_URL": webhook}
    if concurrency:
        config["DISPATCH_CONCURRENCY"] = concurrency
    return create_app(config)


def prepare(app, posts: int) -> None:
    """Empty tables, one user with LinkedIn connected, and `posts` posts due a second ago."""
    from webapp import upgrade_database
    from webapp.accounts.users import create_user
    from webapp.extensions import db
    from webapp.models import LinkedInConnection, utcnow

    with app.app_context():
        upgrade_database(app)
        with db.engine.begin() as conn:
            for table in ("attempts", "inbox_messages", "dispatcher_heartbeats", "posts", "api_tokens",
                          "linkedin_connections", "users"):
                conn.execute(db.text(f"DELETE FROM {table}"))
        user_id = create_user(email="bench@example.com", password="bench password", time_zone="UTC").id
        connection = LinkedInConnection(user_id=user_id, person_urn="urn:li:person:bench")
        connection.access_token = "bench-linkedin-token"
        db.session.add(connection)
        db.session.commit()
        store = app.extensions["punctual"].store
        now = utcnow()
        for i in range(posts):
            post_id = store.create(user_id=user_id, content=f"post {i}", image_url=None,
                                   now=now - timedelta(seconds=10))
            store.schedule(post_id=post_id, user_id=user_id, at=now - timedelta(seconds=1),
                           now=now - timedelta(seconds=10))


def dispatch_all(app, posts: int) -> tuple[float, float, int]:
    """Sweeps until nothing is due; returns (CPU seconds, wall seconds, posts sent)."""
    dispatcher = app.extensions["punctual"].dispatcher
    sent = 0
    with app.app_context():
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while sent < posts:
            report = dispatcher.sweep(trigger="bench")
            if not report.outcomes:
                break
            sent += sum(1 for outcome in report.outcomes if outcome.result == "published")
        return time.process_time() - cpu0, time.perf_counter() - wall0, sent


def print_profile(posts: int) -> None:
    """The last round's CPU by function over every thread (yappi, CPU clock): own time and time
    including callees, in microseconds per post."""
    import yappi

    stats = yappi.get_func_stats()
    rows = sorted(stats, key=lambda s: s.tsub, reverse=True)[:25]
    print("\nown CPU per post (us), top 25 of the last round (profiling slows it down):")
    for s in rows:
        print(f"{1e6 * s.tsub / posts:9.1f}  {1e6 * s.ttot / posts:9.1f}  {s.name}  {Path(s.module).name}:{s.lineno}")
    print("\nincluding callees (us per post), the dispatcher's own steps:")
    wanted = ("_try", "send", "_record", "_persist", "fence", "finish", "claim_due", "_payload", "_token",
              "_credentials", "info", "run", "_exchange", "_read_answer", "dumps")
    for s in sorted(stats, key=lambda s: s.ttot, reverse=True):
        if s.name in wanted or s.name.split(".")[-1] in wanted:
            print(f"{1e6 * s.ttot / posts:9.1f}  {s.name}  {Path(s.module).name}:{s.lineno}")
    yappi.clear_stats()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=None, help="default: the app's DISPATCH_CONCURRENCY")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--profile", action="store_true", help="print a yappi CPU profile of the last round")
    args = ap.parse_args()
    need_modules(SCRIPT, "flask", "sqlalchemy", *(["yappi"] if args.profile else []))
    if args.database_url:
        need_postgres(SCRIPT, args.database_url)

    from tests.receiver import start_process, stop_process
    figures: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="punctual-cpu-") as tmp:
        workdir = Path(tmp)
        try:
            receiver, url = start_process(workdir / "arrivals.jsonl", delay_ms=args.delay_ms)
        except RuntimeError as exc:
            fail(SCRIPT, str(exc))
        try:
            for round_ in range(1, args.rounds + 1):
                app = build_app(workdir, args.database_url, url, args.concurrency, round_)
                concurrency = app.config["DISPATCH_CONCURRENCY"]
                prepare(app, args.posts)
                profiling = args.profile and round_ == args.rounds
                if profiling:
                    import yappi
                    yappi.set_clock_type("cpu")
                    yappi.start(builtins=True)
                cpu, wall, sent = dispatch_all(app, args.posts)
                if profiling:
                    yappi.stop()
                if sent != args.posts:
                    fail(SCRIPT, f"round {round_}: {sent} of {args.posts} posts were published; see the receiver")
                figure = {"round": round_, "posts": sent, "concurrency": concurrency,
                          "cpu_ms_per_post": round(1000 * cpu / sent, 3), "wall_s": round(wall, 3),
                          "posts_per_s": round(sent / wall, 1)}
                figures.append(figure)
                print(json.dumps(figure), flush=True)
        finally:
            stop_process(receiver)
    per_post = [f["cpu_ms_per_post"] for f in figures]
    print(f"CPU per dispatched post: median {statistics.median(per_post):.3f} ms "
          f"(min {min(per_post):.3f}, max {max(per_post):.3f}) over {len(per_post)} rounds of "
          f"{args.posts} posts, C = {figures[-1]['concurrency']}, webhook delay {args.delay_ms:g} ms")
    if args.profile:
        print_profile(args.posts)


if __name__ == "__main__":
    main()
