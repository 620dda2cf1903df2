"""Scheduling through the API: schedule, reschedule, unschedule, publish now; times in zones."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.models import utcnow

from .conftest import core_of, post_row

UTC = timezone.utc


@pytest.fixture
def post(client, user):
    _, headers = user
    return client.post("/api/posts", json={"content": "Hello"}, headers=headers).json["id"]


def schedule(client, headers, post_id, **body):
    return client.post(f"/api/posts/{post_id}/schedule", json=body, headers=headers)


def iso(instant: datetime) -> str:
    return instant.isoformat()


def test_schedule_with_an_offset(app, client, user, post):
    _, headers = user
    at = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    response = schedule(client, headers, post, scheduledAt=at.astimezone(timezone(timedelta(hours=-5))).isoformat())
    assert response.status_code == 200
    assert response.json == {"id": post, "status": "scheduled", "scheduledAt": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                             "messageId": None}
    row = post_row(app, post)
    assert (row.status, row.scheduled_at, row.schedule_version) == ("scheduled", at, 1)


def test_a_local_time_is_read_in_the_users_zone_or_the_given_one(app, client, user, post):
    _, headers = user  # the fixture user lives in Europe/Berlin
    wall = (utcnow() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
    schedule(client, headers, post, scheduledAt=wall.isoformat())
    from zoneinfo import ZoneInfo
    assert post_row(app, post).scheduled_at == wall.replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    schedule(client, headers, post, scheduledAt=wall.isoformat(), timeZone="America/New_York")
    assert post_row(app, post).scheduled_at == wall.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def next_overlap() -> datetime:
    """The next Berlin fall-back 02:30 (it happens twice)."""
    year = utcnow().year
    for y in (year, year + 1):
        candidate = datetime(y, 10, 31, 2, 30)
        while candidate.weekday() != 6:
            candidate -= timedelta(days=1)
        if candidate.replace(tzinfo=UTC) > utcnow() + timedelta(days=1):
            return candidate
    raise AssertionError("unreachable")


def test_an_ambiguous_local_time_is_resolved_and_the_answer_says_so(app, client, user, post):
    _, headers = user
    wall = next_overlap()
    if wall.replace(tzinfo=UTC) > utcnow() + timedelta(days=360):
        pytest.skip("the next fall-back is more than a year ahead")
    response = schedule(client, headers, post, scheduledAt=wall.isoformat())
    assert response.status_code == 200
    assert "happens twice in Europe/Berlin" in response.json["note"]
    assert response.json["scheduledAt"] == (wall - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def next_gap() -> datetime:
    year = utcnow().year
    for y in (year, year + 1):
        candidate = datetime(y, 3, 31, 2, 30)
        while candidate.weekday() != 6:
            candidate -= timedelta(days=1)
        if candidate.replace(tzinfo=UTC) > utcnow() + timedelta(days=1):
            return candidate
    raise AssertionError("unreachable")


@pytest.mark.parametrize("body, message", [
    # what is wrong                                                   the sentence that says so
    ({}, "scheduledAt must be an ISO 8601"),
    ({"scheduledAt": "next tuesday"}, "is not an ISO 8601 date-time"),
    ({"scheduledAt": 1767225600}, "scheduledAt must be an ISO 8601"),
    ({"scheduledAt": "2020-01-01T09:00:00Z"}, "is in the past"),
    ({"scheduledAt": (utcnow() + timedelta(days=400)).isoformat()}, "more than a year ahead"),
    ({"scheduledAt": next_gap().isoformat(), "timeZone": "Europe/Berlin"}, "does not exist in Europe/Berlin"),
    ({"scheduledAt": "2030-01-01T09:00", "timeZone": "Europe/Atlantis"}, "is not an IANA time zone"),
    ({"scheduledAt": "2030-01-01T09:00", "timeZone": 5}, "is not an IANA time zone"),
    ({"scheduledAt": "2030-01-01T09:00:00Z", "when": "now"}, "Unknown field 'when'"),
])
def test_bad_times_are_refused_with_a_sentence_and_change_nothing(app, client, user, post, body, message):
    _, headers = user
    response = schedule(client, headers, post, **body)
    assert response.status_code == 400
    assert message in response.json["error"]
    row = post_row(app, post)
    assert (row.status, row.schedule_version, row.scheduled_at) == ("draft", 0, None)


def test_a_time_a_moment_ago_means_now(app, client, user, post):
    _, headers = user
    response = schedule(client, headers, post, scheduledAt=iso(utcnow() - timedelta(seconds=2)))
    assert response.status_code == 200
    assert post_row(app, post).scheduled_at >= utcnow() - timedelta(seconds=1)


def test_reschedule_and_unschedule(app, client, user, post):
    _, headers = user
    schedule(client, headers, post, scheduledAt=iso(utcnow() + timedelta(hours=1)))
    later = (utcnow() + timedelta(hours=5)).replace(microsecond=0)
    assert schedule(client, headers, post, scheduledAt=iso(later)).status_code == 200
    assert (post_row(app, post).scheduled_at, post_row(app, post).schedule_version) == (later, 2)
    response = client.post(f"/api/posts/{post}/unschedule", headers=headers)
    assert response.json == {"id": post, "status": "unscheduled"}
    assert (post_row(app, post).status, post_row(app, post).schedule_version) == ("draft", 3)
    again = client.post(f"/api/posts/{post}/unschedule", headers=headers)
    assert again.status_code == 409 and again.json["error"] == "This post is a draft, so it cannot be unscheduled."


def test_publish_now_schedules_for_this_instant(app, client, user, post):
    _, headers = user
    before = utcnow()
    response = client.post(f"/api/posts/{post}/publish-now", headers=headers)
    assert response.status_code == 200 and response.json["status"] == "scheduled"
    assert before <= post_row(app, post).scheduled_at <= utcnow()


@pytest.mark.parametrize("state", ["publishing", "published"])
def test_a_post_being_sent_or_sent_cannot_be_moved(app, client, user, post, state):
    _, headers = user
    schedule(client, headers, post, scheduledAt=iso(utcnow()))
    store = core_of(app).store
    claim = store.claim(post_id=post, version=1, now=utcnow())
    if state == "published":
        from webapp.dispatch.store import AttemptRecord
        now = utcnow()
        store.confirm(claim, AttemptRecord(trigger="local", started_at=now, finished_at=now, outcome="published"),
                      urn=None)
    for path, body in [("schedule", {"scheduledAt": iso(utcnow() + timedelta(hours=1))}),
                       ("unschedule", None), ("publish-now", None)]:
        response = client.post(f"/api/posts/{post}/{path}", json=body, headers=headers)
        assert response.status_code == 409, path
        assert response.json["error"].endswith(".")
    assert client.patch(f"/api/posts/{post}", json={"content": "x"}, headers=headers).status_code == 409
    assert post_row(app, post).status == state


def test_a_failed_post_can_be_retried_or_kept_as_a_draft(app, client, user, post):
    _, headers = user
    schedule(client, headers, post, scheduledAt=iso(utcnow()))
    store = core_of(app).store
    from webapp.dispatch.store import AttemptRecord
    now = utcnow()
    store.fail(store.claim(post_id=post, version=1, now=now),
               AttemptRecord(trigger="local", started_at=now, finished_at=now, outcome="failed"),
               kind="rejected", message="no")
    assert client.post(f"/api/posts/{post}/publish-now", headers=headers).status_code == 200
    row = post_row(app, post)
    assert (row.status, row.error_message, row.attempt_count, row.schedule_version) == ("scheduled", None, 0, 2)


def test_deleting_a_scheduled_post_means_it_is_never_sent(app, client, user, post):
    _, headers = user
    schedule(client, headers, post, scheduledAt=iso(utcnow()))
    assert client.delete(f"/api/posts/{post}", headers=headers).status_code == 204
    assert core_of(app).dispatcher.dispatch_one(post, 1, "qstash").reason == "not_found"
