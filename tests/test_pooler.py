"""Postgres through PgBouncer in transaction mode (TEST_PGBOUNCER_URL), as behind Supabase's or
Neon's pooled URL: each transaction may run on another server connection, so a statement psycopg
prepared on one (after 5 runs) is missing on the next. The hot path breaks unless the app knows it
is behind such a pooler (DATABASE_POOLER, or the URL's port / host)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from webapp import create_app
from webapp.extensions import db
from webapp.models import utcnow

from .conftest import base_config, connect_linkedin, core_of, make_user, new_post

#: Only through PgBouncer (the database fixture's pgbouncer variant).
THROUGH_PGBOUNCER = pytest.param("pgbouncer", marks=pytest.mark.postgres)
pytestmark = [pytest.mark.pooler, pytest.mark.parametrize("database", [THROUGH_PGBOUNCER], indirect=True)]
THREADS, POSTS_EACH = 4, 8


@pytest.fixture
def config_overrides(receiver):
    return {"N8N_WEBHOOK_URL": receiver.url}


def dispatch_in_threads(app, sender_app=None, threads: int = THREADS, each: int = POSTS_EACH,
                        email: str = "ada@example.com") -> list[str]:
    """`threads` senders of `sender_app` at once, each dispatching `each` due posts (made by
    `app`): the claim, the fence and the record of each, the same statements again and again.
    Returns what each dispatch achieved."""
    owner = make_user(app, email=email)
    connect_linkedin(app, owner)
    now = utcnow()
    posts = [new_post(app, owner, f"post {i}", at=now, now=now - timedelta(seconds=1))
             for i in range(threads * each)]
    dispatcher, results = core_of(sender_app or app).dispatcher, []
    start = threading.Barrier(threads)

    def sender(mine):
        start.wait()
        for post_id, version in mine:
            try:
                results.append(dispatcher.dispatch_one(post_id, version, trigger="qstash").result)
            except Exception as exc:  # the claim's own statement failed
                results.append("prepared statement" if "prepared statement" in str(exc) else repr(exc))

    senders = [threading.Thread(target=sender, args=(posts[i::threads],)) for i in range(threads)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    return results


def test_without_the_pooler_setting_server_side_prepares_break_the_hot_path(app, database, tmp_path, receiver,
                                                                          caplog):
    """The failure the setting exists for: prepares on (DATABASE_POOLER=none) through PgBouncer;
    `app` (the fixture) migrated the database."""
    unpooled = create_app(base_config(tmp_path, database.url, N8N_WEBHOOK_URL=receiver.url, DATABASE_POOLER="none"))
    with unpooled.app_context():
        assert db.engine.raw_connection().driver_connection.prepare_threshold == 5
    # Enough runs that every pooled connection runs each statement more than 5 times (psycopg's
    # prepare threshold); PgBouncer hands transactions to its server connections in turn (CI's
    # scripts/pgbouncer.sh: round-robin, at least 4 open), as a busy pooler would.
    # Which server connection runs a transaction is PgBouncer's choice: a round can happen to keep
    # each client on one server connection, so up to five rounds are given to show the failure.
    seen = []
    for round_ in range(5):
        results = dispatch_in_threads(app, unpooled, threads=2, each=40, email=f"round{round_}@example.com")
        seen.append(set(results))
        # "… does not exist" / "… already exists": raised by a claim, or logged by a sender (fence, record)
        if "prepared statement" in results or 'prepared statement "_pg3_' in caplog.text:
            break
    assert "prepared statement" in results or 'prepared statement "_pg3_' in caplog.text, seen
    with unpooled.app_context():
        db.engine.dispose()


def test_a_pooled_url_turns_server_side_prepares_off_and_the_hot_path_works(app, receiver):
    """TEST_PGBOUNCER_URL's port is 6432: detected as a transaction-mode pooler."""
    with app.app_context():
        assert db.engine.raw_connection().driver_connection.prepare_threshold is None
    assert dispatch_in_threads(app) == ["published"] * THREADS * POSTS_EACH
    assert len(receiver.arrivals) == THREADS * POSTS_EACH
