#!/usr/bin/env python3
"""`flask worker`, with kill points: the process SIGKILLs itself with the given probabilities
right after a claim (before the webhook call) and right after the webhook answered (before the
outcome is recorded) — the two windows where a crash matters most. With --fail-record, writing
an outcome fails (as if the database restarted) with that probability, each time it is tried: the
dispatcher must hold the outcome and write it again, never drop it.

Usage: worker.py --kill-after-claim 0.02 --kill-after-send 0.02 --fail-record 0.1 --seed N
       (configuration from the environment)
"""
import argparse
import os
import random
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kill-after-claim", type=float, default=0.0)
    ap.add_argument("--kill-after-send", type=float, default=0.0)
    ap.add_argument("--fail-record", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)

    from sqlalchemy.exc import OperationalError

    from webapp import create_app
    from webapp.dispatch.dispatcher import Dispatcher
    from webapp.dispatch.store import Store
    from webapp.dispatch.webhook import WebhookClient
    from webapp.runtime import run_worker

    def die_with(probability):
        if probability and rng.random() < probability:
            os.kill(os.getpid(), signal.SIGKILL)

    real_send, real_post = Dispatcher.send, WebhookClient.send

    def send(self, claim, trigger):
        die_with(a.kill_after_claim)  # claimed, nothing sent yet
        return real_send(self, claim, trigger)

    def post(self, payload, key):
        result = real_post(self, payload, key)
        die_with(a.kill_after_send)  # n8n answered; the outcome is not recorded yet
        return result

    real_finish = Store._finish

    def finish(self, claim, record, values, *, this_claim_only):
        if a.fail_record and rng.random() < a.fail_record:
            print(f"chaos: refused to record an outcome of post {claim.post_id}", file=sys.stderr, flush=True)
            raise OperationalError("UPDATE posts", {}, Exception("chaos: the database is restarting"))
        return real_finish(self, claim, record, values, this_claim_only=this_claim_only)

    Dispatcher.send, WebhookClient.send, Store._finish = send, post, finish
    app = create_app()
    with app.app_context():
        run_worker(app, echo=lambda text: print(text, file=sys.stderr, flush=True))


if __name__ == "__main__":
    main()
