"""Never twice, even when n8n is slow: one regression test for each way a post could reach n8n
twice or lose its verdict (issue 11). Each fails on the code before the fix:

1. a sweep claimed a whole batch and sent it a few at a time, so queued claims aged past the lease
   and another sweeper took them over and sent them too;
2. a sender did not check, right before the call, that its claim was still the current one;
3. a call was bounded per read, not as a whole (tests/test_webhook.py: the dribbled answer and the
   hanging name lookup; tests/test_config.py: the lease check);
4. an outcome the database refused was dropped, and the lease then resent an unconfirmed post;
5. a Retry-After that overflowed aborted the whole sweep.
"""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from webapp.dispatch import dispatcher as dispatcher_module
from webapp.models import utcnow

from .conftest import attempts_of, connect_linkedin, core_of, make_user, new_post, post_row, wait_until
from .receiver import Answer, Receiver

SEC = timedelta(seconds=1)


@pytest.fixture
def n8n():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def config_overrides(n8n):
    return {"N8N_WEBHOOK_URL": n8n.url, "N8N_TIMEOUT": 2.0, "DISPATCH_CONCURRENCY": 1, "DISPATCH_LEASE": 60.0}


@pytest.fixture
def owner(app):
    user_id = make_user(app)
    connect_linkedin(app, user_id)
    return user_id


@pytest.fixture
def dispatcher(app):
    return core_of(app).dispatcher


def due_posts(app, owner, count: int) -> list[tuple[str, int]]:
    now = utcnow()
    return [new_post(app, owner, f"post {i}", at=now - SEC, now=now - 10 * SEC) for i in range(count)]


def statuses(app, posts) -> list[str]:
    return [post_row(app, post_id).status for post_id, _ in posts]


class Gate:
    """A webhook answer that waits until the test opens the gate."""

    def __init__(self):
        self.opened = threading.Event()

    def __call__(self, arrival) -> Answer:
        self.opened.wait(20)
        return Answer(body={"urn": "urn:li:share:1"})


# ---------------------------------------------------------------- 1. no queue of claims


def test_a_sweep_claims_no_more_posts_than_it_has_free_senders(app, owner, dispatcher, n8n):
    posts = due_posts(app, owner, 3)
    n8n.answer = gate = Gate()
    sweep = threading.Thread(target=dispatcher.sweep)
    sweep.start()
    try:
        assert n8n.wait_for(1, timeout=10)
        # one sender (DISPATCH_CONCURRENCY=1) is busy with one post: the others are not claimed
        assert sorted(statuses(app, posts)) == ["publishing", "scheduled", "scheduled"]
    finally:
        gate.opened.set()
        sweep.join(30)
    assert statuses(app, posts) == ["published"] * 3
    assert sorted(n8n.keys()) == sorted(f"{p}:{v}" for p, v in posts)


def test_publish_now_with_every_sender_busy_waits_for_one_unclaimed(app, owner, n8n):
    from webapp.runtime import new_local_dispatcher

    n8n.answer = gate = Gate()
    [(busy_id, _)] = due_posts(app, owner, 1)
    local = new_local_dispatcher(app).start()
    try:
        assert n8n.wait_for(1, timeout=10)
        [(post_id, version)] = due_posts(app, owner, 1)
        local.submit_one(post_id, version, "manual")  # no free sender: left for the loop, unclaimed
        assert post_row(app, post_id).status == "scheduled"
        gate.opened.set()
        assert wait_until(lambda: post_row(app, post_id).status == "published", timeout=15)
    finally:
        gate.opened.set()
        local.stop(timeout=5)
    assert sorted(n8n.keys()) == sorted([f"{busy_id}:1", f"{post_id}:{version}"])


# ---------------------------------------------------------------- 2. a fence before every send


def test_a_claim_taken_over_before_the_call_is_not_sent_and_records_nothing(app, owner, dispatcher, n8n):
    [(post_id, version)] = due_posts(app, owner, 1)
    store = core_of(app).store
    mine = store.claim(post_id=post_id, version=version, now=utcnow())
    # the lease ran out while this claim waited (say, the process was stopped): a sweeper took over
    [theirs] = store.reclaim_stale(now=utcnow() + 61 * SEC, lease=60, limit=10)

    outcome = dispatcher.send(mine, "sweep")

    assert (outcome.result, outcome.reason) == ("ignored", "taken_over")
    assert n8n.arrivals == [] and attempts_of(app, post_id) == []
    row = post_row(app, post_id)
    assert (row.status, row.attempt_count) == ("publishing", theirs.attempt)
    assert dispatcher.send(theirs, "sweep").result == "published"
    assert n8n.keys() == [f"{post_id}:{version}"]


