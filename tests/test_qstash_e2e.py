"""End to end on the QStash backend: the JSON API schedules a post, the real qstash SDK publishes
to the stand-in, the stand-in delivers a signed request to the real app on loopback at the post's
second, and the app sends it to n8n (the receiver). QStash misbehaving — duplicates, early or
out-of-order deliveries, cancelled messages that still arrive, failed publishes, lost messages —
never sends a post twice, early, or after it was cancelled, and never loses one."""

import math
import time
from datetime import datetime, timezone

import pytest

from webapp.timeutil import ceil_seconds

from .conftest import attempts_of, bearer, make_token, post_row
from .qstash_fixtures import (  # noqa: F401 (fixtures)
    CRON_SECRET, live, owner, qstash_app_config, receiver, served, standin, wait_until,
)


@pytest.fixture
def config_overrides(standin, live, receiver):
    return qstash_app_config(standin, live.url, receiver)


@pytest.fixture
def api(client, owner, app):
    headers = bearer(make_token(app, owner))

    class Api:
        def create(self, content="Hello LinkedIn") -> str:
            return client.post("/api/posts", json={"content": content}, headers=headers).json["id"]

        def schedule(self, post_id, at):
            return client.post(f"/api/posts/{post_id}/schedule", json={"scheduledAt": at.isoformat()},
                               headers=headers)

        def unschedule(self, post_id):
            return client.post(f"/api/posts/{post_id}/unschedule", headers=headers)

        def publish_now(self, post_id):
            return client.post(f"/api/posts/{post_id}/publish-now", headers=headers)

        def delete(self, post_id):
            return client.delete(f"/api/posts/{post_id}", headers=headers)

        def get(self, post_id):
            return client.get(f"/api/posts/{post_id}", headers=headers).json

        def recover(self):
            return client.get("/api/posts/recover", headers={"Authorization": f"Bearer {CRON_SECRET}"})

    return Api()


def soon(at_least: float):
    """The first instant `at_least` seconds ahead that lies 0.1 s before a whole second: it has a
    fraction, so rounding not_before up matters, and the test waits as little as it can."""
    return datetime.fromtimestamp(math.ceil(time.time() + at_least + 0.1) - 0.1, timezone.utc)


def settle(seconds: float = 0.3) -> None:
    """Give anything that should NOT happen the chance to happen."""
    time.sleep(seconds)


def test_a_scheduled_post_is_delivered_signed_at_its_second_and_published(app, served, standin, receiver, api):
    post_id, at = api.create(), soon(1.0)
    response = api.schedule(post_id, at)
    assert time.time() < at.timestamp(), "the test machine is too slow: the schedule call outlasted the lead"
    assert response.status_code == 200 and "warning" not in response.json
    message_id = response.json["messageId"]
    assert message_id and api.get(post_id)["qstashMessageId"] == message_id

    message = standin.messages[message_id]
    publish = standin.publishes[-1]
    assert message.destination == served.url + "/api/posts/dispatch"
    assert message.not_before == ceil_seconds(at) and message.retries == 3
    assert publish["headers"]["upstash-deduplication-id"] == f"{post_id}-1"
    assert publish["headers"]["upstash-timeout"] == "17s"  # N8N_TIMEOUT 2 s + connect 5 s + 10 s

    [arrival] = receiver.wait_for(1, timeout=4)
    assert arrival.key == f"{post_id}:1"
    assert at.timestamp() <= arrival.t <= ceil_seconds(at) + 5  # never early; how late: bench/qstash_path.py
    assert wait_until(lambda: post_row(app, post_id).status == "published")
    assert standin.wait_for(lambda: standin.deliveries_of(message_id), timeout=2)  # the answer reached QStash
    [delivery] = standin.deliveries_of(message_id)
    assert (delivery.status, delivery.retried) == (200, 0)
    assert [a.trigger for a in attempts_of(app, post_id)] == ["qstash"]


def test_publish_now_goes_out_at_once(app, served, standin, receiver, api):
    """At once, not at the next sweep (minutes away); bench/qstash_path.py measures how fast."""
    post_id = api.create()
    started = time.time()
    assert api.publish_now(post_id).json["messageId"]
    [arrival] = receiver.wait_for(1, timeout=10)
    assert arrival.t - started < 5
    assert wait_until(lambda: post_row(app, post_id).status == "published")


def test_an_unscheduled_post_is_never_sent_even_if_its_message_arrives(app, served, standin, receiver, api):
    at = soon(1.0)  # time for four API calls before it is due
    in_flight, cancel_fails = api.create("in flight"), api.create("cancel fails")
    in_flight_message = api.schedule(in_flight, at).json["messageId"]
    cancel_fails_message = api.schedule(cancel_fails, at).json["messageId"]
    standin.deliver_cancelled = True  # the cancel succeeds, but the message is already on its way
    assert api.unschedule(in_flight).status_code == 200
    standin.fail_cancel = 500  # QStash refuses the cancel
    assert api.unschedule(cancel_fails).status_code == 200  # whatever QStash said
    assert standin.cancels == [(in_flight_message, 200), (cancel_fails_message, 500)]
    for message_id in (in_flight_message, cancel_fails_message):  # both arrive anyway
        assert standin.wait_for(lambda: standin.deliveries_of(message_id), timeout=4)
        [delivery] = standin.deliveries_of(message_id)
        assert delivery.status == 200  # "ignored": nothing for QStash to retry
    settle()
    assert receiver.arrivals == []
    for post_id in (in_flight, cancel_fails):
        row = post_row(app, post_id)
        assert (row.status, row.qstash_message_id) == ("draft", None)


