#!/usr/bin/env python3
"""The dashboard with many posts: server time per full page, per htmx list refresh, and per
status poll — measured inside the app (the WSGI call, no network), median of --repeat.

A user gets --posts posts (default 1,000) in the mix a busy account has: 40 % published, 20 %
scheduled over the next weeks (some due within two minutes, so their badges poll), 5 % failed,
5 % publishing, 30 % drafts; each published and failed one with an attempt row.

Usage: .venv/bin/python bench/dashboard.py [--posts 1000] [--repeat 30] [--database-url postgresql://...]
       [--profile]   (pyinstrument the full page once)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()

    import sqlalchemy as sa

    from webapp import create_app, upgrade_database
    from webapp.config import normalise_database_url
    from webapp.extensions import db
    from webapp.models import Attempt, LinkedInConnection, Post, User, utcnow

    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    url = f"sqlite:///{tmp / 'dash.db'}"
    admin = None
    if a.database_url:
        admin = sa.create_engine(normalise_database_url(a.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_dashboard CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA bench_dashboard"))
        base = normalise_database_url(a.database_url)
        url = f"{base}{'&' if '?' in base else '?'}options={quote('-csearch_path=bench_dashboard')}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "N8N_WEBHOOK_URL": "http://127.0.0.1:9/",
                      "LOCAL_DISPATCHER": "off", "INSTANCE_PATH": str(tmp), "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    rng = random.Random(1)
    with app.app_context():
        upgrade_database(app)
        now = utcnow()
        user = User(email="bench@example.com", password_hash="!", time_zone="Europe/Berlin")
        db.session.add(user)
        db.session.flush()
        connection = LinkedInConnection(user_id=user.id, person_urn="urn:li:person:bench",
                                        expires_at=now + timedelta(days=40))
        connection.access_token = "bench-token-0123456789"
        db.session.add(connection)
        polling_id = None
        for i in range(a.posts):
            r = rng.random()
            status = ("published" if r < .40 else "scheduled" if r < .60 else "failed" if r < .65
                      else "publishing" if r < .70 else "draft")
            at = {"published": now - timedelta(minutes=rng.randint(1, 60 * 24 * 90)),
                  "scheduled": now + timedelta(seconds=rng.choice([60, 90] + [rng.randint(300, 86400 * 30)] * 8)),
                  "failed": now - timedelta(minutes=rng.randint(1, 60 * 24 * 30)),
                  "publishing": now - timedelta(seconds=1), "draft": None}[status]
            text = f"Post {i}: " + "lorem ipsum " * rng.randint(5, 60)
            post = Post(id=str(uuid.uuid4()), user_id=user.id, content=text,
                        status=status, scheduled_at=at, schedule_version=1 if at else 0,
                        attempt_count=1 if status in ("published", "failed", "publishing") else 0,
                        claimed_at=at if status == "publishing" else None,
                        published_at=at if status == "published" else None,
                        linkedin_post_urn=f"urn:li:share:{i}" if status == "published" else None,
                        error_kind="rejected" if status == "failed" else None,
                        error_message="n8n rejected the post (HTTP 400: bad)." if status == "failed" else None,
                        created_at=now - timedelta(days=100), updated_at=now - timedelta(minutes=i))
            db.session.add(post)
            if status in ("published", "failed"):
                db.session.add(Attempt(post_id=post.id, schedule_version=1, trigger="local", started_at=at,
                                       finished_at=at, outcome="published" if status == "published" else "failed",
                                       http_status=200 if status == "published" else 400, duration_ms=40))
            if status == "publishing" and polling_id is None:
                polling_id = post.id
        db.session.commit()
        user_id = user.id

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True

    def timed(path: str, headers: dict | None = None) -> tuple[float, float, int]:
        samples = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            response = client.get(path, headers=headers or {})
            samples.append((time.perf_counter() - t) * 1000)
            assert response.status_code in (200, 286), (path, response.status_code)
        return statistics.median(samples), max(samples), len(response.data)

    client.get("/")  # warm caches (templates, compiled SQL)
    rows = [
        ("full page  GET /", "/", None),
        ("htmx list  GET / (HX-Request)", "/", {"HX-Request": "true"}),
        ("status poll GET /posts/<id>/status", f"/posts/{polling_id}/status", {"HX-Request": "true"}),
        ("post page  GET /posts/<id>", f"/posts/{polling_id}", None),
    ]
    print(f"dashboard with {a.posts:,} posts ({'postgres' if a.database_url else 'sqlite'}), "
          f"median of {a.repeat} requests, in-process:")
    for name, path, headers in rows:
        median, worst, size = timed(path, headers)
        print(f"  {name:40} median {median:7.2f} ms   max {worst:7.2f} ms   {size / 1024:7.1f} KiB")
    if a.profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
        for _ in range(5):
            client.get("/")
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False)[:6000])
    with app.app_context():
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA bench_dashboard CASCADE"))


if __name__ == "__main__":
    main()
