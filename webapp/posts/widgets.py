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
from ..planning import slots
from ..runtime import core
from . import dashboard, live, preview
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
    return timeutil.clock_text(timeutil.local(instant, zone_name))


def excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------- a post row's controls


@dataclass(frozen=True)
class Control:
    """One of a row's controls: a link (`method` "get": a page, or the row asking for the action
    through htmx) or a form (`method` "post": the action itself). Rendered by posts/_control.html."""

    #: an Action's value, or "details"
    name: str
    label: str
    url: str
    method: str = "get"
    #: the row swaps itself in place (htmx); False for a link to another page
    inline: bool = True
    danger: bool = False


#: Which allowed action becomes the row's one primary button: the first of these its status allows
#: (what moves the post on: send a failed post again, give a draft its time). Every other control
#: goes into the row's "More" menu, in MENU_ORDER.
PRIMARY_ORDER = (A.CONFIRM_PUBLISHED, A.RETRY, A.SCHEDULE)
MENU_ORDER = (A.RESEND, A.SCHEDULE, "queue", A.PUBLISH_NOW, A.EDIT, A.UNSCHEDULE, A.DUPLICATE, "details", A.DELETE)
#: Add to queue (webapp/planning/): a draft's schedule at the queue's next free slot.
QUEUE_FROM = frozenset({S.DRAFT})


def control(post: Post, name: str) -> Control:
    """The control for one action on this post (the action must be one its status allows)."""
    post_id, status = post.id, post.status

    def ask(action: str, label: str, **kw: Any) -> Control:
        return Control(name, label, url_for("posts.asking", post_id=post_id, action=action), **kw)

    if name == A.RETRY:
        if post.error_kind == "unconfirmed":  # it may be on LinkedIn already: ask first
            return ask("retry", "Retry…")
        return Control(name, "Retry", url_for("posts.retry_post", post_id=post_id), "post")
    if name == A.CONFIRM_PUBLISHED:  # an unconfirmed post its owner found on LinkedIn
        return ask("confirm-published", "It is on LinkedIn…")
    if name == A.RESEND:  # … or did not find there
        return ask("resend", "It is not there, send it again…")
    if name == A.SCHEDULE:
        return ask("schedule", "Schedule" if status == S.DRAFT else "Reschedule")
    if name == A.PUBLISH_NOW:
        return ask("publish-now", "Publish now…")
    if name == A.UNSCHEDULE:
        return Control(name, "Unschedule" if status == S.SCHEDULED else "Back to drafts",
                       url_for("posts.unschedule_post", post_id=post_id), "post")
    if name == A.EDIT:
        return Control(name, "Edit", url_for("posts.edit_get", post_id=post_id), inline=False)
    if name == A.DUPLICATE:
        return Control(name, "Duplicate", url_for("posts.duplicate_post", post_id=post_id), "post")
    if name == A.DELETE:
        return ask("delete", "Delete…", danger=True)
    if name == "details":
        return Control(name, "Details", url_for("posts.detail", post_id=post_id), inline=False)
    if name == "queue":
        return Control(name, "Add to queue", url_for("planning.queue_post", post_id=post_id), "post")
    raise ValueError(f"no control for {name!r}")


def controls(post: Post, *, detail: bool) -> tuple[Control | None, list[Control]]:
    """The row's primary control (None when its status has none) and its "More" menu: every
    action the status table allows the post (`offered`), and its page unless it is on it."""
    allowed = offered(post.status, post.error_kind)
    primary = next((a for a in PRIMARY_ORDER if a in allowed), None)
    menu = [control(post, name) for name in MENU_ORDER
            if name != primary and (name in allowed or (name == "details" and not detail)
                                    or (name == "queue" and post.status in QUEUE_FROM and A.SCHEDULE in allowed))]
    return (control(post, primary) if primary else None), menu


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
    primary: Control | None = None
    menu: list[Control] = field(default_factory=list)
    #: the post's time (scheduled, or published) without the zone: the page names it once
    when: str = ""
    #: the same, with the zone named (for sentences that stand alone)
    when_zoned: str = ""
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
    #: what the live region says if a refresh shows this row in a new status (changes.js)
    status_sentence: str = ""
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
    detail = viewing_detail(post.id)
    primary, menu = controls(post, detail=detail)
    shown_at = post.published_at if status == S.PUBLISHED else post.scheduled_at
    return Row(
        post=post, status=status_of(post, at), zone=zone, actions=offered(status, post.error_kind), asking=asking,
        detail=detail, primary=primary, menu=menu,
        when=timeutil.format_local(shown_at, zone, zone_named=False),
        when_zoned=timeutil.format_local(shown_at, zone),
        relative=timeutil.relative(post.scheduled_at, now=at) if pending else "",
        next_try=timeutil.relative(due, now=at) if scheduled and post.next_attempt_at else "",
        overdue=scheduled and not post.next_attempt_at and due is not None and due < at - OVERDUE,
        missed_after=timeutil.format_local(
            post.scheduled_at + timedelta(seconds=current_app.config["MAX_LATENESS"]), zone)
        if pending and post.scheduled_at else "",
        risk=(dashboard.post_risk(current_user.linkedin, at=post.scheduled_at, now=at, zone_name=zone, demo=demo())
              if scheduled and post.scheduled_at else None),
        failure=dashboard.FAILURE_LABELS.get(post.error_kind or "", "Failed") if status == S.FAILED else None,
        fix_in_settings=status == S.FAILED and post.error_kind in NOT_READY_KIND.values(),
        linkedin=dashboard.linkedin_url(post.linkedin_post_urn) if status == S.PUBLISHED else None,
        form=form, error=error, notices=[n for n in notices if n], status_sentence=status_sentence(post),
        typed=typed,
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
        "week": dashboard.week(pending + queries.published_since(user_id, at - timedelta(days=1)), at, zone),
        "pipeline_warning": check.warning(actions.last_check(core(), user_id=user_id),
                                          due_within=dashboard.due_within(pending, at, check.WARN_WITHIN)),
        "warning": dashboard.warning(connection, at, zone, demo=demo(), posts_from=lambda start: (
            queries.scheduled_from(user_id, start, limit=dashboard.AT_RISK_SHOWN))),
        "queue": slots.upcoming(user_id, zone, at, pending, days=dashboard.WEEK_DAYS),
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
        "preview": preview_of(form),
    }


def preview_of(form: PostForm) -> dict[str, Any]:
    """The LinkedIn preview of what the form holds, with the connected member as its author."""
    connection = current_user.linkedin
    author = preview.author_of(connection.display_name if connection else None,
                               connection.picture_url if connection else None, connected=connection is not None)
    return preview.context(form.content, form.image_url, author)