def test_deleting_a_scheduled_post_cancels_its_message(app, served, standin, receiver, api):
    post_id = api.create()
    message_id = api.schedule(post_id, soon(60)).json["messageId"]
    assert api.delete(post_id).status_code == 204
    assert standin.cancels == [(message_id, 200)] and standin.messages[message_id].state == "cancelled"


def test_after_a_reschedule_only_the_new_version_is_sent_even_out_of_order(app, served, standin, receiver, api):
    standin.deliver_cancelled = True  # the old message was already on its way
    standin.paused, standin.reverse = True, True  # then both arrive together, newest first
    post_id = api.create()
    old_id = api.schedule(post_id, soon(0.5)).json["messageId"]
    new_at = soon(0.7)
    new_id = api.schedule(post_id, new_at).json["messageId"]
    assert new_id != old_id and standin.cancels == [(old_id, 200)]
    time.sleep(max(0.0, ceil_seconds(new_at) - time.time()))
    standin.paused = False
    standin.wake()
    assert standin.wait_for(lambda: standin.deliveries_of(old_id) and standin.deliveries_of(new_id), timeout=4)
    settle()
    assert receiver.keys() == [f"{post_id}:2"]
    assert standin.deliveries_of(new_id)[0].t <= standin.deliveries_of(old_id)[0].t  # out of order
    assert post_row(app, post_id).status == "published"


def test_duplicate_deliveries_make_one_webhook_call(app, served, standin, receiver, api):
    standin.duplicate = True
    post_id = api.create()
    message_id = api.schedule(post_id, soon(0.3)).json["messageId"]
    assert standin.wait_for(lambda: len(standin.deliveries_of(message_id)) == 2, timeout=4)
    settle()
    assert receiver.keys() == [f"{post_id}:1"]
    assert sorted(d.status for d in standin.deliveries_of(message_id)) == [200, 200]
    assert len(attempts_of(app, post_id)) == 1


def test_an_early_delivery_is_not_sent_and_qstash_retries_at_the_time(app, served, standin, receiver, api):
    standin.early = 1.0  # QStash's clock (or a bug) delivers a second early
    post_id, at = api.create(), soon(0.3)
    message_id = api.schedule(post_id, at).json["messageId"]
    [arrival] = receiver.wait_for(1, timeout=5)
    assert arrival.t >= at.timestamp()  # never early
    assert standin.wait_for(lambda: len(standin.deliveries_of(message_id)) == 2, timeout=2)
    deliveries = standin.deliveries_of(message_id)
    assert [(d.status, d.retried) for d in deliveries] == [(503, 0), (200, 1)]
    # delivered at ceil(at) - 1 s: less than a second before `at`, so "come back in 1 s"
    assert deliveries[0].retry_after == "1"
    assert [a.outcome for a in attempts_of(app, post_id)] == ["published"]  # the early one tried nothing


def test_a_failed_publish_still_gets_the_post_out_through_the_safety_net(app, served, standin, receiver, api):
    standin.fail_publish = 500
    post_id, at = api.create(), soon(1.2)
    response = api.schedule(post_id, at)
    assert response.status_code == 200
    assert response.json["messageId"] is None and "safety net" in response.json["warning"]
    row = post_row(app, post_id)
    assert (row.status, row.qstash_message_id) == ("scheduled", None)

    standin.fail_publish = None  # QStash is back; the 5-minute schedule runs the sweep
    assert api.recover().json == {"recovered": 0, "failed": 0, "enqueued": 1, "total": 1}
    assert time.time() < at.timestamp(), "the test machine is too slow: the calls outlasted the lead"
    assert post_row(app, post_id).qstash_message_id is not None
    [arrival] = receiver.wait_for(1, timeout=4)
    assert at.timestamp() <= arrival.t <= ceil_seconds(at) + 5  # never early, still at its time


def test_a_message_qstash_never_delivers_is_sent_by_the_sweep(app, served, standin, receiver, api):
    standin.drop = True  # accepted, then lost
    post_id, at = api.create(), soon(0.3)
    assert api.schedule(post_id, at).json["messageId"]
    time.sleep(max(0.0, at.timestamp() - time.time()) + 0.1)
    assert api.recover().json == {"recovered": 1, "failed": 0, "enqueued": 0, "total": 1}
    assert receiver.keys() == [f"{post_id}:1"]
    assert [a.trigger for a in attempts_of(app, post_id)] == ["sweep"]
