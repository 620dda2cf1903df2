"""What the dashboard shows, computed from the user's posts: the sections, the week ahead, and the
warnings about LinkedIn tokens. Plain functions of (posts, connection, now, zone)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import timeutil
from .dispatch.actions import NOT_CONNECTED
from .dispatch.states import PostStatus

S = PostStatus

#: The dashboard's sections, in order: (key, heading, what an empty section says).
SECTIONS = (
    ("upcoming", "Upcoming", "Nothing scheduled."),
    ("in_progress", "In progress", "Nothing is being sent right now."),
    ("failed", "Failed", "No failed posts."),
    ("published", "Published", "Nothing published yet."),
    ("drafts", "Drafts", "No drafts."),
)

#: Each section's status, and how many of its posts the dashboard shows before "Show all N"
#: (a full dashboard of 1,000 posts took 740 ms to render and weighed 2 MB; see docs/benchmarks.md).
SECTION_STATUS = {"upcoming": S.SCHEDULED, "in_progress": S.PUBLISHING, "failed": S.FAILED,
                  "published": S.PUBLISHED, "drafts": S.DRAFT}
SECTION_LIMIT = {"upcoming": 25, "in_progress": 25, "failed": 10, "published": 10, "drafts": 10}
#: How many at-risk posts a LinkedIn warning lists by name.
AT_RISK_SHOWN = 10

#: Why a post failed (Post.error_kind), as a short label; error_message has the whole sentence.
FAILURE_LABELS = {
    "rejected": "Rejected by n8n",
    "unconfirmed": "Unconfirmed: it may have been published",
    "missed": "Missed its time",
    "gave_up": "Gave up after repeated tries",
    "not_connected": "LinkedIn not connected",
    "token_expired": "LinkedIn token expired",
}

#: The dashboard warns this long before the LinkedIn token expires (tokens last 60 days).
EXPIRY_NOTICE = timedelta(days=7)
WEEK_DAYS = 7

_URN = re.compile(r"urn:li:[A-Za-z]+:[A-Za-z0-9_-]+")
_EPOCH = datetime.min.replace(tzinfo=timeutil.UTC)


def group(posts) -> dict[str, list]:
    """Posts by section: upcoming soonest first, the others most recent first."""
    by_status: dict[str, list] = {s: [] for s in S}
    for post in posts:
        by_status[S(post.status)].append(post)
    recent = lambda p: p.updated_at or _EPOCH  # noqa: E731
    return {
        "upcoming": sorted(by_status[S.SCHEDULED], key=lambda p: p.scheduled_at),
        "in_progress": sorted(by_status[S.PUBLISHING], key=lambda p: p.scheduled_at or _EPOCH),
        "failed": sorted(by_status[S.FAILED], key=recent, reverse=True),
        "published": sorted(by_status[S.PUBLISHED], key=lambda p: p.published_at or recent(p), reverse=True),
        "drafts": sorted(by_status[S.DRAFT], key=recent, reverse=True),
    }


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    posts: list = field(default_factory=list)


def day_label(day: date, today: date) -> str:
    name = f"{day:%a} {day.day} {day:%b}"
    if day == today:
        return f"Today · {name}"
    if day == today + timedelta(days=1):
        return f"Tomorrow · {name}"
    return name


def week(posts, now: datetime, zone_name: str) -> list[Day]:
    """The next seven days in the user's zone (today first), each with its scheduled posts by time."""
    today = timeutil.local(now, zone_name).date()
    days = [Day(today + timedelta(days=i), day_label(today + timedelta(days=i), today)) for i in range(WEEK_DAYS)]
    index = {d.day: d for d in days}
    pending = (p for p in posts if p.status in (S.SCHEDULED, S.PUBLISHING) and p.scheduled_at is not None)
    for post in sorted(pending, key=lambda p: p.scheduled_at):
        slot = index.get(timeutil.local(post.scheduled_at, zone_name).date())
        if slot is not None:
            slot.posts.append(post)
    return days


def token_risk(connection, at: datetime, now: datetime, zone_name: str, *, demo: bool) -> str | None:
    """Why a post due at `at` would fail for want of a usable LinkedIn token, or None.

    In demo-inbox mode nothing needs LinkedIn, so nothing is at risk."""
    if demo:
        return None
    if connection is None:
        return NOT_CONNECTED
    expires = connection.expires_at
    if expires is None or expires > at:
        return None
    when = timeutil.format_local(expires, zone_name)
    if expires <= now:
        return f"Your LinkedIn token expired on {when}: this post will fail unless you reconnect LinkedIn in Settings."
    return (f"Your LinkedIn token expires on {when}, before this post's time: reconnect LinkedIn in "
            "Settings before then, or the post will fail.")


@dataclass(frozen=True)
class Warning:
    kind: str  # not_connected | expired | expiring
    message: str
    posts: list = field(default_factory=list)  # scheduled posts that would fail (the first few)
    more: int = 0  # how many more would fail than are listed


def warnings(connection, scheduled: list, now: datetime, zone_name: str, *, demo: bool) -> list[Warning]:
    """The dashboard's LinkedIn warnings: not connected, expired, or expiring within a week (with
    the scheduled posts due after the expiry, which would fail)."""
    if demo:
        return []
    if connection is None:
        return [Warning("not_connected", "LinkedIn is not connected: scheduled posts cannot be published "
                                         "until you connect it.", list(scheduled))]
    expires = connection.expires_at
    if expires is None or expires > now + EXPIRY_NOTICE:
        return []
    when = timeutil.format_local(expires, zone_name)
    at_risk = [p for p in scheduled if p.scheduled_at is not None and p.scheduled_at >= expires]
    if expires <= now:
        return [Warning("expired", f"Your LinkedIn token expired on {when}: scheduled posts will fail until "
                                   "you reconnect LinkedIn.", at_risk)]
    return [Warning("expiring", f"Your LinkedIn token expires on {when} ({timeutil.relative(expires, now)}). "
                                "Reconnect LinkedIn before then"
                                + (": these scheduled posts are due after it and would fail." if at_risk
                                   else " so that later posts can be published."), at_risk)]


def format_when(instant: datetime | None, zone_name: str) -> str:
    """Like timeutil.format_local, with the seconds when they are not :00 (posts go at the second)."""
    if instant is None:
        return ""
    at = timeutil.local(instant, zone_name)
    if at.second == 0:
        return timeutil.format_local(instant, zone_name)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M:%S} ({zone_name})"


def linkedin_url(urn: str | None) -> str | None:
    """The LinkedIn address of a published post, when n8n told us a well-formed URN."""
    if urn and _URN.fullmatch(urn):
        return f"https://www.linkedin.com/feed/update/{urn}/"
    return None
