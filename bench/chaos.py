#!/usr/bin/env python3
"""The large fault-injection run: `bench/chaos.py --posts 2000`.

Same harness as the CI-sized test (tests/chaos/harness.py): several users and local dispatcher
processes, SIGKILLs at random moments and inside claim→send and send→record, webhook faults
(500, 503 + Retry-After, 429, 400, hangs past the timeout, dropped connections, a slow but alive
n8n, a dribbling one), outcome writes the database refuses, extra sweepers (a `flask recover`
loop and recover-endpoint calls), users rescheduling and unscheduling posts as they fall due, and
optionally a Postgres restart. Prints the report and exits 1 if any invariant was broken.

Usage:
  .venv/bin/python bench/chaos.py --posts 2000 [--window 60] [--workers 4] [--users 10]
      [--database-url postgresql://postgres@127.0.0.1:5432/test --pg-restart] [--seed 1]
  .venv/bin/python bench/chaos.py --posts 1000 --backend qstash   # the QStash path, through the stand-in
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos.harness import ChaosConfig, run  # noqa: E402


def main() -> None:
    defaults = ChaosConfig()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--window", type=float, default=60.0, help="seconds over which the posts fall due")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rates", default=defaults.rates)
    ap.add_argument("--kill-every", type=float, nargs=2, default=list(defaults.kill_every))
    ap.add_argument("--database-url", default=None, help="Postgres URL (a fresh schema is used); default SQLite")
    ap.add_argument("--pg-restart", action="store_true", help="restart PostgreSQL mid-run (needs root)")
    ap.add_argument("--fail-record", type=float, default=defaults.fail_record,
                    help="probability that writing an outcome fails (it must be held and retried)")
    ap.add_argument("--no-sweepers", action="store_true", help="no `flask recover` loop or recover-endpoint calls")
    ap.add_argument("--recover-every", type=float, default=defaults.recover_every)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", choices=["local", "qstash"], default="local",
                    help="qstash: alarms through the QStash stand-in (duplicated, reordered, late, early, "
                         "dropped deliveries; cancels that fail) instead of SIGKILLed local dispatchers")
    a = ap.parse_args()

    drop = None
    database_url = None
    if a.database_url:
        from tests.conftest import make_postgres_schema
        database_url, drop = make_postgres_schema(a.database_url, "punctual_chaos_bench")
    try:
        with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
            qstash = a.backend == "qstash"
            config = ChaosConfig(posts=a.posts, users=a.users, window=a.window, workers=a.workers, rates=a.rates,
                                 kill_every=None if qstash else tuple(a.kill_every), database_url=database_url,
                                 pg_restart=a.pg_restart, seed=a.seed, backend=a.backend,
                                 fail_record=a.fail_record, sweepers=not a.no_sweepers,
                                 recover_every=a.recover_every,
                                 # each QStash schedule is an HTTP round trip to the stand-in
                                 lead=max(8.0, a.posts / (15 if qstash else 40)), settle_timeout=240)
            report = run(config, Path(tmp))
    finally:
        if drop:
            drop()
    print(report.summary())
    if not report.ok:
        print(json.dumps({k: v[:10] for k, v in report.violations.items() if v}, indent=1, default=str))
        sys.exit(1)


if __name__ == "__main__":
    main()
