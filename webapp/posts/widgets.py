"""What each template renders: one builder per widget (status badge, post row) and per page
(dashboard, post page, compose form). Views call these and nothing else builds template context,
so a page can never be rendered without something an included partial needs. What a row offers
comes from the status table (dispatch/states.py), never from a table of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, url_for
from flask_login import current_user

from .. import queries, timeutil
from ..config import demo_inbox_enabled
from ..dispatch import actions, check
from ..dispatch.dispatcher import NOT_READY_KIND
from ..dispatch.states import ALLOWED, PENDING, Action, PostStatus, allows, due_at
from ..dispatch.store import idempotency_key
from ..models import Post
from ..runtime import core
from . import dashboard, live
from .form import PostForm

S, A = PostStatus, Action

EXCERPT = 280
#: A scheduled post this far past its time, and not waiting for a retry, gets a note on its row.
OVERDUE = timedelta(minutes=1)


def now() -> datetime:
    return core().clock()


def demo() -> bool:
    return demo_inbox_enabled(current_app.config)


def stamp(post: Post) -> str:
    """Changes whenever the dispatcher moves the post (status, version, tries)."""
    return f"{post.status}.{post.schedule_version}.{post.attempt_count}"


def viewing_detail(post_id: str) -> bool:
    """True on the post's own page (or for an htmx request made from it)."""
    here = urlsplit(request.headers.get("HX-Current-URL", "")).path or request.path
    return here == url_for("posts.detail", post_id=post_id)


def offered(status: PostStatus | str, kind: str | None = None) -> frozenset[str]:
    """The actions a post's row has a button for: what its status allows (states.ALLOWED, and
    `kind`, why it failed, for the ways out of unconfirmed) — except that a failed post's Retry
    is its "publish now", so it gets one button, not two; and an unconfirmed post's Retry is its
    "It is not there, send it again" (RESEND), which says to look at LinkedIn first."""
    allowed = {action for action in ALLOWED[PostStatus(status)] if allows(status, action, kind)}
    if A.RETRY in allowed:
        allowed.discard(A.PUBLISH_NOW)
    if A.RESEND in allowed:
        allowed.discard(A.RETRY)
    return frozenset(allowed)


# ---------------------------------------------------------------- the status badge


@dataclass(frozen=True)
class Status:
    post_id: str
    status: str
    stamp: str
    poll: live.Poll

    @property
    def final(self) -> bool:
        return live.is_final(self.status)


def status_of(post: Post, at: datetime) -> Status:
    due = due_at(scheduled_at=post.scheduled_at, next_attempt_at=post.next_attempt_at)
    return Status(post.id, post.status, stamp(post), live.poll_for(post.status, due=due, now=at))


def seen_status(seen: str | None) -> str | None:
    """The status part of a stamp the browser sent back (None if it is not one of ours)."""
    status = (seen or "").split(".", 1)[0]
    return status if status in set(S) else None


def status_sentence(post: Post) -> str:
    """What the live region announces when a post's status changed."""
    title = excerpt(post.content, 40)
    if post.status == S.FAILED:
        return f"Post “{title}” failed: {dashboard.FAILURE_LABELS.get(post.error_kind or '', 'see why')}."
    return f"Post “{title}” is now {post.status}."


def clock(instant: datetime | None, zone_name: str) -> str:
    """The wall-clock time of an instant in the zone: 09:00, or 09:00:07 when the seconds matter."""
    if instant is None:
        return ""
    at = timeutil.local(instant, zone_name)
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


def excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------- a post row


@dataclass
class Row:
    post: Post
    status: Status
    zone: str
    actions: frozenset[str]
    #: the action the row asks for: the inline schedule form, or a confirmation (None: plain)
    asking: str | None = None
    detail: bool = False
    when: str = ""
    relative: str = ""
    next_try: str = ""
    overdue: bool = False
    missed_after: str = ""
    risk: str | None = None
    failure: str | None = None
    #: it failed for want of a usable LinkedIn token: Settings is where to fix it
    fix_in_settings: bool = False
    linkedin: str | None = None
    form: PostForm | None = None
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    #: what was typed into a row's own field (the post's address, when confirming it is on LinkedIn)
    typed: str = ""

    @property
    def text(self) -> str:
        content = self.post.content
        if self.detail or len(content) <= EXCERPT:
            return content
        return content[: EXCERPT - 1].rstrip() + "…"

    @property
    def retrying(self) -> bool:
        return self.post.status == S.SCHEDULED and self.post.error_kind == "retrying"

    @property
    def title(self) -> str:
        return excerpt(self.post.content)


