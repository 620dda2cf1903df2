"""What the dashboard shows: its sections (in order, each with the order of its posts), the week
ahead, the warning about the LinkedIn token, and how times and links are shown. Plain functions
of (posts, connection, now, zone)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func

from .. import timeutil
from ..dispatch import readiness as linkedin
from ..dispatch.states import PENDING, PostStatus
from ..models import LinkedInConnection, Post

S = PostStatus


@dataclass(frozen=True)
class Section:
    """One of the dashboard's lists of posts."""

    key: str
    heading: str
    #: what the section says when it has no posts
    empty: str
    status: PostStatus
    #: how many posts it shows before "Show all N" (a full dashboard of 1,000 posts took 740 ms to
    #: render and weighed 2 MB; see docs/benchmarks.md)
    shown: int
    #: how its posts are ordered (SQL, in webapp/queries.py)
    order: tuple[Any, ...]


#: The dashboard's sections, in the order they appear.
SECTIONS = (
    Section("upcoming", "Upcoming", "Nothing scheduled.", S.SCHEDULED, 25, (Post.scheduled_at,)),
    Section("in_progress", "In progress", "Nothing is being sent right now.", S.PUBLISHING, 25,
            (Post.scheduled_at,)),
    Section("failed", "Failed", "No failed posts.", S.FAILED, 10, (Post.updated_at.desc(), Post.id)),
    Section("published", "Published", "Nothing published yet.", S.PUBLISHED, 10,
            (func.coalesce(Post.published_at, Post.updated_at).desc(), Post.id)),
    Section("drafts", "Drafts", "No drafts.", S.DRAFT, 10, (Post.updated_at.desc(), Post.id)),
)
SECTION = {section.key: section for section in SECTIONS}

#: How many at-risk posts the LinkedIn warning lists by name.
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
WEEK_DAYS = 7

_URN = re.compile(r"urn:li:[A-Za-z]+:[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    posts: list[Post] = field(default_factory=list)


def day_label(day: date, today: date) -> str:
    name = f"{day:%a} {day.day} {day:%b}"
    if day == today:
        return f"Today · {name}"
    if day == today + timedelta(days=1):
        return f"Tomorrow · {name}"
    return name


def week(posts: Iterable[Post], now: datetime, zone_name: str) -> list[Day]:
    """The next seven days in the user's zone (today first), each with its pending posts by time;
    today also keeps what was published today, so a post does not vanish from Today once sent."""
    today = timeutil.local(now, zone_name).date()
    days = [Day(today + timedelta(days=i), day_label(today + timedelta(days=i), today)) for i in range(WEEK_DAYS)]
    index = {d.day: d for d in days}
    shown = []
    for post in posts:
        at = post.scheduled_at if post.status in PENDING else (
            post.scheduled_at or post.published_at if post.status == S.PUBLISHED else None)
        sent_today = post.status != S.PUBLISHED or (
            post.published_at is not None and timeutil.local(post.published_at, zone_name).date() == today)
        if at is not None and sent_today:
            shown.append((at, post))
    for at, post in sorted(shown, key=lambda item: item[0]):
        slot = index.get(timeutil.local(at, zone_name).date())
        if slot is None and post.status == S.PUBLISHED:
            slot = days[0]  # published today though scheduled before: it belongs to Today
        if slot is not None:
            slot.posts.append(post)
    return days


def due_within(posts: Iterable[Post], now: datetime, within: timedelta) -> int:
    """How many of these posts are scheduled to go within `within` from now (or are overdue)."""
    return sum(1 for p in posts if p.status == S.SCHEDULED and p.scheduled_at is not None
               and p.scheduled_at <= now + within)


@dataclass(frozen=True)
class Warning:
    """The dashboard's warning about the LinkedIn connection."""

    kind: linkedin.Readiness  # not_connected | expired | expires_before (within EXPIRY_NOTICE)
    message: str
    posts: Sequence[Post] = ()  # scheduled posts that would fail (the first few)
    more: int = 0  # how many more would fail than are listed


def token_state(connection: LinkedInConnection | None, *, at: datetime, now: datetime,
                demo: bool) -> linkedin.Readiness:
    """readiness.readiness for the user's connection (as the ORM has it)."""
    return linkedin.readiness(connected=connection is not None,
                              expires_at=connection.expires_at if connection is not None else None,
                              at=at, now=now, demo=demo)


def post_risk(connection: LinkedInConnection | None, *, at: datetime, now: datetime, zone_name: str,
              demo: bool) -> str | None:
    """Why a post due at `at` would fail for want of a usable LinkedIn token, or None."""
    state = token_state(connection, at=at, now=now, demo=demo)
    expires_at = connection.expires_at if connection is not None else None
    return linkedin.post_risk(state, expires_at=expires_at, zone_name=zone_name)


def warning(connection: LinkedInConnection | None, now: datetime, zone_name: str, *, demo: bool,
            posts_from: Callable[[datetime], tuple[list[Post], int]]) -> Warning | None:
    """The warning about the connection: not connected, expired, or expiring within
    readiness.EXPIRY_NOTICE; with the scheduled posts that would fail (`posts_from(start)`: the
    first few due at or after `start`, and how many in all)."""
    state = token_state(connection, at=now + linkedin.EXPIRY_NOTICE, now=now, demo=demo)
    if state is linkedin.Readiness.OK:
        return None
    expires_at = connection.expires_at if connection is not None else None
    start = linkedin.at_risk_from(connected=connection is not None, expires_at=expires_at, now=now)
    at_risk, total = posts_from(start) if start is not None else ([], 0)
    message = linkedin.dashboard_warning(state, expires_at=expires_at, now=now, zone_name=zone_name,
                                         posts_at_risk=bool(at_risk))
    if message is None:
        return None
    return Warning(state, message, at_risk, max(0, total - len(at_risk)))


def linkedin_url(urn: str | None) -> str | None:
    """The LinkedIn address of a published post, when n8n told us a well-formed URN."""
    if urn and _URN.fullmatch(urn):
        return f"https://www.linkedin.com/feed/update/{urn}/"
    return None
