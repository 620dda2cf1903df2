"""The polling rule: a badge asks the server again only while its post can change soon."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.posts.live import MAX_WAKE, POLL_EVERY, SLOW_POLL_EVERY, SOON, Poll, is_final, poll_for

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


@pytest.mark.parametrize("status, due, expected", [
    # final statuses never poll, whatever their time says
    ("draft", NOW + M, None),
    ("published", NOW - M, None),
    ("failed", NOW - M, None),
    # being sent right now: poll until it lands
    ("publishing", NOW - S, "every 2s"),
    ("publishing", None, "every 2s"),
    # due within SOON (two minutes): poll, and ask once just after its second so the badge flips then
    ("scheduled", NOW + 2 * M, "load delay:120500ms, every 2s"),
    ("scheduled", NOW + 5 * S, "load delay:5500ms, every 2s"),
    ("scheduled", NOW + timedelta(microseconds=1), "load delay:501ms, every 2s"),
    # due, not yet claimed (or waiting for a retry): poll
    ("scheduled", NOW, "every 2s"),
    ("scheduled", NOW - 4 * M, "every 2s"),
    # overdue by five minutes or more (the sweep will act; maybe no dispatcher runs): poll slowly
    ("scheduled", NOW - 5 * M, "every 30s"),
    # due later: one request when it comes within SOON, never a poll
    ("scheduled", NOW + 2 * M + S, "load delay:1000ms"),
    ("scheduled", NOW + H, "load delay:3480000ms"),
    ("scheduled", NOW + 2 * M + timedelta(microseconds=1500), "load delay:2ms"),  # rounded up: never early
    # far ahead: capped, because browsers fire a setTimeout longer than ~24.8 days at once
    ("scheduled", NOW + timedelta(days=40), f"load delay:{int(MAX_WAKE.total_seconds()) * 1000}ms"),
])
def test_poll_rule(status, due, expected):
    assert poll_for(status, due=due, now=NOW).trigger == expected


def test_the_constants_match_the_issue():
    assert (POLL_EVERY, SOON, SLOW_POLL_EVERY) == (2, timedelta(minutes=2), 30)
    assert MAX_WAKE < timedelta(days=24)


def test_a_poll_without_interval_or_wake_renders_no_trigger():
    assert Poll().trigger is None
    assert [s for s in ("draft", "scheduled", "publishing", "published", "failed") if is_final(s)] == \
        ["draft", "published", "failed"]
