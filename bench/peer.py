#!/usr/bin/env python3
"""The peer a user would pick instead of Punctual: APScheduler 3 date jobs posting to the webhook.

Schedules --n posts at one instant --lead seconds ahead (a burst) or spread evenly over --spread
seconds from then, each job one POST of {postId, content} to --url (requests, a new connection
per call, 30 s timeout), in APScheduler's BackgroundScheduler with its defaults: in-memory job
store (or --jobstore, a SQLAlchemy URL) and a pool of 10 threads. Writes the plan
(postId -> planned epoch seconds) to --plan for bench/analyse.py, waits until every job ran,
and exits.

Usage: python bench/peer.py --url http://127.0.0.1:PORT/webhook --plan plan.json [--n 1000]
                            [--lead 5] [--spread 0] [--jobstore sqlite:///jobs.db] [--prefix aps]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.preflight import need_modules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--lead", type=float, default=5.0)
    ap.add_argument("--spread", type=float, default=0.0)
    ap.add_argument("--jobstore", default=None)
    ap.add_argument("--prefix", default="aps")
    a = ap.parse_args()
    need_modules("bench/peer.py", "apscheduler", "requests")

    import requests
    from apscheduler.schedulers.background import BackgroundScheduler

    def send(url: str, post_id: str) -> None:
        requests.post(url, json={"postId": post_id, "content": "x"}, timeout=30)

    stores = {}
    if a.jobstore:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        stores["default"] = SQLAlchemyJobStore(url=a.jobstore)
    scheduler = BackgroundScheduler(jobstores=stores, timezone=timezone.utc)
    scheduler.start()
    t0 = time.time() + a.lead
    plan = {}
    for i in range(a.n):
        at = t0 + (a.spread * i / max(1, a.n - 1) if a.spread else 0)
        post_id = f"{a.prefix}-{i}"
        plan[post_id] = at
        scheduler.add_job(send, "date", run_date=datetime.fromtimestamp(at, timezone.utc),
                          args=[a.url, post_id], id=post_id, misfire_grace_time=3600)
    if time.time() > t0:
        raise SystemExit("bench/peer.py: scheduling took longer than --lead; raise --lead.")
    Path(a.plan).write_text(json.dumps(plan))
    end = max(plan.values())
    while time.time() < end + 2 or scheduler.get_jobs():
        time.sleep(0.2)
        if time.time() > end + 300:
            break
    time.sleep(1)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main()