def test_the_fence_restarts_the_lease(app, owner, dispatcher, n8n):
    post_id, version = new_post(app, owner, at=utcnow() - 120 * SEC, now=utcnow() - 180 * SEC)
    store = core_of(app).store
    claim = store.claim(post_id=post_id, version=version, now=utcnow() - 59 * SEC)  # almost expired
    assert store.fence(claim, now=utcnow())
    assert store.reclaim_stale(now=utcnow() + 30 * SEC, lease=60, limit=10) == []


# ---------------------------------------------------------------- 4. no lost verdicts


class FakeClock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def test_an_outcome_the_database_refuses_is_held_and_the_lease_renewed_until_it_is_written(
        app, owner, dispatcher, n8n, monkeypatch):
    n8n.answer = Answer(status=500, body="LinkedIn timed out")  # unconfirmed: must never be resent
    [(post_id, version)] = due_posts(app, owner, 1)
    store, lease = core_of(app).store, dispatcher.settings.lease
    clock = FakeClock()
    monkeypatch.setattr(dispatcher, "clock", clock)
    refusals, sweeps = [3], []

    real_fail = store.fail

    def fail(*args, **kwargs):
        if refusals[0]:
            refusals[0] -= 1
            raise OperationalError("UPDATE posts", {}, Exception("server closed the connection"))
        return real_fail(*args, **kwargs)

    def sleep(seconds):
        clock.now += timedelta(seconds=lease * 0.6)  # long waits: the lease would run out twice over
        sweeps.append(store.reclaim_stale(now=clock.now, lease=lease, limit=10))

    monkeypatch.setattr(store, "fail", fail)
    monkeypatch.setattr(dispatcher, "sleep", sleep)

    outcome = dispatcher.dispatch_one(post_id, version, "qstash")

    assert (outcome.result, outcome.reason) == ("failed", "unconfirmed")
    assert sweeps == [[], [], []]  # three sweeps while the verdict was held: none took it over
    row = post_row(app, post_id)
    assert (row.status, row.error_kind) == ("failed", "unconfirmed")
    assert len(n8n.arrivals) == 1
    assert [a.outcome for a in attempts_of(app, post_id)] == ["unconfirmed"]


def test_a_try_that_breaks_before_the_call_leaves_the_post_to_the_lease(app, owner, dispatcher, n8n, monkeypatch):
    [(post_id, version)] = due_posts(app, owner, 1)

    def down(*args, **kwargs):
        raise OperationalError("UPDATE posts", {}, Exception("server closed the connection"))

    monkeypatch.setattr(core_of(app).store, "fence", down)
    outcome = dispatcher.dispatch_one(post_id, version, "qstash")
    assert (outcome.result, outcome.reason) == ("error", "internal")
    assert n8n.arrivals == [] and post_row(app, post_id).status == "publishing"


def test_an_answer_that_cannot_be_classified_is_unconfirmed_never_resent(app, owner, dispatcher, n8n, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(dispatcher_module, "decide", broken)
    [(post_id, version)] = due_posts(app, owner, 1)
    outcome = dispatcher.dispatch_one(post_id, version, "qstash")
    assert (outcome.result, outcome.reason) == ("failed", "unconfirmed")
    assert "could not be read" in post_row(app, post_id).error_message and len(n8n.arrivals) == 1


# ---------------------------------------------------------------- 5. one bad answer never aborts a sweep


@pytest.mark.parametrize("retry_after", ["99999999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "²", "soon"])
def test_an_absurd_retry_after_is_a_normal_retry_and_the_sweep_goes_on(app, owner, dispatcher, n8n, retry_after):
    posts = due_posts(app, owner, 3)
    first = f"{posts[0][0]}:{posts[0][1]}"
    n8n.answer = lambda arrival: (Answer(status=429, headers={"Retry-After": retry_after})
                                  if arrival.key == first else Answer())
    report = dispatcher.sweep()
    assert report.recovered == 3
    declined = post_row(app, posts[0][0])
    assert (declined.status, declined.error_kind) == ("scheduled", "retrying")
    delay = (declined.next_attempt_at - utcnow()).total_seconds()
    assert 0 < delay <= app.config["RETRY_MAX_DELAY"]
    assert statuses(app, posts[1:]) == ["published", "published"]
