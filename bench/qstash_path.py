#!/usr/bin/env python3
"""The QStash path end to end: from "QStash delivers at not_before" to "n8n receives the call".

The app schedules posts exactly as the API does (actions.schedule_post: the store, then the
QStash alarm publishing through the real qstash SDK) to the QStash stand-in (tests/qstash_standin.py),
which delivers each message at its not_before with a real HS256 Upstash-Signature to the app;
the app verifies the signature, claims the post, calls n8n (the project's receiver,
`python -m tests.receiver`, answering after --delay-ms) and records the outcome. Lateness is the
arrival at the receiver minus not_before (posts are scheduled on whole seconds, so not_before is
the post's own time); figures come from bench/analyse.py.

  warm  gunicorn (--workers × gthread --threads), already serving: after one unmeasured warm-up
        burst, --rounds bursts of --burst posts due in the same second. The stand-in delivers a
        burst --parallel at a time (default: all at once, as QStash does without flow control).
  cold  every delivery starts a fresh process (bench/cold_handler.py: a new interpreter imports
        webapp.wsgi, serves that one request and exits), as a cold serverless instance does:
        --cold posts, --cold-gap seconds apart so that the processes do not overlap. Compared with
        the cold-start import time of webapp.wsgi measured in the same run (bench/coldstart.py's
        measurement, median of --import-runs fresh interpreters).

Targets (issue 16): warm p99 ≤ 150 ms; cold p99 ≤ 1.2 × the cold-start import time.
Both run in production configuration (APP_ENV=production, every required setting given), on
PostgreSQL by default (production's database; a fresh schema) or --sqlite. The stand-in runs in
this process, on the same 2 cores as the app. Writes qstash-path.png (lateness CDFs) to --plot-dir.

Usage: .venv/bin/python bench/qstash_path.py [--burst 50] [--rounds 3] [--cold 10] [--mode warm cold]
       [--database-url postgresql://postgres@127.0.0.1:5432/test | --sqlite] [--plot-dir bench-results]
Needs the bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analyse import analyse, lateness, read_arrivals  # noqa: E402
from bench.preflight import fail, need_modules, need_postgres, need_writable_dir  # noqa: E402

SCRIPT = "bench/qstash_path.py"
SECRET = "bench-qstash-path-secret-key"
CRON_SECRET = "bench-qstash-path-cron-secret"
WARM_TARGET_S = 0.150
COLD_FACTOR = 1.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


class Bench:
    def __init__(self, a, workdir: Path):
        self.a, self.workdir = a, workdir

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        from tests.qstash_standin import QStashStandIn
        from tests.receiver import start_process

        self.database_url = self.fresh_database()
        self.arrivals = self.workdir / "arrivals.jsonl"
        try:
            self.receiver, self.webhook = start_process(self.arrivals, delay_ms=self.a.delay_ms)
        except RuntimeError as exc:
            fail(SCRIPT, str(exc))
        self.standin = QStashStandIn().__enter__()
        self.standin.parallel = self.a.parallel or 10_000
        app = self.bench_app("http://127.0.0.1:9")  # only to migrate and to make the owner
        from webapp import upgrade_database
        from webapp.extensions import db
        from webapp.models import LinkedInConnection, User

        with app.app_context():
            upgrade_database(app)
            user = User(email="bench@example.com", password_hash="!", time_zone="UTC")
            db.session.add(user)
            db.session.flush()
            connection = LinkedInConnection(user_id=user.id, person_urn="urn:li:person:bench")
            connection.access_token = "bench-linkedin-token-0123456789"
            db.session.add(connection)
            db.session.commit()
            self.user_id = user.id
            db.engine.dispose()

    def fresh_database(self) -> str:
        if self.a.sqlite:
            return f"sqlite:///{self.workdir / 'qstash-path.db'}"
        import sqlalchemy as sa

        from webapp.config import normalise_database_url

        base = normalise_database_url(self.a.database_url)
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_qstash_path CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA bench_qstash_path"))
        engine.dispose()
        return f"{base}{'&' if '?' in base else '?'}options={quote('-csearch_path=bench_qstash_path')}"

    def env(self, app_url: str) -> dict:
        from tests.qstash_standin import CURRENT_KEY, NEXT_KEY, TOKEN

        return {**{k: v for k, v in os.environ.items() if not k.startswith("FLASK_")},
                "APP_ENV": "production", "DATABASE_URL": self.database_url, "SECRET_KEY": SECRET,
                "APP_URL": app_url, "N8N_WEBHOOK_URL": self.webhook, "SCHEDULER_BACKEND": "qstash",
                "QSTASH_TOKEN": TOKEN, "QSTASH_URL": self.standin.url, "QSTASH_CURRENT_SIGNING_KEY": CURRENT_KEY,
                "QSTASH_NEXT_SIGNING_KEY": NEXT_KEY, "CRON_SECRET": CRON_SECRET, "LOCAL_DISPATCHER": "off",
                "PYTHONPATH": str(ROOT)}

    def bench_app(self, app_url: str):
        """The app as this process uses it to schedule posts: same database, same QStash, same
        APP_URL (the destination of every message) as the app that serves the deliveries."""
        from tests.qstash_standin import CURRENT_KEY, NEXT_KEY, TOKEN
        from webapp import create_app

        return create_app({
            "SQLALCHEMY_DATABASE_URI": self.database_url, "SECRET_KEY": SECRET, "APP_URL": app_url,
            "N8N_WEBHOOK_URL": self.webhook, "SCHEDULER_BACKEND": "qstash", "QSTASH_TOKEN": TOKEN,
            "QSTASH_URL": self.standin.url, "QSTASH_CURRENT_SIGNING_KEY": CURRENT_KEY,
            "QSTASH_NEXT_SIGNING_KEY": NEXT_KEY, "CRON_SECRET": CRON_SECRET, "LOCAL_DISPATCHER": "off",
            "INSTANCE_PATH": str(self.workdir / "instance"), "TESTING": True, "AUTO_MIGRATE": False})

    def schedule(self, app, times: list[float]) -> dict:
        """Create and schedule one post per whole-second instant; the plan post id -> instant."""
        from webapp.dispatch import actions
        from webapp.timeutil import ResolvedTime

        plan = {}
        with app.app_context():
            core = app.extensions["punctual"]
            for i, at in enumerate(times):
                post_id = actions.create_post(core, user_id=self.user_id, fields={"content": f"bench post {i}"})
                result = actions.schedule_post(core, user_id=self.user_id, post_id=post_id,
                                               when=ResolvedTime(datetime.fromtimestamp(at, timezone.utc)),
                                               zone_name="UTC")
                if result.message_id is None:
                    fail(SCRIPT, f"the post was not published to the QStash stand-in: {result.warning}")
                plan[post_id] = at
        if time.time() >= min(times):
            fail(SCRIPT, "scheduling took longer than the lead; raise --lead.")
        return plan

    def wait_for(self, plan: dict, deadline: float) -> dict:
        while time.time() < deadline:
            arrived = {a.get("postId") for a in read_arrivals(self.arrivals)}
            if all(p in arrived for p in plan):
                break
            time.sleep(0.1)
        time.sleep(0.5)  # let duplicates, if any, arrive
        arrivals = read_arrivals(self.arrivals)
        result = analyse(plan, arrivals)
        result["_lateness"] = lateness(plan, arrivals)
        return result

    def published(self, app, plan: dict) -> int:
        """How many of the plan's posts were recorded published (waiting up to 10 s for the
        records that follow the last webhook calls)."""
        import sqlalchemy as sa

        from webapp.extensions import db
        from webapp.models import Post

        deadline = time.time() + 10
        with app.app_context():
            while True:
                count = db.session.execute(sa.select(sa.func.count()).select_from(Post).where(
                    Post.id.in_(list(plan)), Post.status == "published")).scalar()
                db.session.rollback()
                if count == len(plan) or time.time() > deadline:
                    return count
                time.sleep(0.2)

    def close(self) -> None:
        from tests.receiver import stop_process

        if getattr(self, "standin", None):
            self.standin.__exit__(None, None, None)
        if getattr(self, "receiver", None):
            stop_process(self.receiver)

    # ------------------------------------------------------------------ warm: gunicorn

    def warm(self) -> list[dict]:
        a = self.a
        port = free_port()
        app_url = f"http://127.0.0.1:{port}"
        log = self.workdir / "gunicorn.log"
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(a.workers), "-k", "gthread",
                                   "--threads", str(a.threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                                   "webapp.wsgi:app"], env=self.env(app_url), cwd=self.workdir,
                                  stdout=log.open("w"), stderr=subprocess.STDOUT)
        app = self.bench_app(app_url)
        results = []
        try:
            self.wait_healthy(server, app_url, log)
            for round_ in range(a.rounds + 1):  # round 0 warms every worker and thread up; not counted
                at = math.ceil(time.time() + a.lead)
                plan = self.schedule(app, [float(at)] * a.burst)
                result = self.wait_for(plan, deadline=at + 60)
                result.update(mode="warm", round=round_, published=self.published(app, plan))
                print(json.dumps({k: v for k, v in result.items() if not k.startswith("_")}
                                 | {"counted": round_ > 0}), flush=True)
                if round_:
                    results.append(result)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            with app.app_context():
                from webapp.extensions import db
                db.engine.dispose()
        return results

    def wait_healthy(self, server: subprocess.Popen, app_url: str, log: Path) -> None:
        import requests

        deadline = time.time() + 60
        while time.time() < deadline and server.poll() is None:
            try:
                if requests.get(app_url + "/healthz", timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        fail(SCRIPT, f"gunicorn did not come up: {log.read_text().strip()[-1500:] or 'it said nothing'}")

    # ------------------------------------------------------------------ cold: a process per delivery

    def cold(self) -> tuple[dict, list[dict], list[float]]:
        from bench.coldstart import timed_import

        a = self.a
        front = ColdFront(self.workdir)
        app_url = front.url
        front.env = self.env(app_url)
        imports = [timed_import(("webapp.wsgi",), front.env, str(self.workdir)) for _ in range(a.import_runs + 1)][1:]
        app = self.bench_app(app_url)
        try:
            first = math.ceil(time.time() + a.lead)
            plan = self.schedule(app, [float(first + i * a.cold_gap) for i in range(a.cold)])
            result = self.wait_for(plan, deadline=max(plan.values()) + 60)
            deadline = time.time() + 60
            while len(front.served) < len(plan) and time.time() < deadline:
                time.sleep(0.1)  # the last processes record the outcome and exit after n8n's call
            result.update(mode="cold", published=self.published(app, plan))
            print(json.dumps({k: v for k, v in result.items() if not k.startswith("_")}), flush=True)
        finally:
            front.close()
            with app.app_context():
                from webapp.extensions import db
                db.engine.dispose()
        return result, front.served, imports


class ColdFront:
    """Where QStash delivers in the cold mode: each request is handed to a fresh process
    (bench/cold_handler.py) that imports the app, serves it, and exits."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.env: dict = {}
        self.served: list[dict] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.relay()

            def do_GET(self):
                self.relay()

            def relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                request = {"method": self.command, "path": parts.path, "query": parts.query,
                           "host": self.headers.get("Host", "127.0.0.1"), "headers": dict(self.headers),
                           "body_b64": base64.b64encode(body).decode()}
                started = time.perf_counter()
                with (front.workdir / "cold-handler.log").open("a") as stderr:
                    done = subprocess.run([sys.executable, str(ROOT / "bench" / "cold_handler.py")],
                                          input=json.dumps(request), env=front.env, cwd=front.workdir,
                                          stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=120)
                try:
                    answer = json.loads(done.stdout)
                except ValueError:
                    answer = {"status": 502, "headers": [], "body_b64": base64.b64encode(
                        b"the cold process failed; see cold-handler.log").decode()}
                answer["process_s"] = time.perf_counter() - started
                front.served.append({k: answer.get(k) for k in ("status", "import_s", "handle_s", "process_s")})
                data = base64.b64decode(answer["body_b64"])
                self.send_response(answer["status"])
                for name, value in answer["headers"]:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pooled(results: list[dict]) -> dict:
    late = sorted(x for r in results for x in r["_lateness"])
    from bench.analyse import pct

    return {"n": len(late), "p50_ms": ms(pct(late, 50)), "p99_ms": ms(pct(late, 99)),
            "max_ms": ms(max(late) if late else None),
            "missing": sum(r["missing"] for r in results), "duplicates": sum(r["duplicates"] for r in results),
            "early": sum(r["early"] for r in results), "published": sum(r["published"] for r in results),
            "planned": sum(r["planned"] for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", nargs="+", choices=["warm", "cold"], default=["warm", "cold"])
    ap.add_argument("--burst", type=int, default=50, help="warm: deliveries due in the same second")
    ap.add_argument("--rounds", type=int, default=3, help="warm: measured bursts (after one warm-up burst)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--parallel", type=int, default=0, help="deliveries the stand-in makes at once (0: all)")
    ap.add_argument("--cold", type=int, default=10, help="cold: deliveries, each to a fresh process")
    ap.add_argument("--cold-gap", type=float, default=4.0, help="cold: seconds between their not_before")
    ap.add_argument("--import-runs", type=int, default=5, help="cold: fresh-interpreter imports of webapp.wsgi")
    ap.add_argument("--delay-ms", type=float, default=30.0, help="how long n8n (the receiver) takes to answer")
    ap.add_argument("--lead", type=float, default=3.0, help="seconds between scheduling and the first not_before")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    ap.add_argument("--plot-dir", default="bench-results")
    a = ap.parse_args()
    need_modules(SCRIPT, "flask", "sqlalchemy", "requests", "qstash", "jwt", "matplotlib",
                 *(["gunicorn"] if "warm" in a.mode else []))
    if not a.sqlite:
        need_postgres(SCRIPT, a.database_url)
    plot_dir = need_writable_dir(SCRIPT, a.plot_dir)
    a.lead = max(a.lead, 2 + a.burst / 25)  # each schedule is a publish round trip to the stand-in

    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="qstash-path-") as tmp:
        bench = Bench(a, Path(tmp))
        try:
            bench.setup()
            warm = bench.warm() if "warm" in a.mode else []
            cold, served, imports = bench.cold() if "cold" in a.mode else (None, [], [])
        finally:
            bench.close()

    database = "sqlite" if a.sqlite else "postgres"
    print(f"\nthe QStash path, stand-in -> app -> n8n receiver ({a.delay_ms:g} ms), {database}, "
          f"{os.cpu_count()} cores, load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    series, targets, summary = {}, {}, {"database": database, "load": load}
    if warm:
        w = pooled(warm)
        per_round = [ms(r["p99_s"]) for r in warm]
        print(f"warm  gunicorn {a.workers}×{a.threads} gthread, bursts of {a.burst} (stand-in parallel "
              f"{a.parallel or 'all'}), {len(warm)} rounds: p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms "
              f"(rounds' p99 {per_round}, median {statistics.median(per_round)}), max {w['max_ms']} ms; "
              f"missing {w['missing']}, duplicates {w['duplicates']}, early {w['early']}, "
              f"published {w['published']}/{w['planned']}")
        verdict = "met" if w["p99_ms"] <= WARM_TARGET_S * 1000 else "missed"
        print(f"      target p99 <= {WARM_TARGET_S * 1000:.0f} ms: {verdict}")
        series[f"warm (gunicorn, bursts of {a.burst})"] = [x for r in warm for x in r["_lateness"]]
        targets[f"warm (gunicorn, bursts of {a.burst})"] = WARM_TARGET_S
        summary["warm"] = w | {"rounds_p99_ms": per_round}
    if cold:
        c = pooled([cold])
        import_s = statistics.median(imports)
        limit = COLD_FACTOR * import_s
        med = lambda key: statistics.median(s[key] for s in served if s.get(key) is not None)  # noqa: E731
        print(f"cold  {len(served)} deliveries, each to a fresh process: p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, "
              f"max {c['max_ms']} ms; missing {c['missing']}, duplicates {c['duplicates']}, early {c['early']}, "
              f"published {c['published']}/{c['planned']}")
        print(f"      in each process (medians): import webapp.wsgi {med('import_s') * 1000:.0f} ms, the request "
              f"{med('handle_s') * 1000:.0f} ms, the whole process {med('process_s') * 1000:.0f} ms")
        print(f"      cold-start import time (median of {len(imports)} fresh interpreters): {import_s * 1000:.0f} ms; "
              f"target p99 <= {COLD_FACTOR} × that = {limit * 1000:.0f} ms: "
              f"{'met' if c['p99_ms'] <= limit * 1000 else 'missed'} "
              f"(p99 / import = {c['p99_ms'] / 1000 / import_s:.2f})")
        series["cold (a fresh process per delivery)"] = cold["_lateness"]
        targets["cold (a fresh process per delivery)"] = limit
        summary["cold"] = c | {"import_ms": round(import_s * 1000, 1), "served": served}
    if series:
        from bench import plots

        path = plots.lateness_histogram(plot_dir / "qstash-path.png", series,
                                        f"The QStash path: lateness after not_before, {database}", targets)
        print(f"plot: {path}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
