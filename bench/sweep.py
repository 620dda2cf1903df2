#!/usr/bin/env python3
"""The sweep over a big table when nothing is due: time per sweep, and the query plans.

Fills a fresh Postgres schema with --rows posts (default 1,000,000: 97 % published, 2 % drafts,
1 % scheduled in the coming weeks), ANALYZEs it, then times --repeat whole sweeps
(Dispatcher.sweep: fail too-late posts, reclaim stuck claims, claim due posts, each a guarded
UPDATE) and the local dispatcher's per-wake-up query (next_due_at), and prints EXPLAIN (ANALYZE)
of each statement so you can see the (status, scheduled_at) index at work.

Usage: .venv/bin/python bench/sweep.py --database-url postgresql://postgres@127.0.0.1:5432/test [--rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = "bench_sweep"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the filled schema for another run")
    a = ap.parse_args()

    import sqlalchemy as sa

    from webapp import create_app, upgrade_database
    from webapp.config import normalise_database_url
    from webapp.extensions import db
    from webapp.models import utcnow

    base = normalise_database_url(a.database_url)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": SCHEMA}).first()
        if exists and not a.keep:
            conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
            exists = None
        if not exists:
            conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={SCHEMA}')}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "N8N_WEBHOOK_URL": "http://127.0.0.1:9/",
                      "LOCAL_DISPATCHER": "off", "TESTING": True})
    with app.app_context():
        upgrade_database(app)
        engine = db.engine
        with engine.begin() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM posts")).scalar()
        if count < a.rows:
            t = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO users (email, password_hash, time_zone, created_at) "
                                     "VALUES ('bench@example.com', 'x', 'UTC', now()) ON CONFLICT DO NOTHING"))
                conn.execute(sa.text("""
                    INSERT INTO posts (id, user_id, content, status, scheduled_at, schedule_version,
                                       attempt_count, published_at, created_at, updated_at)
                    SELECT gen_random_uuid()::text, (SELECT min(id) FROM users), 'post ' || g,
                           CASE WHEN g % 100 < 97 THEN 'published' WHEN g % 100 < 99 THEN 'draft' ELSE 'scheduled' END,
                           CASE WHEN g % 100 < 97 THEN now() - (g || ' seconds')::interval
                                WHEN g % 100 < 99 THEN NULL
                                ELSE now() + interval '1 hour' + (g || ' seconds')::interval END,
                           1, 1,
                           CASE WHEN g % 100 < 97 THEN now() - (g || ' seconds')::interval END,
                           now() - interval '30 days', now() - interval '30 days'
                    FROM generate_series(1, :n) AS g"""), {"n": a.rows - count})
                conn.execute(sa.text("ANALYZE posts"))
            print(f"filled {a.rows:,} posts in {time.perf_counter() - t:.1f} s")
        with engine.begin() as conn:
            by_status = dict(conn.execute(sa.text("SELECT status, count(*) FROM posts GROUP BY status")).all())
        print("posts by status:", by_status)

        core = app.extensions["punctual"]
        dispatcher, store = core.dispatcher, core.store

        def timed(fn, repeat):
            samples = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - t) * 1000)
            return statistics.median(samples), max(samples)

        sweep_median, sweep_max = timed(lambda: dispatcher.sweep(), a.repeat)
        report = dispatcher.sweep()
        assert report.total == 0, f"something was due: {report.as_json()}"
        next_median, next_max = timed(lambda: store.next_due_at(not_before=utcnow() - timedelta(hours=12)), a.repeat)
        print(f"\nwhole sweep, nothing due:   median {sweep_median:.2f} ms, max {sweep_max:.2f} ms ({a.repeat} runs)")
        print(f"next_due_at (every wake-up): median {next_median:.2f} ms, max {next_max:.2f} ms")

        # the plans of the statements the sweep runs, compiled exactly as the store issues them
        from sqlalchemy import update

        from webapp.dispatch.store import _due
        from webapp.models import posts

        now = utcnow()
        cutoff = now - timedelta(hours=12)
        due = sa.and_(_due(now), posts.c.scheduled_at >= cutoff)
        statements = {
            "claim_due": update(posts).where(store._batch(due, posts.c.scheduled_at, 200), due)
                                       .values(status="publishing").returning(posts.c.id),
            "miss_overdue": update(posts).where(
                store._batch(sa.and_(posts.c.status == "scheduled", posts.c.scheduled_at < cutoff),
                             posts.c.scheduled_at, 500),
                posts.c.status == "scheduled").values(status="failed").returning(posts.c.id),
            "reclaim_stale": update(posts).where(
                store._batch(sa.and_(posts.c.status == "publishing", posts.c.claimed_at < now - timedelta(seconds=90)),
                             posts.c.claimed_at, 200),
                posts.c.status == "publishing").values(attempt_count=posts.c.attempt_count + 1).returning(posts.c.id),
            "next_due_at (never tried)": sa.select(posts.c.scheduled_at).where(
                posts.c.status == "scheduled", posts.c.next_attempt_at.is_(None), posts.c.scheduled_at >= cutoff)
                .order_by(posts.c.scheduled_at).limit(1),
            "next_due_at (in backoff)": sa.select(posts.c.next_attempt_at).where(
                posts.c.status == "scheduled", posts.c.next_attempt_at.is_not(None), posts.c.scheduled_at >= cutoff)
                .order_by(posts.c.next_attempt_at).limit(1),
        }
        for name, stmt in statements.items():
            compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            with engine.connect() as conn:
                trans = conn.begin()
                plan = conn.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled}")).scalars().all()
                trans.rollback()  # EXPLAIN ANALYZE runs the UPDATE: undo it
            print(f"\nEXPLAIN ANALYZE {name}:")
            for line in plan:
                print("   ", line)
        db.engine.dispose()
    if not a.keep:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    admin.dispose()


if __name__ == "__main__":
    main()
