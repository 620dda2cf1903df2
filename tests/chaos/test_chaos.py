"""The CI-sized chaos run, on SQLite and on Postgres: 200 posts, 3 users, 3 dispatcher processes,
SIGKILLs, webhook faults (errors, hangs, dropped connections, a slow n8n, a dribbling one),
outcome writes the database refuses, extra sweepers (`flask recover`, the recover endpoint), users
rescheduling and unscheduling as posts fall due, and (Postgres, in CI or with CHAOS_PG_RESTART=1)
the database restarted mid-run. Then every invariant is checked.
The large run is `bench/chaos.py --posts 2000`."""

import json
import os

import pytest

from ..conftest import IN_CI, make_postgres_schema, need
from .harness import ChaosConfig, run

RESTART_POSTGRES = IN_CI or os.environ.get("CHAOS_PG_RESTART") == "1"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.exclusive)])
def chaos_database(request):
    if request.param == "sqlite":
        yield None, False  # the harness makes a fresh SQLite file
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        need("TEST_DATABASE_URL is not set, so the chaos run cannot use Postgres.")
    url, drop = make_postgres_schema(base, "punctual_chaos")
    yield url, RESTART_POSTGRES
    drop()


@pytest.mark.slow
def test_qstash_chaos_run_keeps_every_invariant(chaos_database, tmp_path):
    """QStash delivering twice, out of order, late, early, not at all, and cancels that fail or
    arrive anyway; n8n misbehaving; users acting as posts fall due; the sweep catching up."""
    database_url, _ = chaos_database
    # each schedule publishes a QStash message (an HTTP round trip), so scheduling takes longer
    report = run(ChaosConfig(posts=150, backend="qstash", database_url=database_url, kill_every=None,
                             window=12.0, lead=12.0), tmp_path)
    print(report.summary())
    assert report.ok, report.summary() + "\n" + json.dumps(
        {name: items[:5] for name, items in report.violations.items() if items}, indent=1, default=str)
    faults = {"duplicate", "late", "early", "drop", "reorder", "fail_cancel", "deliver_cancelled"}
    assert faults <= set(report.qstash_faults)
    assert report.recover_calls >= 3 and report.reschedules > 0 and report.unschedules > 0
    assert report.record_failures > 0 and {"slow", "dribble"} <= set(report.answers)
    assert report.final.get("published", 0) > 80


@pytest.mark.slow
def test_chaos_run_keeps_every_invariant(chaos_database, tmp_path):
    database_url, restart_postgres = chaos_database
    report = run(ChaosConfig(posts=200, database_url=database_url, pg_restart=restart_postgres), tmp_path)
    print(report.summary())

    assert report.ok, report.summary() + "\n" + json.dumps(
        {name: items[:5] for name, items in report.violations.items() if items}, indent=1, default=str)
    # the faults really happened (a run without them would prove nothing)
    assert report.kills + report.self_kills >= 3
    assert {"500", "503", "429", "400", "hang", "drop", "slow", "dribble"} <= set(report.answers)
    assert report.record_failures > 0 and report.cli_recovers > 0 and report.recover_calls > 0
    assert report.reschedules > 0 and report.unschedules > 0
    assert report.final.get("published", 0) > 100
    assert report.posts == 200
    if restart_postgres:
        assert report.pg_restarts == 1


@pytest.mark.slow
def test_a_slow_n8n_with_several_sweepers_sends_each_post_once(chaos_database, tmp_path):
    """Issue 11's scenario: 40 posts due in the same second, one worker with 2 senders, an n8n that
    answers every call correctly after 1.5 s, and `flask recover` and the recover endpoint every 2 s
    beside it. Before the fence and the end of queued claims, 26 of the 40 reached n8n twice."""
    database_url, _ = chaos_database
    report = run(ChaosConfig(posts=40, users=2, window=0.0, workers=1, concurrency=2, rates="slow=1.0",
                             slow_s=(1.5, 1.5), kill_every=None, kill_after_claim=0.0, kill_after_send=0.0,
                             fail_record=0.0, reschedule_share=0.0, unschedule_share=0.0, n8n_timeout=4.0,
                             lease=15.0, recover_every=2.0, database_url=database_url), tmp_path)
    print(report.summary())
    assert report.ok, report.summary() + "\n" + json.dumps(
        {name: items[:5] for name, items in report.violations.items() if items}, indent=1, default=str)
    assert report.final == {"published": 40} and report.arrivals == 40  # each reached n8n once
    assert report.cli_recovers >= 1 and report.recover_calls >= 1
