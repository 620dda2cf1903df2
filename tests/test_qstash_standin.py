"""The QStash stand-in itself behaves as the reference says, seen through the real SDK — so the
tests that rely on it test the app against QStash's protocol, not against the stand-in's quirks."""

import json
import time

import pytest
from qstash import QStash, Receiver as SignatureReceiver
from qstash.errors import QStashError

from .qstash_standin import CURRENT_KEY, NEXT_KEY, TOKEN
from .qstash_fixtures import receiver, standin  # noqa: F401 (fixtures)
from .receiver import Answer


@pytest.fixture
def target(receiver):
    """Where the stand-in delivers (the app's place in production)."""
    return receiver


@pytest.fixture
def sdk(standin):
    return QStash(TOKEN, base_url=standin.url, retry=False)


def test_a_message_arrives_at_not_before_signed_for_its_url_and_body(standin, target, sdk):
    not_before = int(time.time()) + 1
    result = sdk.message.publish_json(url=target.url, body={"postId": "p", "version": 1},
                                      not_before=not_before, headers={"X-Extra": "forwarded"})
    [arrival] = target.wait_for(1, timeout=3)
    assert arrival.t >= not_before
    headers = arrival.headers
    assert headers["Upstash-Message-Id"] == result.message_id and headers["Upstash-Retried"] == "0"
    assert headers["X-Extra"] == "forwarded" and headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Upstash-QStash"
    body = json.dumps({"postId": "p", "version": 1})
    SignatureReceiver(CURRENT_KEY, NEXT_KEY).verify(signature=headers["Upstash-Signature"], body=body,
                                                    url=target.url)


def test_a_duplicate_publish_answers_202_with_the_existing_message(standin, sdk, target):
    first = sdk.message.publish_json(url=target.url, body={}, not_before=int(time.time()) + 60,
                                     deduplication_id="post-1")
    again = sdk.message.publish_json(url=target.url, body={}, not_before=int(time.time()) + 60,
                                     deduplication_id="post-1")
    assert (again.message_id, again.deduplicated, first.deduplicated) == (first.message_id, True, False)
    assert [p["status"] for p in standin.publishes] == [200, 202] and len(standin.messages) == 1


def test_cancel_answers_404_for_unknown_and_delivered_messages(standin, sdk, target):
    pending = sdk.message.publish_json(url=target.url, body={}, not_before=int(time.time()) + 60)
    sdk.message.cancel(pending.message_id)
    with pytest.raises(QStashError, match="404"):
        sdk.message.cancel("msg_unknown")
    delivered = sdk.message.publish_json(url=target.url, body={})
    assert standin.wait_for(lambda: standin.messages[delivered.message_id].state == "delivered", 3)
    with pytest.raises(QStashError, match="404"):
        sdk.message.cancel(delivered.message_id)
    assert standin.messages[pending.message_id].state == "cancelled"


def test_non_2xx_is_retried_with_backoff_honouring_retry_after_then_dead_lettered(standin, sdk, target):
    target.answer = lambda a: Answer(status=503, headers={"Retry-After": "1"}) if len(target.arrivals) == 1 \
        else Answer(status=500)
    message = sdk.message.publish_json(url=target.url, body={}, retries=2)
    assert standin.wait_for(lambda: standin.messages[message.message_id].state == "failed", 5)
    arrivals = target.arrivals
    assert [a.headers["Upstash-Retried"] for a in arrivals] == ["0", "1", "2"]
    assert arrivals[1].t - arrivals[0].t >= 1.0  # Retry-After: 1
    # never before the backoff; the upper bound only says "not forever" (a busy machine is slow)
    assert standin.backoff(2) - 0.05 <= arrivals[2].t - arrivals[1].t < standin.backoff(2) + 5


def test_489_with_the_non_retryable_header_stops_retries(standin, sdk, target):
    target.answer = Answer(status=489, headers={"Upstash-NonRetryable-Error": "true"})
    message = sdk.message.publish_json(url=target.url, body={}, retries=3)
    assert standin.wait_for(lambda: standin.messages[message.message_id].state == "failed", 3)
    time.sleep(0.3)
    assert len(target.arrivals) == 1


def test_publishing_beyond_the_maximum_delay_is_refused(standin, sdk, target):
    with pytest.raises(QStashError, match="400"):
        sdk.message.publish_json(url=target.url, body={}, not_before=int(time.time()) + 8 * 86400)


def test_a_wrong_token_is_refused(standin, target):
    with pytest.raises(QStashError, match="401"):
        QStash("not-the-token", base_url=standin.url, retry=False).message.publish_json(url=target.url, body={})


def test_schedules_are_created_or_updated_by_id_and_listed(standin, sdk, target):
    assert sdk.schedule.create(destination=target.url, cron="*/5 * * * *", schedule_id="s") == "s"
    assert sdk.schedule.create(destination=target.url, cron="*/10 * * * *", schedule_id="s") == "s"
    [schedule] = sdk.schedule.list()
    assert (schedule.schedule_id, schedule.cron, schedule.destination) == ("s", "*/10 * * * *", target.url)
    with pytest.raises(QStashError, match="400"):
        sdk.schedule.create(destination=target.url, cron="every five minutes")
    standin.fire("s")
    [arrival] = target.wait_for(1, timeout=3)
    assert arrival.headers["Upstash-Schedule-Id"] == "s"
