"""`flask qstash install-schedule` and `flask qstash status`: the 5-minute safety net on QStash."""

from datetime import timedelta

import pytest

from webapp.cli import cron_runs_per_day
from webapp.models import utcnow

from .conftest import new_post, post_row
from .qstash_fixtures import qstash_app_config

SEC = timedelta(seconds=1)


@pytest.fixture
def config_overrides(standin, live, receiver):
    return qstash_app_config(standin, live.url, receiver)


def install(runner, *args):
    return runner.invoke(args=["qstash", "install-schedule", *args])


def status(runner):
    return runner.invoke(args=["qstash", "status"])


def test_install_schedule_is_idempotent_and_says_what_it_costs(app, runner, standin, live):
    first, again = install(runner), install(runner)
    assert first.exit_code == 0 and again.exit_code == 0, first.output
    assert list(standin.schedules) == ["punctual-recover"]
    schedule = standin.schedules["punctual-recover"]
    assert (schedule.destination, schedule.cron, schedule.retries) == (
        live.url + "/api/posts/recover", "*/5 * * * *", 0)
    assert "288 QStash messages a day" in again.output and "punctual-recover" in again.output


def test_install_schedule_updates_the_cron_and_warns_past_the_free_plan(app, runner, standin):
    install(runner)
    result = install(runner, "--cron", "* * * * *")
    assert result.exit_code == 0
    assert standin.schedules["punctual-recover"].cron == "* * * * *" and len(standin.schedules) == 1
    assert "1440 QStash messages a day — more than the free plan's 1,000" in result.output


def test_a_cron_qstash_refuses_is_reported_with_its_reason(app, runner, standin):
    result = install(runner, "--cron", "every five minutes")
    assert result.exit_code == 1
    assert "QStash did not accept the schedule" in result.output and "invalid cron" in result.output
    assert standin.schedules == {}


def test_status_shows_the_schedule_and_the_posts_waiting_for_a_message(app, runner, standin, owner):
    missing = status(runner)
    assert missing.exit_code == 1 and "No recover schedule 'punctual-recover' is installed" in missing.output
    install(runner)
    new_post(app, owner, at=utcnow() + 3600 * SEC)  # straight into the database: no message
    result = status(runner)
    assert result.exit_code == 0, result.output
    assert "Recover schedule punctual-recover (active)" in result.output and "*/5 * * * *" in result.output
    assert "without a QStash message: 1 (the next sweep publishes them)" in result.output


def test_status_notices_a_schedule_that_calls_an_old_app_url(app, runner, standin):
    install(runner)
    app.config["APP_URL"] = "https://moved.example.com"
    result = status(runner)
    assert result.exit_code == 1 and "Run install-schedule again" in result.output


@pytest.mark.parametrize("config_overrides", [{}])  # the local backend, no QStash settings
def test_the_commands_say_which_settings_they_need(runner):
    result = install(runner)
    assert result.exit_code == 2 and "QSTASH_TOKEN" in result.output


def test_the_installed_schedule_runs_the_sweep_through_the_signed_endpoint(app, runner, standin, served,
                                                                       receiver, owner):
    install(runner)
    now = utcnow()
    missed, _ = new_post(app, owner, "missed", at=now - 60 * SEC, now=now - 3600 * SEC)
    message = standin.fire("punctual-recover")
    assert standin.wait_for(lambda: standin.deliveries_of(message.id), timeout=5)
    [delivery] = standin.deliveries_of(message.id)
    assert delivery.status == 200 and delivery.headers["Upstash-Schedule-Id"] == "punctual-recover"
    assert [a.body["content"] for a in receiver.arrivals] == ["missed"]
    assert post_row(app, missed).status == "published"


@pytest.mark.parametrize("cron, runs", [
    ("*/5 * * * *", 288),       # the default: the free plan's 1,000 leave 712 for posts
    ("* * * * *", 1440),        # over the free plan on its own
    ("*/10 * * * *", 144),
    ("0 * * * *", 24),
    ("0,30 8-17 * * *", 20),
    ("CRON_TZ=Europe/Berlin */15 * * * *", 96),
    ("0 9 * * 1", None),        # weekly: not a per-day figure
    ("*/5 * * *", None),        # malformed
    ("61 * * * *", None),
])
def test_cron_runs_per_day(cron, runs):
    assert cron_runs_per_day(cron) == runs
