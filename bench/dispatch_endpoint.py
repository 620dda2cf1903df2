#!/usr/bin/env python3
"""The signed dispatch endpoint under gunicorn: deliveries per second and CPU per delivery.

Serves the app with gunicorn (--workers, gthread with --threads) on the QStash backend, against a
stubbed n8n (the project's receiver, `python -m tests.receiver`, answering at once), on Postgres by
default (production's
database). Creates --posts posts all due now, signs one QStash delivery per post exactly as QStash
does (HS256 JWT over the body and the URL, current signing key), then fires them with
--clients concurrent keep-alive connections, like QStash delivering a burst. Every delivery goes
the whole way: verify the signature, claim, call n8n, record.

Prints: deliveries/s (wall), CPU seconds of the gunicorn processes per delivery, answers by
status, and checks every post ended published once.

Usage: .venv/bin/python bench/dispatch_endpoint.py [--posts 2000] [--workers 2] [--threads 8]
       [--clients 16] [--database-url postgresql://postgres@127.0.0.1:5432/test | --sqlite]
Needs the bench extra: pip install -e '.[bench]'. PYSPY_OUT=file.txt records a py-spy profile
(py-spy is not in the extra: pip install py-spy).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preflight import fail, need_modules, need_postgres, need_program  # noqa: E402

SCRIPT = "bench/dispatch_endpoint.py"
need_modules(SCRIPT, "flask", "sqlalchemy", "psutil", "gunicorn", "jwt")

import psutil  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc] + proc.children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--sqlite", action="store_true")
    a = ap.parse_args()
    if not a.sqlite:
        need_postgres(SCRIPT, a.database_url)
    pyspy = need_program(SCRIPT, "py-spy") if os.environ.get("PYSPY_OUT") else None

    import sqlalchemy as sa

    from tests.qstash_standin import CURRENT_KEY, NEXT_KEY, sign
    from webapp import create_app, upgrade_database
    from webapp.config import normalise_database_url
    from webapp.extensions import db
    from webapp.models import LinkedInConnection, Post, User, utcnow

    tmp = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    if a.sqlite:
        url = f"sqlite:///{tmp / 'dispatch.db'}"
    else:
        base = normalise_database_url(a.database_url)
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_dispatch CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA bench_dispatch"))
        url = f"{base}{'&' if '?' in base else '?'}options={quote('-csearch_path=bench_dispatch')}"

    from tests.receiver import start_process, stop_process

    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    try:
        receiver, webhook = start_process(tmp / "arrivals.jsonl")
    except RuntimeError as exc:
        fail(SCRIPT, str(exc))
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret", "APP_URL": app_url,
           "N8N_WEBHOOK_URL": webhook, "SCHEDULER_BACKEND": "qstash",
           "QSTASH_TOKEN": "bench-token", "QSTASH_URL": "http://127.0.0.1:9", "QSTASH_CURRENT_SIGNING_KEY": CURRENT_KEY,
           "QSTASH_NEXT_SIGNING_KEY": NEXT_KEY, "CRON_SECRET": "bench-cron", "LOCAL_DISPATCHER": "off"}

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret", "LOCAL_DISPATCHER": "off",
                      "INSTANCE_PATH": str(tmp), "TESTING": True})
    with app.app_context():
        upgrade_database(app)
        now = utcnow()
        user = User(email="bench@example.com", password_hash="!", time_zone="UTC")
        db.session.add(user)
        db.session.flush()
        connection = LinkedInConnection(user_id=user.id, person_urn="urn:li:person:bench")
        connection.access_token = "bench-token-0123456789"
        db.session.add(connection)
        db.session.commit()
        import uuid
        posts = [Post(id=str(uuid.uuid4()), user_id=user.id, content=f"post {i}", status="scheduled",
                      scheduled_at=now, schedule_version=1, attempt_count=0, created_at=now, updated_at=now)
                 for i in range(a.posts)]
        db.session.add_all(posts)
        db.session.commit()
        deliveries = []
        dispatch_url = app_url + "/api/posts/dispatch"
        for post in posts:
            body = json.dumps({"postId": post.id, "userId": user.id, "version": 1}).encode()
            deliveries.append((body, sign(body, dispatch_url)))
        db.engine.dispose()

    profile = ([pyspy, "record", "-o", os.environ["PYSPY_OUT"], "-f", "raw", "--subprocesses", "-r", "250", "--"]
               if pyspy else [])
    server = subprocess.Popen(profile + [sys.executable, "-m", "gunicorn", "-w", str(a.workers), "-k", "gthread",
                                         "--threads", str(a.threads), "-b", f"127.0.0.1:{port}", "--log-level",
                                         "warning", "webapp.wsgi:app"],
                              env=env, cwd=tmp, stdout=(tmp / "gunicorn.log").open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
            if server.poll() is not None:
                break
        else:
            server.kill()
        if server.poll() is not None:
            fail(SCRIPT, f"gunicorn did not come up: {(tmp / 'gunicorn.log').read_text().strip()[-1500:]}")
        master = psutil.Process(server.pid)
        # warm each worker (imports, first connections) with a few unsigned calls (401s)
        for _ in range(20):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("POST", "/api/posts/dispatch", body=b"{}", headers={"Content-Type": "application/json"})
            c.getresponse().read()
        work: queue.Queue = queue.Queue()
        for item in deliveries:
            work.put(item)
        statuses = Counter()
        lock = threading.Lock()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while True:
                try:
                    body, signature = work.get_nowait()
                except queue.Empty:
                    return
                conn.request("POST", "/api/posts/dispatch", body=body, headers={
                    "Content-Type": "application/json", "Upstash-Signature": signature,
                    "Upstash-Message-Id": "msg_bench", "Upstash-Retried": "0"})
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses[response.status] += 1

        cpu_before = cpu_seconds(master)
        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(master) - cpu_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        stop_process(receiver)

    arrivals = [json.loads(line) for line in (tmp / "arrivals.jsonl").read_text().splitlines()]
    per_post = Counter(r["postId"] for r in arrivals)
    with app.app_context():
        published = db.session.execute(
            sa.select(sa.func.count()).select_from(Post).where(Post.status == "published")).scalar()
        db.engine.dispose()
    print(f"signed deliveries: {a.posts} in {elapsed:.2f} s = {a.posts / elapsed:.0f}/s "
          f"(gunicorn {a.workers} workers x {a.threads} threads, {a.clients} concurrent deliveries, "
          f"{'sqlite' if a.sqlite else 'postgres'}, {os.cpu_count()} cores)")
    print(f"gunicorn CPU: {cpu:.2f} s = {cpu / a.posts * 1000:.2f} ms per delivery")
    print(f"answers: {dict(statuses)}; n8n calls: {len(arrivals)}, posts sent twice: "
          f"{sum(1 for n in per_post.values() if n > 1)}; published: {published}")
    if not a.sqlite:
        with admin.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA bench_dispatch CASCADE"))


if __name__ == "__main__":
    main()