def row_of(post: Post, *, asking: Action | None = None, error: str | None = None, form: PostForm | None = None,
           notices: Sequence[str] = (), typed: str = "") -> Row:
    """The row widget for a post, in one of its states: plain, or asking for an action (the
    inline schedule form, a confirmation)."""
    at, zone = now(), current_user.time_zone
    status = S(post.status)
    if asking in (A.SCHEDULE, A.RESEND) and form is None:
        form = PostForm.for_post(post, zone, at)
    due = due_at(scheduled_at=post.scheduled_at, next_attempt_at=post.next_attempt_at)
    pending = status in PENDING and post.scheduled_at is not None
    scheduled = status == S.SCHEDULED and post.scheduled_at is not None
    return Row(
        post=post, status=status_of(post, at), zone=zone, actions=offered(status, post.error_kind), asking=asking,
        detail=viewing_detail(post.id),
        when=dashboard.format_when(post.published_at if status == S.PUBLISHED else post.scheduled_at, zone),
        relative=timeutil.relative(post.scheduled_at, now=at) if pending else "",
        next_try=timeutil.relative(due, now=at) if scheduled and post.next_attempt_at else "",
        overdue=scheduled and not post.next_attempt_at and due is not None and due < at - OVERDUE,
        missed_after=dashboard.format_when(
            post.scheduled_at + timedelta(seconds=current_app.config["MAX_LATENESS"]), zone)
        if pending and post.scheduled_at else "",
        risk=(dashboard.post_risk(current_user.linkedin, at=post.scheduled_at, now=at, zone_name=zone, demo=demo())
              if scheduled and post.scheduled_at else None),
        failure=dashboard.FAILURE_LABELS.get(post.error_kind or "", "Failed") if status == S.FAILED else None,
        fix_in_settings=status == S.FAILED and post.error_kind in NOT_READY_KIND.values(),
        linkedin=dashboard.linkedin_url(post.linkedin_post_urn) if status == S.PUBLISHED else None,
        form=form, error=error, notices=[n for n in notices if n], typed=typed,
    )


# ---------------------------------------------------------------- pages


def dashboard_page(expand: str | None = None) -> dict[str, Any]:
    """Everything the dashboard (page or refreshed fragment) renders: each section's first posts
    (all of them for the `expand`ed one), how many each has, the week ahead, the LinkedIn warning."""
    at, zone, user_id = now(), current_user.time_zone, current_user.id
    expand = expand if expand in dashboard.SECTION else None
    counts = queries.count_by_status(user_id)
    lists = queries.first_posts(user_id, [(s.status, s.order, None if s.key == expand else s.shown)
                                          for s in dashboard.SECTIONS])
    connection = current_user.linkedin
    pending = queries.pending_before(user_id, at + timedelta(days=dashboard.WEEK_DAYS + 1))
    return {
        "sections": dashboard.SECTIONS,
        "rows": {s.key: [row_of(p) for p in posts] for s, posts in zip(dashboard.SECTIONS, lists, strict=True)},
        "totals": {s.key: counts.get(s.status, 0) for s in dashboard.SECTIONS},
        "expand": expand,
        "week": dashboard.week(pending, at, zone),
        "pipeline_warning": check.warning(actions.last_check(core(), user_id=user_id),
                                          due_within=dashboard.due_within(pending, at, check.WARN_WITHIN)),
        "warning": dashboard.warning(connection, at, zone, demo=demo(), posts_from=lambda start: (
            queries.scheduled_from(user_id, start, limit=dashboard.AT_RISK_SHOWN))),
        "has_posts": bool(counts),
        "connected": connection is not None,
        "server_now": timeutil.iso_z(at),
    }


def detail_page(post_id: str) -> dict[str, Any]:
    """The post's own page: its row (status, time, actions), every fact, and the attempt history."""
    post = queries.load_post(current_user.id, post_id, with_attempts=True)
    return {
        "row": row_of(post),
        "post": post,
        "attempts": list(reversed(post.attempts)),
        "scheduled_utc": f"{post.scheduled_at:%Y-%m-%d %H:%M:%S} UTC" if post.scheduled_at else "",
        "idempotency_key": idempotency_key(post.id, post.schedule_version),
        "server_now": timeutil.iso_z(now()),
    }


def compose_page(form: PostForm, post: Post | None = None, *, notices: Sequence[str] = ()) -> dict[str, Any]:
    """The compose / edit form in any state: blank, an existing post, or what was typed plus errors."""
    at, zone = now(), current_user.time_zone
    try:
        chosen = timeutil.resolve_local(datetime.fromisoformat(f"{form.date}T{form.time}"), zone).instant
    except ValueError:  # not a complete date and time yet (TimeInputError is a ValueError too)
        chosen = at
    return {
        "form": form,
        "post": post,
        "action": url_for("posts.edit_post", post_id=post.id) if post else url_for("posts.compose_post"),
        "zone": zone,
        "offset": timeutil.format_offset(timeutil.local(chosen, zone)),
        "risk": dashboard.post_risk(current_user.linkedin, at=chosen, now=at, zone_name=zone, demo=demo()),
        "save_label": "Save draft" if post is None or post.status == S.DRAFT else "Save changes",
        "schedule_label": "Reschedule" if post is not None and post.status == S.SCHEDULED else "Schedule",
        "notices": [n for n in notices if n],
    }

