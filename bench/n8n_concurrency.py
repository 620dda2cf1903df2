#!/usr/bin/env python3
"""How many webhook calls in flight a real n8n serves well: the evidence behind the default
DISPATCH_CONCURRENCY.

Sends real post payloads through Punctual's own webhook client (webapp/dispatch/webhook.py, the
one the dispatcher uses) to the shipped workflow on a real n8n, which posts each to the fake
LinkedIn of scripts/n8n-e2e.sh. For each level of concurrency C it sends max(--calls, 3·C) posts
with C threads and prints calls/s, the call's p50/p99/max, and what did not answer 2xx. At the
end it checks that the fake LinkedIn received every answered post exactly once.

Run inside scripts/n8n-e2e.sh, which installs and starts n8n and the fake:
  N8N_E2E_DIR=~/.cache/punctual-n8n FAKE_LINKEDIN_DELAY_MS=300 \\
    N8N_E2E_COMMAND=".venv/bin/python bench/n8n_concurrency.py" bash scripts/n8n-e2e.sh
Options (N8N_BENCH_ARGS is not read; pass them in N8N_E2E_COMMAND): --levels 1 4 16 32 64 128,
--calls 60.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preflight import fail  # noqa: E402

SCRIPT = "bench/n8n_concurrency.py"
PERSON = "urn:li:person:E2eAda42"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1))]


def level(client, concurrency: int, calls: int, run_id: str) -> dict:
    """`calls` posts through `concurrency` threads; each thread takes the next post until none is left."""
    lock = threading.Lock()
    todo = iter(range(calls))
    durations: list[float] = []
    kinds: Counter[str] = Counter()

    def worker() -> None:
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            key = f"bench-{run_id}-{concurrency}-{n}"
            payload = {"postId": str(uuid.uuid4()), "userId": 1, "accessToken": "bench-token",
                       "personUrn": PERSON, "content": f"Concurrency bench {run_id} C={concurrency} #{n}",
                       "imageUrl": None, "scheduledAt": "2026-12-03T09:00:00Z", "idempotencyKey": key}
            started = time.perf_counter()
            result = client.send(payload, key)
            took = time.perf_counter() - started
            with lock:
                durations.append(took)
                kinds["2xx" if result.kind == "answered" and 200 <= (result.status or 0) < 300
                      else f"{result.kind} {result.status or ''}".strip()] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, "calls": calls, "wall_s": round(wall, 2),
            "calls_per_s": round(calls / wall, 1),
            "p50_ms": round(1000 * statistics.median(durations)),
            "p99_ms": round(1000 * percentile(durations, 0.99)), "max_ms": round(1000 * max(durations)),
            "answers": dict(kinds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16, 32, 64, 128])
    ap.add_argument("--calls", type=int, default=60, help="posts per level, at least 3 per thread")
    args = ap.parse_args()
    for name in ("N8N_WEBHOOK_URL", "N8N_WEBHOOK_AUTH_HEADER", "N8N_WEBHOOK_SECRET", "FAKE_LINKEDIN"):
        if not os.environ.get(name):
            fail(SCRIPT, f"{name} is not set: run this inside scripts/n8n-e2e.sh (see --help)")
    import requests

    from webapp.dispatch.webhook import WebhookClient

    client = WebhookClient(os.environ["N8N_WEBHOOK_URL"], auth_header=os.environ["N8N_WEBHOOK_AUTH_HEADER"],
                           secret=os.environ["N8N_WEBHOOK_SECRET"], read_timeout=30.0)
    fake = os.environ["FAKE_LINKEDIN"]
    run_id = uuid.uuid4().hex[:8]
    before = len(requests.get(f"{fake}/_calls", timeout=10).json()["posts"])
    rows = []
    for concurrency in args.levels:
        row = level(client, concurrency, max(args.calls, 3 * concurrency), run_id)
        rows.append(row)
        print(json.dumps(row), flush=True)
    posts = requests.get(f"{fake}/_calls", timeout=10).json()["posts"][before:]
    texts = Counter(p["commentary"] for p in posts)
    answered = sum(r["answers"].get("2xx", 0) for r in rows)
    twice = sum(1 for n in texts.values() if n > 1)
    print(f"\nLinkedIn (fake) received {len(posts)} posts for {answered} answered 2xx; {twice} twice")
    print("\n| C | calls | calls/s | p50 ms | p99 ms | max ms | not 2xx |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        bad = {k: v for k, v in r["answers"].items() if k != "2xx"}
        print(f"| {r['concurrency']} | {r['calls']} | {r['calls_per_s']} | {r['p50_ms']} | {r['p99_ms']} | "
              f"{r['max_ms']} | {sum(bad.values())} {json.dumps(bad) if bad else ''} |")
    if twice or len(posts) != answered:
        sys.exit(1)


if __name__ == "__main__":
    main()
