#!/usr/bin/env python3
"""Compressed soak: the app as a user runs it, for a long time, under a steady stream of work.

Starts the server exactly as the README's first command does (`flask --app webapp run`, which
runs the local dispatcher in-process; or `--server gunicorn` with LOCAL_DISPATCHER=thread) against
the project's webhook receiver (`python -m tests.receiver`, answering after 20 ms), then for
--minutes keeps a steady stream of API calls: create a
post and schedule it 2–30 s ahead, reschedule some, unschedule some, and poll the dashboard and
the post list like open browser tabs do. Every --sample-every seconds it samples the server's
RSS, open file descriptors, threads and database connections.

It fails (exit 1) if any post is lost, sent early, sent after its unschedule, or sent twice, or
if a resource grows without bound: for each series the last fifth of the run (max) is compared
with the fifth after warm-up (max); RSS may grow by at most --rss-slack-mb, counts by at most
--count-slack.

At the end it writes soak-resources.png to --plot-dir: RSS, file descriptors and connections over
time.

Usage: .venv/bin/python bench/soak.py --minutes 30 [--server flask|gunicorn] [--database-url postgresql://...]
       [--rate 4] [--csv soak.csv] [--plot-dir bench-results]
Needs the bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analyse import read_arrivals  # noqa: E402
from bench.preflight import fail, need_modules, need_postgres, need_writable_dir  # noqa: E402

SCRIPT = "bench/soak.py"
need_modules(SCRIPT, "flask", "sqlalchemy", "requests", "psutil", "matplotlib")

import psutil  # noqa: E402
import requests  # noqa: E402

FLASK = [sys.executable, "-m", "flask", "--app", "webapp"]


def fresh_postgres_schema(url: str, schema: str = "bench_soak") -> str:
    """An empty schema of its own on the given Postgres, as a URL whose search_path points at it."""
    from urllib.parse import quote

    import sqlalchemy as sa

    from webapp.config import normalise_database_url

    base = normalise_database_url(url)
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


class Soak:
    def __init__(self, args, workdir: Path):
        self.args, self.workdir = args, workdir
        self.rng = random.Random(args.seed)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.versions: dict[str, float] = {}  # "post:version" -> due (epoch)
        self.cancelled: dict[str, float] = {}
        self.superseded: dict[str, float] = {}
        self.live: dict[str, tuple[int, float]] = {}  # post -> (version, due) while scheduled
        self.samples: list[dict] = []
        self.errors: list[str] = []
        self.calls = 0

    # ------------------------------------------------------------------ processes

    def flask(self, env: dict, *args: str) -> str:
        """Run a `flask --app webapp` command; stop the soak with what it said if it fails."""
        done = subprocess.run([*FLASK, *args], env=env, cwd=self.workdir, capture_output=True, text=True)
        if done.returncode != 0:
            fail(SCRIPT, f"`flask {args[0]} {args[1]}` failed: {(done.stderr or done.stdout).strip()[-1500:]}")
        return done.stdout

    def start(self) -> None:
        from tests.receiver import start_process

        self.arrivals = self.workdir / "arrivals.jsonl"
        try:
            self.receiver, webhook = start_process(self.arrivals, delay_ms=20)
        except RuntimeError as exc:
            fail(SCRIPT, str(exc))
        self.database_url = (fresh_postgres_schema(self.args.database_url) if self.args.database_url
                             else f"sqlite:///{self.workdir / 'soak.db'}")
        env = {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": "soak-secret-key",
               "N8N_WEBHOOK_URL": webhook, "APP_URL": self.base,
               "SCHEDULER_BACKEND": "local", "SWEEP_INTERVAL": "10", "PYTHONPATH": str(ROOT)}
        if self.args.database_url:  # SQLite upgrades itself at start; Postgres is migrated like production
            self.flask(env, "db", "upgrade")
        self.flask(env, "users", "create", "--email", "soak@example.com", "--password", "soak-password",
                   "--time-zone", "Europe/Berlin")
        token = self.flask(env, "tokens", "create", "--email", "soak@example.com").strip().splitlines()[-1]
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {token}"
        if self.args.server == "gunicorn":
            cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{self.port}",
                   "webapp.wsgi:app"]
            env["LOCAL_DISPATCHER"] = "thread"
        else:
            cmd = [*FLASK, "run", "--port", str(self.port)]
        self.log = (self.workdir / "server.log").open("w")
        self.server = subprocess.Popen(cmd, env=env, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.server.poll() is not None:
                break
            try:
                if requests.get(self.base + "/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            self.server.poll()
        if self.server.returncode is not None or time.time() >= deadline:
            self.log.flush()
            fail(SCRIPT, "the server did not come up: "
                         f"{(self.workdir / 'server.log').read_text().strip()[-1500:] or 'it said nothing'}")
        self.browser = requests.Session()  # a logged-in browser tab
        page = self.browser.get(self.base + "/login").text
        csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
        self.browser.post(self.base + "/login", data={"csrf_token": csrf, "email": "soak@example.com",
                                                       "password": "soak-password"})
        page = self.browser.get(self.base + "/settings").text
        csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
        connected = self.browser.post(self.base + "/settings/linkedin", data={
            "csrf_token": csrf, "access_token": "soak-linkedin-token-0123456789",
            "person_urn": "urn:li:person:soak",
            "expires_on": (datetime.now(timezone.utc) + timedelta(days=60)).date().isoformat()})
        if not connected.ok:
            raise SystemExit(f"could not connect LinkedIn: {connected.status_code}")

    def stop(self) -> None:
        from tests.receiver import stop_process

        server = getattr(self, "server", None)
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if getattr(self, "receiver", None) is not None:
            stop_process(self.receiver)

    # ------------------------------------------------------------------ load

    def call(self, method: str, path: str, **kwargs):
        self.calls += 1
        response = self.api.request(method, self.base + path, timeout=10, **kwargs)
        return response

    def one_step(self) -> None:
        roll = self.rng.random()
        if roll < 0.55 or not self.live:
            post = self.call("POST", "/api/posts", json={"content": f"soak post {self.calls}"}).json()
            due = time.time() + self.rng.uniform(2, 30)
            answer = self.call("POST", f"/api/posts/{post['id']}/schedule", json={"scheduledAt": iso(due)})
            if answer.ok:
                self.versions[f"{post['id']}:1"] = due
                self.live[post["id"]] = (1, due)
            else:
                self.errors.append(f"schedule: {answer.status_code} {answer.text[:200]}")
        elif roll < 0.70:
            post_id, (version, due) = self.rng.choice(list(self.live.items()))
            answer = self.call("POST", f"/api/posts/{post_id}/unschedule")
            if answer.ok:
                self.cancelled[f"{post_id}:{version}"] = time.time()
                del self.live[post_id]
            elif answer.status_code != 409:
                self.errors.append(f"unschedule: {answer.status_code} {answer.text[:200]}")
        elif roll < 0.80:
            post_id, (version, due) = self.rng.choice(list(self.live.items()))
            new_due = time.time() + self.rng.uniform(2, 30)
            answer = self.call("POST", f"/api/posts/{post_id}/schedule", json={"scheduledAt": iso(new_due)})
            if answer.ok:
                self.superseded[f"{post_id}:{version}"] = time.time()
                self.versions[f"{post_id}:{version + 1}"] = new_due
                self.live[post_id] = (version + 1, new_due)
            elif answer.status_code != 409:
                self.errors.append(f"reschedule: {answer.status_code} {answer.text[:200]}")
        else:
            for path in ("/", "/api/posts?status=scheduled"):
                session = self.browser if path == "/" else self.api
                self.calls += 1
                if not session.get(self.base + path, timeout=10).ok:
                    self.errors.append(f"poll {path} failed")
        now = time.time()
        for post_id, (_version, due) in list(self.live.items()):
            if due < now - 1:
                del self.live[post_id]  # due: no longer ours to change

    # ------------------------------------------------------------------ sampling

    def sample(self) -> dict:
        proc = psutil.Process(self.server.pid)
        procs = [proc] + proc.children(recursive=True)
        rss = sum(p.memory_info().rss for p in procs if p.is_running())
        fds = sum(p.num_fds() for p in procs if p.is_running())
        threads = sum(p.num_threads() for p in procs if p.is_running())
        sockets = sum(len(p.net_connections()) for p in procs if p.is_running())
        if self.database_url.startswith("sqlite"):
            connections = sum(1 for p in procs for f in p.open_files() if f.path.endswith("soak.db"))
        else:
            import sqlalchemy as sa

            from webapp.config import normalise_database_url
            engine = getattr(self, "_pg", None) or sa.create_engine(normalise_database_url(self.database_url))
            self._pg = engine
            with engine.connect() as conn:
                connections = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND application_name NOT LIKE 'psql%'")).scalar()
        return {"t": round(time.time() - self.t0, 1), "rss_mb": round(rss / 2**20, 1), "fds": fds,
                "threads": threads, "sockets": sockets, "db_connections": connections, "calls": self.calls}

    def run(self) -> int:
        self.t0 = time.time()
        try:
            self.start()
            self.t0 = time.time()
            end = self.t0 + self.args.minutes * 60
            next_sample = self.t0
            interval = 1 / self.args.rate
            while time.time() < end:
                t = time.time()
                if t >= next_sample:
                    self.samples.append(self.sample())
                    print(json.dumps(self.samples[-1]), flush=True)
                    next_sample += self.args.sample_every
                try:
                    self.one_step()
                except requests.RequestException as exc:
                    self.errors.append(f"request failed: {type(exc).__name__}")
                time.sleep(max(0.0, interval - (time.time() - t)))
            settle = max([*self.versions.values(), time.time()]) + 15
            while time.time() < settle:
                time.sleep(1)
            self.samples.append(self.sample())
        finally:
            self.stop()
        return self.verdict()

    # ------------------------------------------------------------------ verdict

    def verdict(self) -> int:
        arrivals = read_arrivals(self.arrivals)
        sent: dict[str, list[float]] = {}
        for a in arrivals:
            sent.setdefault(a["key"], []).append(a["t"])
        problems = []
        final_version = {}
        for key in self.versions:
            post_id, version = key.rsplit(":", 1)
            final_version[post_id] = max(final_version.get(post_id, 0), int(version))
        for key, due in self.versions.items():
            post_id, version = key.rsplit(":", 1)
            times = sent.get(key, [])
            is_final = int(version) == final_version[post_id]
            if is_final and key not in self.cancelled and not times:
                problems.append(f"lost {key}")
            if any(t < due - 0.001 for t in times):
                problems.append(f"early {key}")
            if len(times) > 1:
                problems.append(f"sent {len(times)} times {key}")
            if key in self.cancelled and any(t > self.cancelled[key] for t in times):
                problems.append(f"sent after unschedule {key}")
            if key in self.superseded and any(t > self.superseded[key] for t in times):
                problems.append(f"stale version sent {key}")
        lateness = sorted((min(ts) - self.versions[k]) * 1000 for k, ts in sent.items() if k in self.versions)
        growth = self.growth()
        summary = {
            "minutes": self.args.minutes, "server": self.args.server,
            "database": "postgres" if self.args.database_url else "sqlite",
            "api_calls": self.calls, "versions_scheduled": len(self.versions), "deliveries": len(arrivals),
            "cancelled": len(self.cancelled), "rescheduled": len(self.superseded),
            "lateness_ms": {"p50": round(statistics.median(lateness), 1) if lateness else None,
                            "p99": round(lateness[int(len(lateness) * 0.99) - 1], 1) if lateness else None},
            "start": self.samples[min(len(self.samples) - 1, max(1, len(self.samples) // 10))],
            "end": self.samples[-1], "growth": growth, "problems": problems[:20],
            "request_errors": self.errors[:20],
        }
        print(json.dumps(summary, indent=1))
        if self.args.csv:
            with open(self.args.csv, "w") as f:
                f.write("t,rss_mb,fds,threads,db_connections,calls\n")
                for s in self.samples:
                    f.write(f"{s['t']},{s['rss_mb']},{s['fds']},{s['threads']},{s['db_connections']},{s['calls']}\n")
        from bench import plots

        plot = plots.soak_resources(
            self.plot_dir / "soak-resources.png", self.samples,
            f"Soak: {self.args.minutes:g} min, `{'flask run' if self.args.server == 'flask' else 'gunicorn'}`, "
            f"{summary['database']}, {self.calls:,} API calls, {len(arrivals):,} deliveries")
        print(f"plot: {plot}")
        failed = problems or self.errors or any(not g["bounded"] for g in growth.values())
        print("SOAK FAILED" if failed else "SOAK PASSED")
        return 1 if failed else 0

    def growth(self) -> dict:
        """Compare the window after warm-up with the last window, per series."""
        n = len(self.samples)
        fifth = max(1, n // 5)
        early = self.samples[max(1, n // 10): max(1, n // 10) + fifth]
        late = self.samples[-fifth:]
        out = {}
        for key, slack in (("rss_mb", self.args.rss_slack_mb), ("fds", self.args.count_slack),
                           ("threads", self.args.count_slack), ("db_connections", self.args.count_slack)):
            a, b = max(s[key] for s in early), max(s[key] for s in late)
            out[key] = {"early_max": a, "late_max": b, "bounded": b <= a + slack}
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=float, default=4.0, help="user actions per second")
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--server", choices=["flask", "gunicorn"], default="flask")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--plot-dir", default="bench-results", help="where to write soak-resources.png")
    ap.add_argument("--rss-slack-mb", type=float, default=25.0)
    ap.add_argument("--count-slack", type=int, default=6)
    ap.add_argument("--csv", default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.database_url:
        need_postgres(SCRIPT, args.database_url)
    if args.server == "gunicorn":
        need_modules(SCRIPT, "gunicorn")
    plot_dir = need_writable_dir(SCRIPT, args.plot_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        soak = Soak(args, Path(tmp))
        soak.plot_dir = plot_dir
        sys.exit(soak.run())


if __name__ == "__main__":
    main()
