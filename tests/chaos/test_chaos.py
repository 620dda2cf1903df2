"""The CI-sized chaos run, on SQLite and on Postgres: 200 posts, 3 users, 3 dispatcher processes,
SIGKILLs, webhook faults, users rescheduling and unscheduling as posts fall due, and (Postgres,
in CI or with CHAOS_PG_RESTART=1) the database restarted mid-run. Then every invariant is checked.
The large run is `bench/chaos.py --posts 2000`."""

import json
import os

import pytest

from ..conftest import IN_CI, make_postgres_schema, need
from .harness import ChaosConfig, run

RESTART_POSTGRES = IN_CI or os.environ.get("CHAOS_PG_RESTART") == "1"


@pytest.fixture(params=["sqlite", "postgres"])
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
    assert {"duplicate", "late", "early", "drop", "reorder", "fail_cancel", "deliver_cancelled"} <= set(report.qstash_faults)
    assert report.recover_calls >= 3 and report.reschedules > 0 and report.unschedules > 0
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
    assert {"500", "503", "429", "400", "hang", "drop"} <= set(report.answers)
    assert report.reschedules > 0 and report.unschedules > 0
    assert report.final.get("published", 0) > 100
    assert report.posts == 200
    if restart_postgres:
        assert report.pg_restarts == 1
