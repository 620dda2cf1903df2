"""The local dispatcher loop, end to end against a real HTTP receiver on loopback."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from webapp.dispatch import actions
from webapp.models import utcnow
from webapp.runtime import new_local_dispatcher
from webapp.timeutil import ResolvedTime

from .conftest import attempts_of, connect_linkedin, core_of, make_user, new_post, post_row, wait_until
from .receiver import Answer, Receiver

#: Seconds within which a due post must arrive: generous, so that a busy 2-core CI machine always
#: meets it. "Never early" is exact; how late posts are is measured in bench/lateness.py.
ARRIVES_WITHIN = 3


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def config_overrides(receiver):
    return {"N8N_WEBHOOK_URL": receiver.url, "N8N_TIMEOUT": 1.0, "DISPATCH_LEASE": 3.0,
            "SWEEP_INTERVAL": 0.5, "RETRY_BASE_DELAY": 0.2}


@pytest.fixture
def owner(app):
    user_id = make_user(app)
    connect_linkedin(app, user_id)
    return user_id


@pytest.fixture
def local(app):
    dispatcher = new_local_dispatcher(app).start()
    yield dispatcher
    dispatcher.stop(timeout=3)


def schedule_in(app, owner, seconds: float, content="post") -> tuple[str, int, float]:
    """Schedule a new post `seconds` ahead through the user action (which wakes the dispatcher)."""
    core = core_of(app)
    post_id = actions.create_post(core, user_id=owner, fields={"content": content})
    at = utcnow() + timedelta(seconds=seconds)
    result = actions.schedule_post(core, user_id=owner, post_id=post_id, when=ResolvedTime(at), zone_name="UTC")
    return post_id, result.version, at.timestamp()




def test_posts_due_in_1_to_3_seconds_arrive_once_in_order_never_early(app, owner, receiver, local):
    planned = {}
    for i in range(12):
        post_id, version, at = schedule_in(app, owner, 1 + i * 2 / 11, f"post {i}")
        planned[f"{post_id}:{version}"] = at
    arrivals = receiver.wait_for(len(planned), timeout=15)
    time.sleep(0.3)  # anything extra would show up now

    assert Counter(a.key for a in receiver.arrivals) == Counter(list(planned))  # each once
    lateness = [a.t - planned[a.key] for a in arrivals]
    assert min(lateness) >= 0, f"early by {-min(lateness):.4f} s"
    assert max(lateness) <= ARRIVES_WITHIN, f"late by {max(lateness):.3f} s"
    # due 0.18 s apart, so they go out in the order they were due
    assert [a.key for a in arrivals] == sorted(planned, key=planned.get)
    assert wait_until(lambda: all(post_row(app, k.split(":")[0]).status == "published" for k in planned))


def test_unschedule_while_the_dispatcher_sleeps_means_nothing_is_sent(app, owner, receiver, local):
    post_id, _, at = schedule_in(app, owner, 0.8)
    time.sleep(0.3)
    actions.unschedule_post(core_of(app), user_id=owner, post_id=post_id)
    time.sleep(at - time.time() + 0.5)
    assert receiver.arrivals == []
    assert post_row(app, post_id).status == "draft"


def test_reschedule_sends_only_the_new_version_at_the_new_time(app, owner, receiver, local):
    post_id, old, _ = schedule_in(app, owner, 0.5)
    new_at = utcnow() + timedelta(seconds=1.2)
    new = actions.schedule_post(core_of(app), user_id=owner, post_id=post_id, when=ResolvedTime(new_at),
                                zone_name="UTC").version
    [arrival] = receiver.wait_for(1, timeout=4)
    time.sleep(0.3)
    assert len(receiver.arrivals) == 1
    assert arrival.key == f"{post_id}:{new}" and new == old + 1
    assert 0 <= arrival.t - new_at.timestamp() <= ARRIVES_WITHIN


def test_publish_now_goes_out_at_once(app, owner, receiver, local):
    core = core_of(app)
    post_id = actions.create_post(core, user_id=owner, fields={"content": "now!"})
    started = time.time()
    actions.publish_now(core, user_id=owner, post_id=post_id, zone_name="UTC")
    [arrival] = receiver.wait_for(1, timeout=3)
    assert arrival.t - started < ARRIVES_WITHIN
    # the immediate send and the loop race for the claim; either may win, exactly one sends
    assert wait_until(lambda: len(attempts_of(app, post_id)) == 1)
    assert attempts_of(app, post_id)[0].trigger in ("manual", "local")
    time.sleep(0.2)
    assert len(receiver.arrivals) == 1


def test_a_schedule_made_by_another_process_is_noticed_without_a_wake_up(app, owner, receiver, local):
    time.sleep(0.2)  # the loop is asleep, waiting up to a second
    at = utcnow() + timedelta(seconds=1.5)
    post_id, version = new_post(app, owner, at=at)  # straight into the database: no wake-up
    [arrival] = receiver.wait_for(1, timeout=4)
    assert 0 <= arrival.t - at.timestamp() <= ARRIVES_WITHIN


def test_the_dispatcher_survives_a_hanging_webhook(app, owner, receiver, local):
    receiver.answer = lambda a: Answer(hang=3) if a.body.get("content") == "hangs" else Answer()
    hanging, _, _ = schedule_in(app, owner, 0.2, "hangs")
    fine, _, fine_at = schedule_in(app, owner, 0.6, "fine")
    arrivals = receiver.wait_for(2, timeout=4)
    assert [a.body["content"] for a in arrivals] == ["hangs", "fine"]
    assert arrivals[1].t - fine_at <= ARRIVES_WITHIN  # not held up by the hanging send
    assert wait_until(lambda: post_row(app, hanging).status == "failed", timeout=4)
    row = post_row(app, hanging)
    assert row.error_kind == "unconfirmed" and "no answer within 1 s" in row.error_message
    assert not local.stopped


def test_the_dispatcher_survives_a_send_that_raises(app, owner, receiver, local, monkeypatch):
    real_send = local.dispatcher.send
    calls = Counter()

    def flaky_send(claim, trigger):
        calls[claim.post_id] += 1
        if calls[claim.post_id] == 1 and claim.content == "unlucky":
            raise RuntimeError("boom")  # e.g. a bug, before anything was recorded
        return real_send(claim, trigger)

    monkeypatch.setattr(local.dispatcher, "send", flaky_send)
    unlucky, version, _ = schedule_in(app, owner, 0.2, "unlucky")
    schedule_in(app, owner, 0.4, "next")
    # the next post still goes out; the unlucky one is recovered after the lease (3 s) by the sweep,
    # with the same idempotency key
    arrivals = receiver.wait_for(2, timeout=8)
    assert sorted(a.body["content"] for a in arrivals) == ["next", "unlucky"]
    assert wait_until(lambda: post_row(app, unlucky).status == "published", timeout=3)
    assert [a.key for a in arrivals if a.body["content"] == "unlucky"] == [f"{unlucky}:{version}"]


def test_the_dispatcher_waits_out_a_database_outage(app, owner, receiver, local, monkeypatch, caplog):
    store = local.store
    real_claim_due = store.claim_due
    outage_until = time.monotonic() + 1.0

    def claim_due(**kwargs):
        if time.monotonic() < outage_until:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real_claim_due(**kwargs)

    monkeypatch.setattr(store, "claim_due", claim_due)
    post_id, _, at = schedule_in(app, owner, 0.3)
    [arrival] = receiver.wait_for(1, timeout=6)
    assert arrival.key.startswith(post_id)
    assert "cannot reach the database" in caplog.text
    assert not local.stopped


def test_a_receiver_that_refuses_then_recovers(app, owner, receiver, local):
    receiver.answer = lambda a: Answer(status=503, headers={"Retry-After": "0"}) \
        if len(receiver.arrivals) <= 2 else Answer(body={"linkedinPostUrn": "urn:li:share:5"})
    post_id, version, _ = schedule_in(app, owner, 0.1)
    assert wait_until(lambda: post_row(app, post_id).status == "published", timeout=8)
    assert receiver.keys() == [f"{post_id}:{version}"] * 3
    assert [a.outcome for a in attempts_of(app, post_id)] == ["retry", "retry", "published"]
    assert post_row(app, post_id).linkedin_post_urn == "urn:li:share:5"


def test_a_heartbeat_is_written(app, local):
    assert wait_until(lambda: core_of(app).store.health(now=utcnow())["heartbeat_at"] is not None, timeout=3)


def test_several_dispatchers_at_once_send_each_post_once(app, owner, receiver):
    dispatchers = [new_local_dispatcher(app).start() for _ in range(3)]
    try:
        planned = [schedule_in(app, owner, 0.5 + i * 0.02, f"p{i}") for i in range(40)]
        receiver.wait_for(40, timeout=20)
        time.sleep(0.5)
    finally:
        for d in dispatchers:
            d.stop(timeout=3)
    counts = Counter(receiver.keys())
    assert counts == Counter(f"{p}:{v}" for p, v, _ in planned)


def test_an_idle_dispatcher_sleeps_instead_of_polling_the_database(app, owner, local):
    """With nothing due, the loop wakes about once a second (IDLE_POLL) to notice schedules made by
    other processes; it never spins (a spinning loop held SQLite's write lock for everyone else)."""
    new_post(app, owner, at=utcnow() + timedelta(hours=1))
    before = local.loops
    time.sleep(2)
    assert local.loops - before <= 6


class _Started:
    def start(self):
        return self

    def stop(self, timeout=None):
        return True


def test_a_process_that_runs_the_dispatcher_freezes_its_startup_heap(app, monkeypatch):
    """gc.freeze() once the app is built: a full collection then no longer walks the app's
    long-lived objects and stalls the loop as a post falls due (docs/benchmarks.md, spread)."""
    from webapp import runtime

    froze = []
    monkeypatch.setattr(runtime.gc, "freeze", lambda: froze.append(True))
    monkeypatch.setattr(runtime, "new_local_dispatcher", lambda app: _Started())
    monkeypatch.setattr(runtime.atexit, "register", lambda *args: None)
    app.config.update(LOCAL_DISPATCHER="thread", SCHEDULER_BACKEND="local")
    runtime.maybe_start_in_process(app)
    assert froze == [True]
    app.config.update(LOCAL_DISPATCHER="off")
    runtime.maybe_start_in_process(app)
    assert froze == [True]  # a process that runs no dispatcher is left alone
