"""Can the owner's LinkedIn token carry a post at its time: the rule as a value, and what each
place says about it (scheduling, a post's row, the dashboard, sending)."""

from datetime import datetime, timedelta, timezone

import pytest

from webapp.dispatch.readiness import (
    NOT_CONNECTED,
    Readiness,
    at_risk_from,
    dashboard_warning,
    not_sent,
    post_risk,
    readiness,
    scheduling_refusal,
    scheduling_warning,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
R = Readiness


@pytest.mark.parametrize("connected, expires, at, demo, expected", [
    (False, None, NOW + DAY, False, R.NOT_CONNECTED),  # a warning when scheduling, not a refusal
    (True, None, NOW + DAY, False, R.OK),  # expiry not known: trusted
    (True, NOW + 2 * DAY, NOW + DAY, False, R.OK),  # expires after the post
    (True, NOW + DAY, NOW + DAY, False, R.EXPIRES_BEFORE),  # due at the very instant it expires: too late
    (True, NOW + DAY, NOW + 2 * DAY, False, R.EXPIRES_BEFORE),
    (True, NOW - DAY, NOW, False, R.EXPIRED),  # at the time of sending (at = now)
    (True, NOW - DAY, NOW + DAY, False, R.EXPIRED),
    (False, None, NOW + DAY, True, R.OK),  # the demo inbox needs no LinkedIn
    (True, NOW - DAY, NOW + DAY, True, R.OK),
])
def test_the_rule(connected, expires, at, demo, expected):
    assert readiness(connected=connected, expires_at=expires, at=at, now=NOW, demo=demo) is expected


@pytest.mark.parametrize("state, refused, warned", [
    (R.OK, None, None),
    (R.NOT_CONNECTED, None, NOT_CONNECTED),
    (R.EXPIRES_BEFORE, "Your LinkedIn token expires on Sun 29 Nov 2026, 13:00 (Europe/Berlin), before this "
                       "post's time, so the post would fail. Reconnect LinkedIn in Settings", None),
    (R.EXPIRED, "Your LinkedIn token expired on Sun 29 Nov 2026, 13:00 (Europe/Berlin). Reconnect LinkedIn in "
                "Settings (a new token lasts 60 days), then schedule this post.", None),
])
def test_scheduling_refuses_a_token_that_will_not_reach_the_post_and_warns_without_one(state, refused, warned):
    sentence = scheduling_refusal(state, expires_at=NOW + DAY, zone_name="Europe/Berlin")
    assert (sentence is None) if refused is None else sentence.startswith(refused)
    assert scheduling_warning(state) == warned


def test_every_place_words_every_state_and_says_nothing_when_ready():
    expires = NOW + 3 * DAY
    for state in (R.NOT_CONNECTED, R.EXPIRES_BEFORE, R.EXPIRED):
        assert post_risk(state, expires_at=expires, zone_name="UTC").endswith(".")
        assert dashboard_warning(state, expires_at=expires, now=NOW, zone_name="UTC", posts_at_risk=True)
        assert not_sent(state, expires_at=expires).startswith("Not sent: ")
    assert post_risk(R.OK, expires_at=expires, zone_name="UTC") is None
    assert dashboard_warning(R.OK, expires_at=expires, now=NOW, zone_name="UTC", posts_at_risk=False) is None
    with pytest.raises(ValueError):
        not_sent(R.OK, expires_at=None)


def test_posts_at_risk_are_those_due_at_or_after_the_expiry():
    assert at_risk_from(connected=False, expires_at=None, now=NOW) == NOW  # every scheduled post
    assert at_risk_from(connected=True, expires_at=NOW + DAY, now=NOW) == NOW + DAY
    assert at_risk_from(connected=True, expires_at=None, now=NOW) is None  # none
    # the same boundary as the rule: due at the expiry is at risk, a second before is not
    assert readiness(connected=True, expires_at=NOW + DAY, at=NOW + DAY, now=NOW) is not R.OK
    assert readiness(connected=True, expires_at=NOW + DAY, at=NOW + DAY - timedelta(seconds=1), now=NOW) is R.OK
