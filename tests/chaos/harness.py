"""The chaos harness: schedules many posts for several users over a short window, runs several
local dispatcher processes against a misbehaving receiver, injects faults (SIGKILLs at random
moments and inside the claim→send→record windows, webhook errors, hangs, dropped connections, an
n8n that is slow but alive and one that dribbles its answer, outcome writes the database refuses,
several sweepers at once — the workers' own, a `flask recover` loop and recover-endpoint calls —
users rescheduling and unscheduling posts as they fall due, a Postgres restart), then checks every
invariant of the design from the receiver's log and the database.

Used by tests/chaos/test_chaos.py (CI-sized) and bench/chaos.py (large runs).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SECRET = "chaos-secret-key"
#: Receiver answers after which n8n may have published the post.
EFFECTIVE = {"200", "500", "hang", "drop", "slow", "dribble"}
#: Receiver answers that are a 2xx (a dribbled one only if it is read to its end in time).
SUCCESS = {"200", "slow", "dribble"}


@dataclass
class ChaosConfig:
    posts: int = 200
    users: int = 3
    window: float = 15.0  # posts fall due evenly over this many seconds...
    lead: float = 8.0  # ...starting this long after they are scheduled (room for a busy machine)
    workers: int = 3
    kill_every: tuple[float, float] | None = (1.5, 4.0)  # seconds between SIGKILLs of a random worker
    kill_after_claim: float = 0.01  # a worker SIGKILLs itself right after a claim, with this probability
    kill_after_send: float = 0.01  # ... or right after the webhook answered, before recording it
    restart_after: float = 0.3
    rates: str = "500=0.03,503=0.04,429=0.04,400=0.02,hang=0.02,drop=0.02,slow=0.06,dribble=0.02"
    slow_s: tuple[float, float] = (1.0, 3.0)  # a slow but alive n8n answers correctly after this long
    dribble_s: float = 0.1  # seconds between the bytes of a dribbled answer (~15 s for a whole one)
    fail_record: float = 0.05  # a worker's outcome write fails with this probability, each time
    #: Sweepers beside the workers' own: a `flask recover` loop and recover-endpoint calls, each
    #: every `recover_every` s (local backend).
    sweepers: bool = True
    reschedule_share: float = 0.08  # of posts, rescheduled around the moment they fall due
    unschedule_share: float = 0.08  # of posts, unscheduled around the moment they fall due
    pg_restart: bool = False
    database_url: str | None = None  # None: a SQLite file in the work folder
    seed: int = 1
    settle_timeout: float = 90.0
    n8n_timeout: float = 4.0  # a slow answer (slow_s) still comes in time
    lease: float = 15.0  # > one call's deadline (5 s connect + n8n_timeout) + 5 s to record
    sweep_interval: float = 1.0
    retry_base: float = 0.3
    max_attempts: int = 4
    concurrency: int = 16
    #: "local": dispatcher processes; "qstash": the QStash stand-in delivering to the real app
    #: served on loopback, misbehaving (duplicates, reordering, delays, early deliveries, lost
    #: messages, failing cancels), with the recover endpoint called every `recover_every` s.
    backend: str = "local"
    recover_every: float = 2.0


@dataclass
class ChaosReport:
    config: dict
    posts: int = 0
    arrivals: int = 0
    answers: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)  # status -> count
    failed_kinds: dict = field(default_factory=dict)
    kills: int = 0
    self_kills: int = 0
    qstash_faults: dict = field(default_factory=dict)
    recover_calls: int = 0
    cli_recovers: int = 0
    record_failures: int = 0
    restarts: int = 0
    pg_restarts: int = 0
    reschedules: int = 0
    unschedules: int = 0
    conflicts: int = 0
    crash_recovery_resends: int = 0
    lateness_ms: dict = field(default_factory=dict)
    duration_s: float = 0.0
    violations: dict = field(default_factory=lambda: {
        "lost": [], "early": [], "sent_after_unschedule": [], "stale_version_sent": [],
        "duplicate_sends": [], "unknown_key": [], "published_without_send": [], "dispatcher_exited": [],
        "unconfirmed_sent_twice": [], "sweeper_failed": [],
    })

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def summary(self) -> str:
        v = {name: len(items) for name, items in self.violations.items()}
        return json.dumps({
            "ok": self.ok, "posts": self.posts, "arrivals": self.arrivals, "answers": self.answers,
            "final": self.final, "failed_kinds": self.failed_kinds, "kills": self.kills,
            "self_kills": self.self_kills, "restarts": self.restarts, "qstash_faults": self.qstash_faults,
            "recover_calls": self.recover_calls, "cli_recovers": self.cli_recovers,
            "record_failures": self.record_failures, "pg_restarts": self.pg_restarts,
            "reschedules": self.reschedules, "unschedules": self.unschedules, "conflicts": self.conflicts,
            "crash_recovery_resends": self.crash_recovery_resends, "lateness_ms": self.lateness_ms,
            "violations": v, "duration_s": round(self.duration_s, 1),
        }, indent=1)


def pg_restart() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Workers:
    """Dispatcher processes: started, SIGKILLed at random, restarted; watched for exits."""

    def __init__(self, config: ChaosConfig, env: dict, workdir: Path, report: ChaosReport):
        self.config, self.env, self.workdir, self.report = config, env, workdir, report
        self.procs: dict[int, subprocess.Popen] = {}
        self.killed: set[int] = set()  # pids we killed
        self.chaos = True
        self.lock = threading.Lock()
        self.rng = random.Random(config.seed + 7)
        self.spawned = 0

    def spawn(self, slot: int) -> None:
        self.spawned += 1
        args = [sys.executable, str(HERE / "worker.py"), "--seed", str(self.config.seed * 1000 + self.spawned)]
        if self.chaos:
            args += ["--kill-after-claim", str(self.config.kill_after_claim),
                     "--kill-after-send", str(self.config.kill_after_send),
                     "--fail-record", str(self.config.fail_record)]
        log = (self.workdir / f"worker-{self.spawned}.log").open("w")
        self.procs[slot] = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)

    def start(self) -> None:
        for slot in range(self.config.workers):
            self.spawn(slot)

    def kill_one(self) -> None:
        with self.lock:
            slot = self.rng.randrange(len(self.procs))
            proc = self.procs[slot]
            if proc.poll() is None:
                self.killed.add(proc.pid)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                self.report.kills += 1

    def tend(self) -> None:
        """Restart dead workers; a worker that exits by itself (other than its own kill point) is a violation."""
        with self.lock:
            for slot, proc in list(self.procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                if proc.pid in self.killed:
                    pass
                elif code == -signal.SIGKILL:
                    self.report.self_kills += 1  # a kill point fired: claim→send or send→record
                else:
                    self.report.violations["dispatcher_exited"].append({"pid": proc.pid, "code": code})
                self.spawn(slot)
                self.report.restarts += 1

    def stop(self) -> None:
        with self.lock:
            for proc in self.procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in self.procs.values():
                try:
                    code = proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = "hung on SIGTERM"
                if code not in (0, -signal.SIGKILL) and proc.pid not in self.killed:
                    self.report.violations["dispatcher_exited"].append({"pid": proc.pid, "code": code})


class Sweepers:
    """More sweepers beside the workers' own loops, as an operator might run them: `flask recover`
    started every few seconds, and the recover endpoint called like the QStash schedule would,
    on the app served on loopback. Each claims only what it can send at once, and the fence keeps
    any of them from sending a claim another has taken over."""

    def __init__(self, config: ChaosConfig, env: dict, report: ChaosReport):
        sys.path.insert(0, str(ROOT))
        from tests.qstash_fixtures import CRON_SECRET, LiveServer

        self.config, self.env, self.report = config, env, report
        self.cron_secret = CRON_SECRET
        self.live = LiveServer().__enter__()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._cli, daemon=True),
                        threading.Thread(target=self._endpoint, daemon=True)]

    def start(self, app) -> None:
        self.live.app = app
        for thread in self.threads:
            thread.start()

    def _cli(self) -> None:
        while not self.stop.wait(self.config.recover_every):
            done = subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "recover"], env=self.env,
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode == 0:
                self.report.cli_recovers += 1
            elif "OperationalError" not in done.stderr:  # a Postgres restart may fail one run
                self.report.violations["sweeper_failed"].append(done.stderr[-500:])

    def _endpoint(self) -> None:
        import requests

        while not self.stop.wait(self.config.recover_every):
            try:
                answer = requests.get(self.live.url + "/api/posts/recover", timeout=120,
                                      headers={"Authorization": f"Bearer {self.cron_secret}"})
            except requests.RequestException:
                continue
            if answer.status_code == 200:
                self.report.recover_calls += 1
            elif answer.status_code != 503:  # 503: the database was unreachable (a restart)
                self.report.violations["sweeper_failed"].append(f"recover answered {answer.status_code}")

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=180)
        self.live.__exit__(None, None, None)


class QStashChaos:
    """The QStash path under chaos: the stand-in (tests/qstash_standin.py) delivers to the real
    app on loopback while its knobs flip at random; the recover endpoint runs like the 5-minute
    schedule would, compressed to every few seconds."""

    KNOBS = ("duplicate", "late", "early", "drop", "reorder", "fail_cancel", "deliver_cancelled")

    def __init__(self, config: ChaosConfig, report: ChaosReport):
        sys.path.insert(0, str(ROOT))
        from tests.qstash_fixtures import CRON_SECRET, LiveServer, qstash_app_config  # noqa: F401
        from tests.qstash_standin import QStashStandIn

        self.config, self.report = config, report
        self.rng = random.Random(config.seed + 11)
        self.standin = QStashStandIn().__enter__()
        self.live = LiveServer().__enter__()
        self.cron_secret = CRON_SECRET
        self.counts = Counter()
        self.next_recover = 0.0

    def app_config(self, webhook: str) -> dict:
        from tests.qstash_fixtures import qstash_app_config

        class _Receiver:
            url = webhook

        return qstash_app_config(self.standin, self.live.url, _Receiver, N8N_TIMEOUT=self.config.n8n_timeout,
                                 RETRY_BASE_DELAY=self.config.retry_base, MAX_ATTEMPTS=self.config.max_attempts,
                                 DISPATCH_LEASE=self.config.lease, QSTASH_RETRIES=3)

    def attach(self, app) -> None:
        self.live.app = app

    def misbehave(self) -> None:
        """Flip the stand-in's knobs to a new random combination."""
        q, rng = self.standin, self.rng
        q.duplicate = rng.random() < 0.3
        q.late = rng.uniform(0.2, 1.5) if rng.random() < 0.2 else 0.0
        q.early = rng.uniform(0.3, 2.0) if rng.random() < 0.2 else 0.0
        q.drop = rng.random() < 0.1
        q.fail_cancel = 500 if rng.random() < 0.3 else None
        q.deliver_cancelled = rng.random() < 0.3
        if q.paused:
            q.reverse, q.paused = True, False  # release the held deliveries newest first
            q.wake()
        elif rng.random() < 0.1:
            q.paused = True
            self.counts["reorder"] += 1
        for knob in ("duplicate", "late", "early", "drop", "fail_cancel", "deliver_cancelled"):
            if getattr(q, knob):
                self.counts[knob] += 1

    def behave(self) -> None:
        q = self.standin
        q.duplicate = q.drop = q.deliver_cancelled = False
        q.late = q.early = 0.0
        q.fail_cancel = None
        q.paused, q.reverse = False, False
        q.wake()

    def recover(self, force: bool = False) -> None:
        import requests
        if not force and time.time() < self.next_recover:
            return
        self.next_recover = time.time() + self.config.recover_every
        try:
            requests.get(self.live.url + "/api/posts/recover", timeout=60,
                         headers={"Authorization": f"Bearer {self.cron_secret}"})
            self.report.recover_calls += 1
        except requests.RequestException:
            pass

    def close(self) -> None:
        self.report.qstash_faults = dict(self.counts)
        self.behave()
        self.live.__exit__(None, None, None)
        self.standin.__exit__(None, None, None)


