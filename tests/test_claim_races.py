"""Never twice: concurrent alarms for the same post — threads and separate processes — lead to
exactly one webhook call per post version."""

import multiprocessing
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from webapp.models import utcnow

from .conftest import base_config, connect_linkedin, core_of, make_user, new_post
from .receiver import Answer, Receiver

#: Also through PgBouncer in transaction mode, as behind a pooled URL (TEST_PGBOUNCER_URL).
pytestmark = pytest.mark.pooler

POSTS = 30


@pytest.fixture
def receiver():
    with Receiver() as r:
        r.answer = Answer(delay=0.01)
        yield r


@pytest.fixture
def config_overrides(receiver):
    return {"N8N_WEBHOOK_URL": receiver.url}


@pytest.fixture
def due_posts(app):
    owner = make_user(app)
    connect_linkedin(app, owner)
    now = utcnow()
    return [new_post(app, owner, f"post {i}", at=now - timedelta(milliseconds=10), now=now - timedelta(seconds=1))
            for i in range(POSTS)]


def arrivals_per_key(receiver) -> Counter:
    return Counter(receiver.keys())


def test_threads_racing_on_the_same_posts_send_each_once(app, receiver, due_posts):
    dispatcher = core_of(app).dispatcher
    barrier = threading.Barrier(8)
    results = []

    def alarm():
        barrier.wait()
        for post_id, version in due_posts:
            results.append(dispatcher.dispatch_one(post_id, version, "qstash").result)

    threads = [threading.Thread(target=alarm) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Counter(results)["published"] == POSTS
    counts = arrivals_per_key(receiver)
    assert len(counts) == POSTS and set(counts.values()) == {1}


def test_threads_racing_on_batch_claims_send_each_once(app, receiver, due_posts):
    dispatcher = core_of(app).dispatcher
    barrier = threading.Barrier(6)
    threads = [threading.Thread(target=lambda: (barrier.wait(), dispatcher.dispatch_due())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = arrivals_per_key(receiver)
    assert len(counts) == POSTS and set(counts.values()) == {1}


def _race_in_a_process(config: dict, posts: list, start_at: float, mode: str) -> None:
    """Run in a child process: build the app on the same database and fire alarms at start_at."""
    from webapp import create_app

    app = create_app(config)
    with app.app_context():
        dispatcher = app.extensions["punctual"].dispatcher
        time.sleep(max(0.0, start_at - time.time()))
        if mode == "one":
            for post_id, version in posts:
                dispatcher.dispatch_one(post_id, version, "qstash")
        else:
            dispatcher.dispatch_due()


@pytest.mark.parametrize("mode", ["one", "due"])
def test_processes_racing_on_the_same_posts_send_each_once(app, receiver, due_posts, database, tmp_path, mode):
    config = base_config(tmp_path, database.url, N8N_WEBHOOK_URL=receiver.url)
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 2.5  # all children start their alarms at the same instant
    children = [context.Process(target=_race_in_a_process, args=(config, due_posts, start_at, mode))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
    assert [child.exitcode for child in children] == [0, 0, 0]
    counts = arrivals_per_key(receiver)
    assert len(counts) == POSTS and set(counts.values()) == {1}
