"""The QStash alarm on its own: chosen by configuration, bounded in time, quiet about secrets,
database first, and the 7-day horizon that the sweep extends."""

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest
from qstash.errors import QStashError
from qstash.http import RetryConfig

from webapp import create_app
from webapp.config import ConfigError
from webapp.dispatch import actions
from webapp.dispatch.alarms import LocalAlarm
from webapp.dispatch.alarms.qstash import REQUEST_RETRY, QStashAlarm, new_client, request_timeout
from webapp.dispatch.store import Change
from webapp.models import utcnow
from webapp.timeutil import ResolvedTime, ceil_seconds

from .conftest import core_of, new_post, post_row
from .qstash_fixtures import CRON_SECRET, qstash_app_config
from .qstash_standin import TOKEN, QStashStandIn

APP_URL = "https://punctual.example.com"
DAY = timedelta(days=1)


class Clock:
    """The app's and the stand-in's clock: it stands still until a test moves it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(utcnow())


@pytest.fixture
def standin(clock):
    with QStashStandIn(clock=lambda: clock().timestamp()) as q:
        q.drop = True  # the app is not served in these tests
        yield q


@pytest.fixture
def config_overrides(standin, receiver, clock):
    return qstash_app_config(standin, APP_URL, receiver, CLOCK=clock)


@pytest.fixture
def alarm(app) -> QStashAlarm:
    return core_of(app).alarm


def schedule(app, owner, at, content="post"):
    core = core_of(app)
    post_id = actions.create_post(core, user_id=owner, fields={"content": content})
    return post_id, actions.schedule_post(core, user_id=owner, post_id=post_id, when=ResolvedTime(at), zone_name="UTC")


# ---------------------------------------------------------------- choosing the backend

def test_the_qstash_backend_gets_the_qstash_alarm_and_publishes_nothing_at_start(app, alarm, standin):
    assert isinstance(alarm, QStashAlarm) and alarm.settings.dispatch_url == APP_URL + "/api/posts/dispatch"
    assert standin.publishes == []


@pytest.mark.parametrize("config_overrides", [{}])
def test_the_local_backend_keeps_the_local_alarm(app):
    assert isinstance(core_of(app).alarm, LocalAlarm)


@pytest.mark.parametrize("missing", ["QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"])
def test_the_qstash_backend_refuses_to_start_without_its_settings(tmp_path, standin, receiver, missing):
    config = qstash_app_config(standin, APP_URL, receiver, **{missing: None})
    with pytest.raises(ConfigError, match=f"SCHEDULER_BACKEND=qstash needs these settings: {missing}"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k",
                    "LOCAL_DISPATCHER": "off", **config})


PRODUCTION = {
    "APP_ENV": "production", "SECRET_KEY": "s" * 32,
    "DATABASE_URL": "postgresql://u:p@db.example.com:5432/punctual", "APP_URL": APP_URL,
    "N8N_WEBHOOK_URL": "https://n8n.example.com/webhook/linkedin-post", "QSTASH_TOKEN": TOKEN,
    "QSTASH_CURRENT_SIGNING_KEY": "sig_current", "QSTASH_NEXT_SIGNING_KEY": "sig_next",
    "CRON_SECRET": CRON_SECRET,
}


def test_production_with_every_setting_starts_on_the_qstash_backend(tmp_path, monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert isinstance(core_of(app).alarm, QStashAlarm)


@pytest.mark.parametrize("missing", ["APP_URL", "QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY",
                                     "QSTASH_NEXT_SIGNING_KEY", "CRON_SECRET", "N8N_WEBHOOK_URL",
                                     "SECRET_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_each_setting(tmp_path, monkeypatch, missing):
    for name, value in PRODUCTION.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"needs these settings: {missing}."):
        create_app({"INSTANCE_PATH": str(tmp_path)})


# ---------------------------------------------------------------- bounded, and quiet about secrets

def test_the_sdk_client_gets_request_sized_timeouts_and_retries(alarm):
    client = alarm.client
    assert client.http._client.timeout == request_timeout() == httpx.Timeout(4.0, connect=2.0)  # not 600 s
    assert client.http._retry is REQUEST_RETRY and REQUEST_RETRY["retries"] == 1


def test_a_hanging_qstash_costs_the_user_seconds_not_minutes(app, owner, alarm, standin):
    standin.publish_delay = 10.0
    alarm._client = new_client(alarm.settings, timeout=httpx.Timeout(0.3),
                               retry=RetryConfig(retries=1, backoff=lambda retry: 10.0))
    started = time.monotonic()
    post_id, result = schedule(app, owner, utcnow() + DAY)
    assert time.monotonic() - started < 6  # two tries of 0.3 s, not 10 s each
    assert result.message_id is None and "safety net" in result.warning
    assert len(standin.publishes) == 2
    row = post_row(app, post_id)
    assert (row.status, row.qstash_message_id) == ("scheduled", None)  # database first


class Refusing:
    """An SDK stand-in whose calls fail with a message that (wrongly) echoes the token."""

    def __init__(self):
        self.message = self

    def publish_json(self, **kwargs):
        raise QStashError(f"Request failed with status: 401, body: bad token Bearer {TOKEN}")

    def cancel(self, message_id):
        raise QStashError(f"Request failed with status: 500, body: {TOKEN}")


def test_failures_are_logged_without_the_token(app, owner, alarm, caplog):
    caplog.set_level(logging.INFO, logger="punctual")
    alarm._client = Refusing()
    post_id, result = schedule(app, owner, utcnow() + DAY)
    alarm.unscheduled(Change(post_id=post_id, user_id=owner, version=2, old_message_id="msg_old"))
    assert "could not publish" in caplog.text and "could not cancel QStash message msg_old" in caplog.text
    assert TOKEN not in caplog.text and "[redacted]" in caplog.text
    assert result.warning


def test_an_unreachable_qstash_is_a_warning_not_an_error(app, owner, alarm, caplog):
    alarm._client = new_client(replace(alarm.settings, base_url="http://127.0.0.1:9"))  # nothing listens
    post_id, result = schedule(app, owner, utcnow() + DAY)
    assert result.message_id is None and result.warning
    assert "ConnectError" in caplog.text and TOKEN not in caplog.text


def test_cancelling_a_message_already_gone_is_quiet_and_a_failed_cancel_is_logged(app, owner, alarm, standin,
                                                                                 caplog):
    alarm.unscheduled(Change(post_id="p", user_id=owner, version=2, old_message_id="msg_delivered_long_ago"))
    assert standin.cancels == [("msg_delivered_long_ago", 404)] and "could not cancel" not in caplog.text
    standin.fail_cancel = 503
    alarm.unscheduled(Change(post_id="p", user_id=owner, version=3, old_message_id="msg_pending"))
    assert "could not cancel QStash message msg_pending of post p" in caplog.text


# ---------------------------------------------------------------- the horizon and the sweep

def test_a_post_10_days_out_gets_its_message_once_a_sweep_finds_it_inside_the_horizon(app, owner, standin,
                                                                                     clock):
    at = clock.now + 10 * DAY
    post_id, result = schedule(app, owner, at)
    assert result.message_id is None and result.warning is None  # not a failure: just far out
    assert standin.publishes == []

    def sweep():  # what the recover endpoint runs
        return core_of(app).dispatcher.sweep(enqueue=core_of(app).alarm.enqueue_missing).as_json()

    clock.now += 3 * DAY  # 7 days out: QStash's limit, but not yet inside our safety margin
    assert sweep()["enqueued"] == 0 and standin.publishes == []
    clock.now += timedelta(minutes=2)
    assert sweep() == {"recovered": 0, "failed": 0, "enqueued": 1, "total": 1}
    message = standin.message_for(post_id, result.version)
    assert message.not_before == ceil_seconds(at) and post_row(app, post_id).qstash_message_id == message.id
    assert sweep()["enqueued"] == 0  # one message per version


def test_the_sweep_stops_publishing_when_qstash_keeps_failing(app, owner, alarm, standin):
    for i in range(5):
        new_post(app, owner, f"post {i}", at=utcnow() + timedelta(hours=i + 1))
    standin.fail_publish = 503
    assert alarm.enqueue_missing(utcnow()) == 0
    assert len(standin.publishes) == 3  # then it stops: the next sweep tries again
    standin.fail_publish = None
    assert alarm.enqueue_missing(utcnow()) == 5


def test_the_sweep_publishes_nothing_after_its_deadline(app, owner, alarm, standin):
    new_post(app, owner, at=utcnow() + timedelta(hours=1))
    assert alarm.enqueue_missing(utcnow(), deadline=time.monotonic() - 1) == 0
    assert standin.publishes == []


def test_missing_alarms_are_scheduled_posts_without_a_message_inside_the_horizon_soonest_first(app, owner):
    store = core_of(app).store
    now = utcnow()
    later, _ = new_post(app, owner, at=now + 2 * DAY)
    sooner, version = new_post(app, owner, at=now + DAY)
    new_post(app, owner, at=now + 9 * DAY)  # beyond
    new_post(app, owner)  # a draft
    with_message, v = new_post(app, owner, at=now + DAY)
    store.set_message_id(post_id=with_message, version=v, message_id="msg_1")
    changes = store.missing_alarms(until=now + 7 * DAY, limit=10)
    assert [(c.post_id, c.scheduled_at) for c in changes] == [(sooner, now + DAY), (later, now + 2 * DAY)]
    assert changes[0] == Change(post_id=sooner, user_id=owner, version=version, old_message_id=None,
                              scheduled_at=now + DAY)