class RefusedRecords:
    """In this process (the recover and dispatch endpoints), writing an outcome fails with
    probability `rate`, as if the database were restarting: the outcome must be held, not lost.
    (Worker processes do the same with --fail-record.)"""

    def __init__(self, rate: float, seed: int):
        from webapp.dispatch.store import Store

        self.rate, self.rng, self.count = rate, random.Random(seed), 0
        self.lock = threading.Lock()
        self.store_class, self.real = Store, Store._finish

    def __enter__(self) -> RefusedRecords:
        from sqlalchemy.exc import OperationalError

        real, outer = self.real, self

        def finish(store, *args, **kwargs):
            with outer.lock:
                refuse = outer.rate and outer.rng.random() < outer.rate
                outer.count += bool(refuse)
            if refuse:
                raise OperationalError("UPDATE posts", {}, Exception("chaos: the database is restarting"))
            return real(store, *args, **kwargs)

        self.store_class._finish = finish
        return self

    def __exit__(self, *exc) -> None:
        self.store_class._finish = self.real


def run(config: ChaosConfig, workdir: Path) -> ChaosReport:
    sys.path.insert(0, str(ROOT))
    from webapp import create_app, upgrade_database
    from webapp.accounts.users import create_user
    from webapp.dispatch import actions
    from webapp.dispatch.errors import Conflict
    from webapp.extensions import db
    from webapp.models import LinkedInConnection
    from webapp.timeutil import ResolvedTime

    started = time.time()
    report = ChaosReport(config=asdict(config))
    rng = random.Random(config.seed)
    database_url = config.database_url or f"sqlite:///{workdir / 'chaos.db'}"

    from tests.receiver import start_process, stop_process

    arrivals_path = workdir / "arrivals.jsonl"
    receiver, webhook = start_process(arrivals_path, delay_ms=5, rates=config.rates, seed=config.seed,
                                      hang_s=config.n8n_timeout + 2, slow_s=config.slow_s,
                                      dribble_s=config.dribble_s, each_fault_once=True)

    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "N8N_WEBHOOK_URL": webhook,
           "SCHEDULER_BACKEND": "local", "N8N_TIMEOUT": str(config.n8n_timeout),
           "DISPATCH_LEASE": str(config.lease), "SWEEP_INTERVAL": str(config.sweep_interval),
           "RETRY_BASE_DELAY": str(config.retry_base), "MAX_ATTEMPTS": str(config.max_attempts),
           "DISPATCH_CONCURRENCY": str(config.concurrency), "PYTHONPATH": str(ROOT)}
    qstash = QStashChaos(config, report) if config.backend == "qstash" else None
    sweepers = Sweepers(config, env, report) if config.sweepers and not qstash else None
    app_config = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET, "N8N_WEBHOOK_URL": webhook,
                  "LOCAL_DISPATCHER": "off", "INSTANCE_PATH": str(workdir / "instance"), "TESTING": True,
                  # the recover endpoint sweeps with the same settings as the workers
                  "N8N_TIMEOUT": config.n8n_timeout, "DISPATCH_LEASE": config.lease,
                  "RETRY_BASE_DELAY": config.retry_base, "MAX_ATTEMPTS": config.max_attempts,
                  "DISPATCH_CONCURRENCY": config.concurrency}
    if qstash:
        app_config.update(qstash.app_config(webhook))
    if sweepers:
        app_config["CRON_SECRET"] = sweepers.cron_secret
    app = create_app(app_config)
    if qstash:
        qstash.attach(app)
    workers = Workers(config, env, workdir, report)

    versions: dict[str, float] = {}  # "post:version" -> the instant it was scheduled for (epoch s)
    cancelled: dict[str, float] = {}  # key -> when an unschedule of that version returned
    superseded: dict[str, float] = {}  # key -> when a reschedule away from that version returned
    owner_of: dict[str, int] = {}
    current: dict[str, int] = {}
    state_lock = threading.Lock()

    def with_retries(fn, tries=40):
        """User actions and setup ride out a database restart like a user clicking again would."""
        from sqlalchemy.exc import DBAPIError, OperationalError
        for attempt in range(tries):
            try:
                return fn()
            except (OperationalError, DBAPIError):
                if attempt == tries - 1:
                    raise
                time.sleep(0.25)

    refused = RefusedRecords(config.fail_record, config.seed + 13).__enter__()
    try:
        with app.app_context():
            upgrade_database(app)
            core = app.extensions["punctual"]
            users = []
            for i in range(config.users):
                user = create_user(f"user{i}@chaos.example", "chaos-password")
                connection = LinkedInConnection(user_id=user.id, person_urn=f"urn:li:person:chaos{i}")
                connection.access_token = f"chaos-token-{i}-0123456789"
                db.session.add(connection)
                db.session.commit()
                users.append(user.id)
            post_ids = []
            for i in range(config.posts):
                owner = users[i % len(users)]
                fields: actions.PostFields = {"content": f"chaos post {i} by user {owner}"}
                post_id = actions.create_post(core, user_id=owner, fields=fields)
                owner_of[post_id] = owner
                post_ids.append(post_id)

            if not qstash:
                workers.start()
            t0 = time.time() + config.lead
            for i, post_id in enumerate(post_ids):
                at = t0 + config.window * i / max(1, config.posts - 1)
                result = actions.schedule_post(core, user_id=owner_of[post_id], post_id=post_id, zone_name="UTC",
                                               when=ResolvedTime(datetime.fromtimestamp(at, timezone.utc)))
                versions[f"{post_id}:{result.version}"] = at
                current[post_id] = result.version
            if time.time() > t0:
                raise RuntimeError("scheduling took longer than the lead time; raise ChaosConfig.lead")
            if sweepers:  # from here: while scheduling, they would only slow the writes down
                sweepers.start(app)

            # users acting on posts as they fall due
            chosen = rng.sample(post_ids, int(config.posts * (config.reschedule_share + config.unschedule_share)))
            n_re = int(config.posts * config.reschedule_share)
            plan = sorted(
                (versions[f"{p}:{current[p]}"] + rng.uniform(-0.3, 0.2), "reschedule" if i < n_re else "unschedule", p)
                for i, p in enumerate(chosen)
            )
            stop = threading.Event()

            def user_actions():
                with app.app_context():
                    for when, action, post_id in plan:
                        if stop.wait(max(0.0, when - time.time())):
                            return
                        with state_lock:
                            old = current[post_id]
                        try:
                            if action == "unschedule":
                                with_retries(partial(actions.unschedule_post, core, user_id=owner_of[post_id],
                                                     post_id=post_id))
                                with state_lock:
                                    cancelled[f"{post_id}:{old}"] = time.time()
                                    current[post_id] = old + 1
                                report.unschedules += 1
                            else:
                                at = time.time() + rng.uniform(1.0, 4.0)
                                result = with_retries(partial(
                                    actions.schedule_post, core, user_id=owner_of[post_id], post_id=post_id,
                                    when=ResolvedTime(datetime.fromtimestamp(at, timezone.utc)), zone_name="UTC"))
                                with state_lock:
                                    superseded[f"{post_id}:{old}"] = time.time()
                                    versions[f"{post_id}:{result.version}"] = at
                                    current[post_id] = result.version
                                report.reschedules += 1
                        except Conflict:
                            report.conflicts += 1  # already publishing/published: nothing changed

            def chaos_monkey():
                end = t0 + config.window + 1.0
                pg_at = t0 + config.window / 2 if config.pg_restart else None
                next_kill = time.time() + (rng.uniform(*config.kill_every) if config.kill_every else 1e12)
                while not stop.is_set() and time.time() < end:
                    if qstash:
                        qstash.misbehave()
                        qstash.recover()
                    elif time.time() >= next_kill:
                        workers.kill_one()
                        next_kill = time.time() + rng.uniform(*config.kill_every)
                    if pg_at and time.time() >= pg_at:
                        pg_restart()
                        report.pg_restarts += 1
                        pg_at = None
                    time.sleep(config.restart_after)
                    if not qstash:
                        workers.tend()

            threads = [threading.Thread(target=user_actions, daemon=True),
                       threading.Thread(target=chaos_monkey, daemon=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=config.window + config.lead + 60)
            stop.set()

            # settle: no more faults; dispatchers (or QStash and the sweep) finish what is left
            workers.chaos = False
            if qstash:
                qstash.behave()
            deadline = time.time() + config.settle_timeout
            while time.time() < deadline:
                if qstash:
                    qstash.recover()
                else:
                    workers.tend()
                pending = with_retries(lambda: _pending(db))
                if pending == 0:
                    break
                time.sleep(0.5)
            workers.stop()
            if sweepers:
                sweepers.close()
                sweepers = None
            time.sleep(0.5)
            report.record_failures = refused.count + sum(log.read_text().count("chaos: refused to record")
                                                         for log in workdir.glob("worker-*.log"))
            _evaluate(report, db, arrivals_path, versions, cancelled, superseded,
                      crashes_injected=config.backend == "local")
    finally:
        refused.__exit__(None, None, None)
        workers.chaos = False
        if sweepers:
            sweepers.close()
        if qstash:
            qstash.close()
        for proc in workers.procs.values():
            if proc.poll() is None:
                proc.kill()
        stop_process(receiver)
        with app.app_context():
            db.engine.dispose()
    report.duration_s = time.time() - started
    return report


def _pending(db) -> int:
    from sqlalchemy import func, select

    from webapp.models import Post

    db.session.rollback()
    return db.session.execute(
        select(func.count()).select_from(Post).where(Post.status.in_(("scheduled", "publishing")))
    ).scalar_one()


def _evaluate(report, db, arrivals_path, versions, cancelled, superseded, *, crashes_injected: bool) -> None:
    from sqlalchemy import select

    from webapp.models import Attempt, Post

    db.session.rollback()
    arrivals = [json.loads(line) for line in arrivals_path.read_text().splitlines() if line.strip()]
    rows = db.session.execute(select(Post)).scalars().all()
    recovered = {f"{a.post_id}:{a.schedule_version}" for a in
                 db.session.execute(select(Attempt).where(Attempt.trigger == "recovery")).scalars()}
    v = report.violations
    report.posts = len(rows)
    report.arrivals = len(arrivals)
    report.answers = dict(Counter(a["answer"] for a in arrivals))
    report.final = dict(Counter(r.status for r in rows))
    report.failed_kinds = dict(Counter(r.error_kind for r in rows if r.status == "failed"))

    # 1. nothing lost: every post ends published, failed with a reason, or (unscheduled) draft
    for r in rows:
        if r.status in ("scheduled", "publishing") or (r.status == "failed" and not r.error_message):
            v["lost"].append({"post": r.id, "status": r.status, "version": r.schedule_version})
        if r.status == "draft" and f"{r.id}:{r.schedule_version - 1}" not in cancelled:
            v["lost"].append({"post": r.id, "status": "draft without an unschedule"})

    effective = defaultdict(list)
    for a in arrivals:
        key, t = a["key"], a["t"]
        if key not in versions:
            v["unknown_key"].append(a)
            continue
        if t < versions[key] - 0.001:  # 3. never early
            v["early"].append({**a, "due": versions[key], "early_ms": round((versions[key] - t) * 1000, 1)})
        if key in cancelled and t > cancelled[key]:  # 4. cancel wins
            v["sent_after_unschedule"].append({**a, "cancelled_at": cancelled[key]})
        if key in superseded and t > superseded[key]:  # 5. latest wins
            v["stale_version_sent"].append({**a, "superseded_at": superseded[key]})
        if a["answer"] in EFFECTIVE:
            effective[key].append(a)

    # 2. never twice: only crash recovery may resend, with the same key. "recovery" attempts are
    #    claims taken over from a dispatcher that died; without injected crashes (the QStash run)
    #    no resend is excused.
    for key, sends in effective.items():
        if len(sends) > 1:
            if crashes_injected and key in recovered:
                report.crash_recovery_resends += len(sends) - 1
            else:
                v["duplicate_sends"].append({"key": key, "answers": [s["answer"] for s in sends]})

    # 2b. an unconfirmed post reached n8n at most once — counting every arrival n8n may have acted
    #     on (not the 429s and 503s it declined, which are retried by design) — unless its sender
    #     died and crash recovery resent it.
    reached = {key: len(sends) for key, sends in effective.items()}
    for r in rows:
        key = f"{r.id}:{r.schedule_version}"
        if r.status == "failed" and r.error_kind == "unconfirmed" and reached.get(key, 0) > 1 \
                and not (crashes_injected and key in recovered):
            v["unconfirmed_sent_twice"].append({"key": key, "arrivals": reached[key]})

    lateness = []
    for r in rows:
        if r.status != "published":
            continue
        key = f"{r.id}:{r.schedule_version}"
        ok = [a for a in effective.get(key, []) if a["answer"] in SUCCESS]
        if not ok:
            v["published_without_send"].append(key)
        else:
            lateness.append((ok[0]["t"] - versions[key]) * 1000)
    if lateness:
        lateness.sort()
        report.lateness_ms = {"p50": round(lateness[len(lateness) // 2], 1),
                              "p99": round(lateness[int(len(lateness) * 0.99) - 1], 1),
                              "max": round(lateness[-1], 1)}
