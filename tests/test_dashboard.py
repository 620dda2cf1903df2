"""What the dashboard computes: sections, the week ahead, LinkedIn warnings, times shown."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from webapp import timeutil
from webapp.dispatch.states import PostStatus
from webapp.posts import dashboard

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
H, D = timedelta(hours=1), timedelta(days=1)


def post(name, status, at=None, updated=NOW, published=None):
    return SimpleNamespace(id=name, content=name, status=status, scheduled_at=at, updated_at=updated,
                           published_at=published)


def names(posts):
    return [p.id for p in posts]


def test_the_sections_come_in_order_each_with_its_own_status():
    assert [s.key for s in dashboard.SECTIONS] == ["upcoming", "in_progress", "failed", "published", "drafts"]
    assert sorted(s.status for s in dashboard.SECTIONS) == sorted(PostStatus)


@pytest.mark.parametrize("zone, at, day_index", [
    ("UTC", NOW + H, 0),
    ("Europe/Berlin", datetime(2026, 12, 1, 23, 30, tzinfo=UTC), 1),  # 00:30 on Wednesday in Berlin
    ("America/New_York", datetime(2026, 12, 2, 3, 0, tzinfo=UTC), 0),  # still Tuesday 22:00 in New York
    ("Asia/Kolkata", datetime(2026, 12, 7, 19, 0, tzinfo=UTC), None),  # Tue 8 Dec 00:30: beyond the week
    ("UTC", datetime(2026, 12, 7, 23, 59, tzinfo=UTC), 6),
])
def test_the_week_groups_posts_by_day_in_the_users_zone(zone, at, day_index):
    week = dashboard.week([post("p", "scheduled", at)], NOW, zone)
    assert len(week) == 7
    assert [i for i, day in enumerate(week) if day.posts] == ([] if day_index is None else [day_index])


def test_the_week_shows_what_is_coming_and_what_went_today_in_time_order_with_day_labels():
    posts = [post("b", "scheduled", NOW + 3 * H), post("a", "scheduled", NOW + H), post("d", "draft"),
             post("sent", "published", NOW - H, published=NOW - H), post("going", "publishing", NOW),
             post("yesterday", "published", NOW - 10 * H, published=NOW - 10 * H),
             post("late", "published", NOW - 10 * H, published=NOW - 8 * H)]  # due yesterday, sent today
    week = dashboard.week(posts, NOW, "UTC")
    assert names(week[0].posts) == ["late", "sent", "going", "a", "b"]  # published posts stay in Today
    assert [d.label for d in week[:3]] == ["Today · Tue 1 Dec", "Tomorrow · Wed 2 Dec", "Thu 3 Dec"]


def connection(expires_at):
    return SimpleNamespace(expires_at=expires_at)


@pytest.mark.parametrize("conn, at, expected", [
    (None, NOW + H, "LinkedIn is not connected"),
    (connection(None), NOW + H, None),  # expiry unknown: nothing to say
    (connection(NOW + 2 * D), NOW + H, None),
    (connection(NOW + 2 * D), NOW + 3 * D, "expires on Thu 3 Dec 2026, 09:00 (UTC), before this post's time"),
    (connection(NOW + H), NOW + H, "before this post's time"),  # due exactly at the expiry: too late
    (connection(NOW - D), NOW + H, "Your LinkedIn token expired on Mon 30 Nov 2026, 09:00 (UTC)"),
])
def test_a_scheduled_post_is_at_risk_when_the_token_cannot_last_until_its_time(conn, at, expected):
    risk = dashboard.post_risk(conn, at=at, now=NOW, zone_name="UTC", demo=False)
    assert (risk is None) if expected is None else (expected in risk)


class Scheduled:
    """queries.scheduled_from for a list of posts: the first few due at or after `start`, and how many."""

    def __init__(self, *posts, shown=10):
        self.posts, self.shown, self.asked = posts, shown, []

    def __call__(self, start):
        self.asked.append(start)
        due = sorted((p for p in self.posts if p.scheduled_at >= start), key=lambda p: p.scheduled_at)
        return due[: self.shown], len(due)


def warning(conn, posts, zone="UTC", demo=False):
    return dashboard.warning(conn, NOW, zone, demo=demo, posts_from=posts)


def test_in_demo_mode_nothing_needs_linkedin():
    assert dashboard.post_risk(None, at=NOW + H, now=NOW, zone_name="UTC", demo=True) is None
    posts = Scheduled(post("p", "scheduled", NOW + H))
    assert warning(connection(NOW - D), posts, demo=True) is None and posts.asked == []


def test_the_dashboard_warns_a_week_before_expiry_and_lists_the_posts_that_would_fail():
    before, after = post("before", "scheduled", NOW + D), post("after", "scheduled", NOW + 4 * D)
    soon = warning(connection(NOW + 3 * D), Scheduled(before, after), "Europe/Berlin")
    assert (soon.kind, names(soon.posts), soon.more) == ("expires_before", ["after"], 0)
    assert "Fri 4 Dec 2026, 10:00 (Europe/Berlin) (in 3 d)" in soon.message and "would fail" in soon.message
    nothing_at_risk = warning(connection(NOW + 3 * D), Scheduled(before))
    assert "so that later posts can be published" in nothing_at_risk.message
    far = Scheduled(before, after)
    assert warning(connection(NOW + 8 * D), far) is None and far.asked == []  # no query either
    expired = warning(connection(NOW - H), Scheduled(before))
    assert (expired.kind, names(expired.posts)) == ("expired", ["before"])
    missing = warning(None, Scheduled(before))
    assert (missing.kind, names(missing.posts)) == ("not_connected", ["before"])
    many = warning(None, Scheduled(*[post(f"p{i}", "scheduled", NOW + i * H) for i in range(1, 14)]))
    assert (len(many.posts), many.more) == (10, 3)


@pytest.mark.parametrize("zone, instant, expected", [
    ("Europe/Berlin", datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "Tue 1 Dec 2026, 09:00 (Europe/Berlin)"),
    ("Europe/Berlin", datetime(2026, 12, 1, 8, 0, 7, tzinfo=UTC), "Tue 1 Dec 2026, 09:00:07 (Europe/Berlin)"),
    ("America/Los_Angeles", datetime(2026, 12, 1, 8, 0, tzinfo=UTC), "Tue 1 Dec 2026, 00:00 (America/Los_Angeles)"),
    ("Asia/Kolkata", datetime(2026, 12, 1, 20, 0, tzinfo=UTC), "Wed 2 Dec 2026, 01:30 (Asia/Kolkata)"),
    ("Australia/Sydney", datetime(2027, 1, 15, 0, 0, tzinfo=UTC), "Fri 15 Jan 2027, 11:00 (Australia/Sydney)"),
])
def test_times_are_shown_in_the_users_zone_with_the_zone_named(zone, instant, expected):
    assert timeutil.format_local(instant, zone) == expected
    # where the page names the zone once (a section, the dashboard), the time alone
    assert timeutil.format_local(instant, zone, zone_named=False) == expected.rsplit(" (", 1)[0]


@pytest.mark.parametrize("urn, url", [
    ("urn:li:share:7001", "https://www.linkedin.com/feed/update/urn:li:share:7001/"),
    ("urn:li:ugcPost:123_abc-9", "https://www.linkedin.com/feed/update/urn:li:ugcPost:123_abc-9/"),
    (None, None),
    ("", None),
    ("javascript:alert(1)", None),
    ("urn:li:share:1/../../evil", None),
    ('urn:li:share:1" onmouseover="x', None),
])
def test_a_linkedin_link_only_for_a_well_formed_urn(urn, url):
    assert dashboard.linkedin_url(urn) == url
