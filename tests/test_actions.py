"""The user's actions (webapp/dispatch/actions.py): each is one guarded write, in one transaction,
then the alarm; the requested time is checked once, before anything is written."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

import pytest

from webapp.dispatch import actions
from webapp.dispatch.errors import Conflict, InvalidInput
from webapp.dispatch.states import Action
from webapp.models import utcnow
from webapp.timeutil import ResolvedTime

from .conftest import configured, connect_linkedin, core_of, make_user, post_row
from .factories import make_post

A = Action
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SEC, DAY = timedelta(seconds=1), timedelta(days=1)
with_n8n = configured({"N8N_WEBHOOK_URL": "https://n8n.test/webhook/linkedin-post"}, "n8n")


@pytest.mark.parametrize("at, expected", [
    (NOW + DAY, NOW + DAY),
    (NOW, NOW),
    (NOW - 4 * SEC, NOW),  # a moment ago means now
    (NOW - 6 * SEC, "Tue 1 Dec 2026, 09:59:54 (Europe/Berlin) is in the past; pick a time from now on."),
    (NOW + actions.HORIZON, NOW + actions.HORIZON),
    (NOW + actions.HORIZON + SEC, "That is more than a year ahead; pick a time within the next 12 months."),
])
def test_check_time(at, expected):
    if isinstance(expected, str):
        with pytest.raises(InvalidInput) as refused:
            actions.check_time(at=at, now=NOW, zone_name="Europe/Berlin")
        assert refused.value.message == expected
    else:
        assert actions.check_time(at=at, now=NOW, zone_name="Europe/Berlin") == expected


class Writes:
    """Counts the store's write transactions."""

    def __init__(self, store):
        self.count, self._write = 0, store._write

    @contextlib.contextmanager
    def __call__(self):
        self.count += 1
        with self._write() as conn:
            yield conn


@pytest.fixture
def owner(app):
    return make_user(app)


@pytest.fixture
def writes(app, monkeypatch):
    store = core_of(app).store
    counter = Writes(store)
    monkeypatch.setattr(store, "_write", counter)
    return counter


def call(app, action, owner, post_id):
    core = core_of(app)
    later = ResolvedTime(utcnow() + DAY)
    return {
        A.EDIT: lambda: actions.edit_post(core, user_id=owner, post_id=post_id, fields={"content": "Changed"}),
        A.SCHEDULE: lambda: actions.schedule_post(core, user_id=owner, post_id=post_id, when=later, zone_name="UTC"),
        A.UNSCHEDULE: lambda: actions.unschedule_post(core, user_id=owner, post_id=post_id),
        A.PUBLISH_NOW: lambda: actions.publish_now(core, user_id=owner, post_id=post_id, zone_name="UTC"),
        A.RETRY: lambda: actions.retry_post(core, user_id=owner, post_id=post_id, zone_name="UTC"),
        A.DUPLICATE: lambda: actions.duplicate_post(core, user_id=owner, post_id=post_id),
        A.DELETE: lambda: actions.delete_post(core, user_id=owner, post_id=post_id),
        A.CONFIRM_PUBLISHED: lambda: actions.confirm_published(
            core, user_id=owner, post_id=post_id, post_url="https://www.linkedin.com/feed/update/urn:li:share:1/",
            who="ada@example.com"),
        A.RESEND: lambda: actions.resend_post(core, user_id=owner, post_id=post_id, when=None, zone_name="UTC"),
    }[action]()


@pytest.mark.parametrize("action", list(A))
def test_every_action_is_one_write_transaction(app, owner, writes, action):
    # failed as unconfirmed: the status (and kind of failure) that allows every action
    post_id = make_post(app, owner, "failed", kind="unconfirmed")
    writes.count = 0
    call(app, action, owner, post_id)
    assert writes.count == 1


def test_delete_of_a_scheduled_post_is_one_transaction_and_nothing_can_send_it(app, owner, writes):
    post_id = make_post(app, owner, "scheduled", at=utcnow() - SEC)  # due: a claim would win it now
    writes.count = 0
    actions.delete_post(core_of(app), user_id=owner, post_id=post_id)
    assert writes.count == 1 and post_row(app, post_id) is None
    assert core_of(app).dispatcher.dispatch_one(post_id, 1, "local").reason == "not_found"


def test_save_post_checks_the_time_before_writing_anything(app, owner):
    with pytest.raises(InvalidInput, match="is in the past"):
        actions.save_post(core_of(app), user_id=owner, post_id=None, fields={"content": "Too late"},
                          then=A.SCHEDULE, when=ResolvedTime(utcnow() - DAY), zone_name="UTC")
    with core_of(app).store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM posts").scalar() == 0


def test_save_post_saves_then_schedules_or_publishes(app, owner):
    core = core_of(app)
    at = (utcnow() + DAY).replace(microsecond=0)
    saved = actions.save_post(core, user_id=owner, post_id=None, fields={"content": "Hello"}, then=A.SCHEDULE,
                              when=ResolvedTime(at), zone_name="UTC")
    assert saved.created and saved.scheduled is not None and saved.refused is None
    assert (post_row(app, saved.post_id).status, post_row(app, saved.post_id).scheduled_at) == ("scheduled", at)
    again = actions.save_post(core, user_id=owner, post_id=saved.post_id, fields={"content": "Now"},
                              then=A.PUBLISH_NOW, when=None, zone_name="UTC")
    assert not again.created and again.scheduled.version == 2
    assert post_row(app, saved.post_id).content == "Now"
    kept = actions.save_post(core, user_id=owner, post_id=saved.post_id, fields={"content": "Later"}, then=None,
                             when=None, zone_name="UTC")
    assert (kept.scheduled, post_row(app, saved.post_id).schedule_version) == (None, 2)


@with_n8n
def test_a_schedule_refused_after_the_save_keeps_the_text_and_says_why(app, owner):
    connect_linkedin(app, owner, expires_at=utcnow() + timedelta(hours=1))
    saved = actions.save_post(core_of(app), user_id=owner, post_id=None, fields={"content": "Kept"},
                              then=A.SCHEDULE, when=ResolvedTime(utcnow() + DAY), zone_name="UTC")
    assert isinstance(saved.refused, Conflict) and "before this post's time" in saved.refused.message
    row = post_row(app, saved.post_id)
    assert (row.status, row.content) == ("draft", "Kept")


@with_n8n
def test_scheduling_reads_the_linkedin_token_and_warns_without_a_connection(app, owner):
    post_id = make_post(app, owner, "draft")
    result = call(app, A.SCHEDULE, owner, post_id)
    assert result.linkedin_warning and "LinkedIn is not connected" in result.linkedin_warning
    assert result.notices == [result.linkedin_warning]


def test_in_demo_mode_the_linkedin_token_is_not_even_read(app, owner, monkeypatch):
    def unreachable(**kwargs):
        raise AssertionError("read the LinkedIn connection in demo mode")

    monkeypatch.setattr(core_of(app).store, "connection_expiry", unreachable)
    result = call(app, A.PUBLISH_NOW, owner, make_post(app, owner, "draft"))
    assert result.linkedin_warning is None
